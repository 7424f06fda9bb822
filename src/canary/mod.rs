//! Canary rollout gate (runbooks 000, 001, 004): measure KPIs, decide GO /
//! HOLD / BACKOUT with every reason, apply the decision to a tenant's
//! rollout state idempotently, and flip the kill switch.
//!
//! `config` and `threshold` describe the gate; `decide` and `state` are pure
//! (inputs in, decision or new state out); `kpi` and `store` do the I/O.

pub mod config;
pub mod error;
pub mod threshold;

pub use config::{CanaryConfig, KpiSpec, Source};
pub use error::CanaryError;
pub use threshold::{Op, Threshold};
