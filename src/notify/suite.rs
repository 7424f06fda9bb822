//! The shared notifier test suite.
