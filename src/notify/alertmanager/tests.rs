//! Tests of the alertmanager notifier (the shared suite runs in notify/suite.rs).
