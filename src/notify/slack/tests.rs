//! Tests of the slack notifier (the shared suite runs in notify/suite.rs).
