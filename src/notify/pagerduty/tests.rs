//! Tests of the pagerduty notifier (the shared suite runs in notify/suite.rs).
