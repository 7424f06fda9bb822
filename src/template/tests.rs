//! End-to-end template tests.
