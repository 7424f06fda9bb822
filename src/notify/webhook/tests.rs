//! Tests of the webhook notifier (the shared suite runs in notify/suite.rs).
