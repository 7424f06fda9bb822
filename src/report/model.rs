//! The neutral report model: a run holds suites (a rule file, a test file),
//! a suite holds cases (a rule, a test group), a case has one outcome.

/// One command run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `alertgate check`, `alertgate test`: the title of summaries.
    pub title: String,
    /// When the run happened (ms since the epoch); JUnit's `timestamp`.
    pub timestamp_ms: i64,
    pub suites: Vec<Suite>,
    /// Run-level lines that belong to no case (warnings, totals).
    pub notes: Vec<String>,
}

/// A group of cases, usually one input file.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub name: String,
    /// The file the suite comes from, for annotations.
    pub file: Option<String>,
    pub cases: Vec<Case>,
    /// Lines for the suite's log (JUnit `system-out`), e.g. warnings.
    pub log: Vec<String>,
}

/// One rule or test.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    /// JUnit's `classname`: the group or file the case belongs to.
    pub classname: String,
    /// Seconds spent; 0 when not measured.
    pub time_s: f64,
    pub outcome: Outcome,
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    /// Passed, with something worth a look (a pending alert when only
    /// firing ones fail the run).
    Warning(Failure),
    /// The check itself failed (an alert fires, a test expectation differs).
    Failed(Failure),
    /// The case could not be run (a rule failed to evaluate, bad input).
    Error(Failure),
    Skipped(String),
}

/// What went wrong: a one-line message and an optional longer text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Failure {
    /// A short machine-friendly kind (`firing`, `pending`, `eval-error`).
    pub kind: String,
    /// One line.
    pub message: String,
    /// Any number of lines; may be empty.
    pub detail: String,
}

impl Failure {
    pub fn new(kind: &str, message: impl Into<String>, detail: impl Into<String>) -> Self {
        Failure {
            kind: kind.to_string(),
            message: message.into(),
            detail: detail.into(),
        }
    }
}

impl Case {
    pub fn new(name: impl Into<String>, classname: impl Into<String>, outcome: Outcome) -> Self {
        Case {
            name: name.into(),
            classname: classname.into(),
            time_s: 0.0,
            outcome,
            file: None,
            line: None,
        }
    }

    pub fn at(mut self, file: Option<String>, line: Option<usize>) -> Self {
        self.file = file;
        self.line = line;
        self
    }

    pub fn failure(&self) -> Option<&Failure> {
        match &self.outcome {
            Outcome::Warning(f) | Outcome::Failed(f) | Outcome::Error(f) => Some(f),
            Outcome::Passed | Outcome::Skipped(_) => None,
        }
    }
}

/// Counts of a suite or a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub tests: usize,
    pub passed: usize,
    pub warnings: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            c.tests += 1;
            match case.outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Warning(_) => c.warnings += 1,
                Outcome::Failed(_) => c.failures += 1,
                Outcome::Error(_) => c.errors += 1,
                Outcome::Skipped(_) => c.skipped += 1,
            }
        }
        c
    }
}

impl Suite {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.cases)
    }

    pub fn time_s(&self) -> f64 {
        self.cases.iter().map(|c| c.time_s).sum()
    }
}

impl Report {
    pub fn counts(&self) -> Counts {
        Counts::of(self.suites.iter().flat_map(|s| &s.cases))
    }
}
