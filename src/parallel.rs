//! Two-way fork/join for the few hot loops that split their input in
//! halves (snapshot parsing, rate windows, sorting, independent rules): a
//! check runs on a 2-core machine, so halves are all there is to take.

use std::sync::OnceLock;

/// Cores this process may use (1 when unknown), looked up once: the lookup
/// reads cgroup files.
pub(crate) fn cores() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs `a` and `b`, on two threads when there is more than one core.
/// The threads are rayon's pool, kept for the whole run: a thread spawned
/// per call got a fresh allocator heap each time, and the heaps left behind
/// cost 20-40 MB of peak memory in `alertgate check`.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if cores() < 2 {
        return (a(), b());
    }
    rayon::join(a, b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn join_returns_both_results_in_order() {
        let data: Vec<u32> = (0..1000).collect();
        let (lo, hi) = data.split_at(500);
        let (a, b) = super::join(|| lo.iter().sum::<u32>(), || hi.iter().sum::<u32>());
        assert_eq!((a, b), ((0..500).sum(), (500..1000).sum()));
    }
}
