//! Per-file table, baseline comparison and `docs/conformance.md`.

use super::runner::{one_line, FileResults, Options, Outcome, StmtResult};
use std::collections::BTreeSet;
use std::fmt::Write as _;

const BASELINE: &str = "tests/conformance/baseline.txt";
const DOCS: &str = "docs/conformance.md";

#[derive(Default, Clone, Copy)]
struct Counts {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Counts {
    fn of(stmts: &[StmtResult]) -> Counts {
        let mut c = Counts::default();
        for s in stmts {
            match s.outcome {
                Outcome::Pass => c.passed += 1,
                Outcome::Fail(_) => c.failed += 1,
                Outcome::Skip(_) => c.skipped += 1,
            }
        }
        c
    }
    fn add(&mut self, o: Counts) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
    fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

fn table(results: &[FileResults]) -> (String, Counts) {
    let mut s = String::new();
    let mut total = Counts::default();
    let _ = writeln!(s, "| file | passed | failed | skipped | total |");
    let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: |");
    for f in results {
        let c = Counts::of(&f.stmts);
        total.add(c);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            f.file,
            c.passed,
            c.failed,
            c.skipped,
            c.total()
        );
    }
    let _ = writeln!(
        s,
        "| **total** | **{}** | **{}** | **{}** | **{}** |",
        total.passed,
        total.failed,
        total.skipped,
        total.total()
    );
    (s, total)
}

/// Sort key for `file:line` ids: by file, then numerically by line.
fn id_key(id: &str) -> (String, usize) {
    match id.rsplit_once(':') {
        Some((f, l)) => (f.to_string(), l.parse().unwrap_or(0)),
        None => (id.to_string(), 0),
    }
}

fn read_baseline(opts: &Options) -> BTreeSet<String> {
    std::fs::read_to_string(opts.root.join(BASELINE))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Prints the report; returns false when the run must fail (a regression).
pub fn report(opts: &Options, results: &[FileResults]) -> bool {
    let (tbl, total) = table(results);
    println!("\nPromQL conformance ({})\n", opts.dir.display());
    print!("{tbl}");
    let all: Vec<&StmtResult> = results.iter().flat_map(|f| f.stmts.iter()).collect();
    // Skip reasons by kind; the full list is in docs/conformance.md and verbose output.
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &all {
        if let Outcome::Skip(r) = &s.outcome {
            *kinds.entry(r.split(':').next().unwrap_or(r)).or_default() += 1;
        }
    }
    for (k, n) in &kinds {
        println!("skipped ({k}): {n}");
    }
    if opts.verbose {
        for s in &all {
            match &s.outcome {
                Outcome::Fail(reason) => {
                    println!(
                        "\nFAIL {} {}\n  reason: {reason}\n  {}",
                        s.id(),
                        s.expr,
                        s.detail
                    );
                }
                Outcome::Skip(reason) => println!("SKIP {} {}: {reason}", s.id(), s.expr),
                Outcome::Pass => {}
            }
            for a in &s.advisories {
                println!("ADVISORY {} {}: {a}", s.id(), s.expr);
            }
        }
    }

    if opts.extra {
        use std::sync::atomic::Ordering;
        println!(
            "\nextra checks (README 1.11): {} @-pinned re-runs, {} range-mode cross-checks",
            super::extra::PINNED_RUNS.load(Ordering::Relaxed),
            super::extra::RANGE_CHECKS.load(Ordering::Relaxed)
        );
    }
    let baseline = read_baseline(opts);
    let files: BTreeSet<&str> = results.iter().map(|f| f.file.as_str()).collect();
    let in_scope = |id: &str| id.rsplit_once(':').is_some_and(|(f, _)| files.contains(f));
    let passing: BTreeSet<String> = all
        .iter()
        .filter(|s| s.outcome == Outcome::Pass)
        .map(|s| s.id())
        .collect();
    let mut regressions: Vec<String> = Vec::new();
    for id in baseline.iter().filter(|id| in_scope(id)) {
        if !passing.contains(id) {
            let why = all
                .iter()
                .find(|s| &s.id() == id)
                .map(|s| match &s.outcome {
                    Outcome::Fail(r) | Outcome::Skip(r) => format!("{}: {}", s.expr, r),
                    Outcome::Pass => String::new(),
                })
                .unwrap_or_else(|| "no eval statement at this line".into());
            regressions.push(format!("{id} {why}"));
        }
    }
    let mut new_passes: Vec<&String> = passing
        .iter()
        .filter(|id| !baseline.contains(*id))
        .collect();
    new_passes.sort_by_key(|id| id_key(id));
    if !new_passes.is_empty() {
        println!("\n{} statement(s) pass that are not in the baseline (raise it with UPDATE_BASELINE=1):", new_passes.len());
        for id in &new_passes {
            println!("  NEW PASS {id}");
        }
    }
    if !regressions.is_empty() {
        println!(
            "\n{} REGRESSION(S): statements of the baseline that no longer pass:",
            regressions.len()
        );
        for r in &regressions {
            println!("  REGRESSION {}", shorten_line(r));
        }
    }

    let mut ok = regressions.is_empty();
    if opts.update {
        // Keep the entries of files this run did not cover.
        let mut ids: Vec<String> = baseline
            .iter()
            .filter(|id| !in_scope(id))
            .cloned()
            .collect();
        ids.extend(passing.iter().cloned());
        ids.sort_by_key(|id| id_key(id));
        ids.dedup();
        let body = format!(
            "# Statements of shared/conformance/promql/*.test that pass (file:line of the eval).\n\
             # Regenerate with: UPDATE_BASELINE=1 cargo test --test conformance\n{}\n",
            ids.join("\n")
        );
        match std::fs::write(opts.root.join(BASELINE), body) {
            Ok(()) => println!("\nwrote {BASELINE} ({} statements)", ids.len()),
            Err(e) => {
                println!("\ncannot write {BASELINE}: {e}");
                ok = false;
            }
        }
        if opts.file.is_none() {
            match std::fs::create_dir_all(opts.root.join("docs"))
                .and_then(|()| std::fs::write(opts.root.join(DOCS), docs(results, &tbl)))
            {
                Ok(()) => println!("wrote {DOCS}"),
                Err(e) => {
                    println!("cannot write {DOCS}: {e}");
                    ok = false;
                }
            }
        } else {
            println!("{DOCS} not rewritten (only for a run over all files)");
        }
        if !regressions.is_empty() {
            println!(
                "baseline lowered: {} statement(s) removed",
                regressions.len()
            );
            ok = true;
        }
    }
    println!(
        "{} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    ok
}

/// Shortens a reason to one line of at most 200 characters.
pub fn shorten_line(s: &str) -> String {
    let s = one_line(s);
    if s.chars().count() <= 200 {
        return s;
    }
    let cut: String = s.chars().take(200).collect();
    format!("{cut}...")
}

fn md_code(s: &str) -> String {
    // Inline code cannot hold a backtick run of the same length; double them.
    if s.contains('`') {
        format!("`` {} ``", s)
    } else {
        format!("`{s}`")
    }
}

fn docs(results: &[FileResults], tbl: &str) -> String {
    let date = chrono::DateTime::from_timestamp_millis(alertgate::clock::now_ms())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let mut s = String::new();
    let _ = writeln!(s, "# PromQL conformance\n");
    let _ = writeln!(
        s,
        "Results of the PromQL test scripts of Prometheus 3.5.3 (`shared/conformance/promql/*.test`, \
         described in `shared/conformance/README.md` section 1) against the embedded engine, as of \
         **{date}**.\n\n\
         This file and `tests/conformance/baseline.txt` are generated: run \
         `UPDATE_BASELINE=1 cargo test --test conformance` to rewrite both. A plain \
         `cargo test --test conformance` fails when a statement of the baseline no longer passes and \
         lists statements that newly pass. `CONFORMANCE_FILE=functions.test` limits a run to one \
         script, `CONFORMANCE_VERBOSE=1` prints expected vs got for every failure, and \
         `CONFORMANCE_EXTRA=1` adds the `@`-pinned re-runs and range-mode cross-check of README 1.11.\n\n\
         Rules: each `eval` is one statement; results are compared like upstream (relative float \
         tolerance 1e-6, NaN equals NaN, a stale marker only equals a stale marker, order only for \
         `eval_ordered`, matrices must be sorted by label set). Annotation expectations are checked by \
         kind only (`eval_warn`/`eval_info`, `expect warn`/`info` require at least one annotation of \
         that kind, `expect no_warn`/`no_info` forbid them); the texts of `expect ... msg:` lines are \
         advisory because they depend on Prometheus's exact wording and positions. Error texts of \
         `expected_fail_message` are compared exactly. Statements are skipped only when they need \
         native histograms (they expect a histogram value or select a series that holds histogram \
         samples) or when promql-parser cannot parse the expression. Duration expressions \
         (`[26m+4m]`, `offset (2 * 2)`), which promql-parser lacks, are folded into plain durations \
         before parsing (`alertgate::promql::duration_expr`), as the scripts' engine settings enable \
         Prometheus's `promql-duration-expr` feature.\n"
    );
    let _ = writeln!(s, "## Per file\n\n{tbl}");
    let _ = writeln!(s, "## Failing statements\n");
    for f in results {
        let fails: Vec<&StmtResult> = f
            .stmts
            .iter()
            .filter(|x| matches!(x.outcome, Outcome::Fail(_)))
            .collect();
        if fails.is_empty() {
            continue;
        }
        let _ = writeln!(s, "### {} ({} failing)\n", f.file, fails.len());
        for x in fails {
            if let Outcome::Fail(r) = &x.outcome {
                let _ = writeln!(
                    s,
                    "- {}:{} {} — {}",
                    x.file,
                    x.line,
                    md_code(&x.expr),
                    shorten_line(r)
                );
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Skipped statements\n");
    for f in results {
        let skips: Vec<&StmtResult> = f
            .stmts
            .iter()
            .filter(|x| matches!(x.outcome, Outcome::Skip(_)))
            .collect();
        if skips.is_empty() {
            continue;
        }
        let _ = writeln!(s, "### {} ({} skipped)\n", f.file, skips.len());
        for x in skips {
            if let Outcome::Skip(r) = &x.outcome {
                let _ = writeln!(
                    s,
                    "- {}:{} {} — {}",
                    x.file,
                    x.line,
                    md_code(&x.expr),
                    shorten_line(r)
                );
            }
        }
        let _ = writeln!(s);
    }
    s
}
