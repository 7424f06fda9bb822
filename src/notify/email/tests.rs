//! Tests of the email notifier (the shared suite runs in notify/suite.rs).
