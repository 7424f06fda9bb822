//! Executes a `load` command against a [`MemStore`]: float samples are
//! stored, native-histogram samples are reported (the store holds floats
//! only), and `load_with_nhcb` reports the histogram series it would create.

use super::{LoadCmd, NotationError, SequenceValue};
use crate::model::{Labels, MemStore, METRIC_NAME};

/// What a load did besides storing floats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOutcome {
    /// Series that hold native-histogram samples (given as `{{...}}`, or
    /// built by `load_with_nhcb`); their histogram samples were not stored.
    pub histogram_series: Vec<Labels>,
}

/// Loads the series of `cmd` into `store`: the n-th value of a series lands
/// at `n * interval`. Loads are additive; within one block a repeated label
/// set replaces the earlier line; samples older than what a series already
/// holds are rejected, like Prometheus's storage.
pub fn load_into(store: &mut MemStore, cmd: &LoadCmd) -> Result<LoadOutcome, NotationError> {
    let mut out = LoadOutcome::default();
    // Later duplicates replace earlier ones, keeping the first position.
    let mut order: Vec<usize> = Vec::new();
    for (i, (_, d)) in cmd.series.iter().enumerate() {
        match order
            .iter()
            .position(|&j| cmd.series[j].1.labels == d.labels)
        {
            Some(p) => order[p] = i,
            None => order.push(i),
        }
    }
    for &i in &order {
        let (line, desc) = &cmd.series[i];
        let mut has_hist = false;
        for (n, v) in desc.values.iter().enumerate() {
            let t = n as i64 * cmd.interval_ms;
            match v {
                SequenceValue::Omitted => {}
                SequenceValue::Histogram(_) => has_hist = true,
                SequenceValue::Float(f) => {
                    store
                        .append(&desc.labels, t, *f)
                        .map_err(|e| NotationError::Load {
                            line: *line,
                            msg: e.to_string(),
                        })?
                }
            }
        }
        if has_hist {
            out.histogram_series.push(desc.labels.clone());
        }
    }
    if cmd.with_nhcb {
        for &i in &order {
            let labels = &cmd.series[i].1.labels;
            let Some(base) = labels.metric_name().and_then(|n| n.strip_suffix("_bucket")) else {
                continue;
            };
            let mut nh = labels.clone();
            nh.remove("le");
            nh.set(METRIC_NAME, base);
            if !out.histogram_series.contains(&nh) {
                out.histogram_series.push(nh);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Sample, STALE_NAN};
    use crate::promqltest::{parse_script, Command};

    fn load(store: &mut MemStore, text: &str) -> Result<LoadOutcome, NotationError> {
        let s = parse_script(text).unwrap();
        let mut out = LoadOutcome::default();
        for c in &s.commands {
            if let Command::Load(l) = c {
                out = load_into(store, l)?;
            }
        }
        Ok(out)
    }

    fn samples(store: &MemStore, name: &str) -> Vec<Sample> {
        store
            .series()
            .iter()
            .find(|s| s.labels.metric_name() == Some(name))
            .unwrap()
            .samples
            .clone()
    }

    #[test]
    fn values_land_on_interval_multiples() {
        let mut st = MemStore::new();
        load(&mut st, "load 5m\n  a 0+10x2 _ stale\n").unwrap();
        let s = samples(&st, "a");
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[..3],
            [
                Sample { t: 0, v: 0.0 },
                Sample {
                    t: 300_000,
                    v: 10.0
                },
                Sample {
                    t: 600_000,
                    v: 20.0
                }
            ]
        );
        assert_eq!(s[3].t, 1_200_000);
        assert_eq!(s[3].v.to_bits(), STALE_NAN.to_bits());
    }

    #[test]
    fn duplicate_line_replaces_and_loads_are_additive() {
        let mut st = MemStore::new();
        load(&mut st, "load 1m\n  a 1 2\n  a 5\n").unwrap();
        assert_eq!(samples(&st, "a"), vec![Sample { t: 0, v: 5.0 }]);
        load(&mut st, "load 1m\n  a _ _ 7\n").unwrap();
        assert_eq!(
            samples(&st, "a"),
            vec![Sample { t: 0, v: 5.0 }, Sample { t: 120_000, v: 7.0 }]
        );
        // Older than what the series holds: rejected.
        let err = load(&mut st, "load 1m\n  a 1\n").unwrap_err();
        assert!(matches!(err, NotationError::Load { line: 2, .. }), "{err}");
    }

    #[test]
    fn histograms_are_reported_not_stored() {
        let mut st = MemStore::new();
        let out = load(&mut st, "load 1m\n  h 1 {{sum:1}} 3\n  f 1\n").unwrap();
        assert_eq!(
            out.histogram_series,
            vec![Labels::from_pairs([("__name__", "h")])]
        );
        assert_eq!(
            samples(&st, "h"),
            vec![Sample { t: 0, v: 1.0 }, Sample { t: 120_000, v: 3.0 }]
        );
    }

    #[test]
    fn nhcb_reports_base_series() {
        let mut st = MemStore::new();
        let out = load(
            &mut st,
            "load_with_nhcb 1m\n  x_bucket{le=\"1\", a=\"b\"} 1\n  x_bucket{le=\"+Inf\", a=\"b\"} 2\n  x_count{a=\"b\"} 2\n",
        )
        .unwrap();
        assert_eq!(
            out.histogram_series,
            vec![Labels::from_pairs([("__name__", "x"), ("a", "b")])]
        );
        assert_eq!(st.len(), 3);
    }
}
