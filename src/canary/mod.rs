//! Canary rollout gate (runbooks 000, 001, 004): measure KPIs, decide GO /
//! HOLD / BACKOUT with every reason, apply the decision to a tenant's
//! rollout state idempotently, and flip the kill switch.
//!
//! `config` and `threshold` describe the gate; `decide` and `state` are pure
//! (inputs in, decision or new state out); `kpi` and `store` do the I/O;
//! `report` renders what is written for people.

pub mod config;
pub mod decide;
pub mod error;
pub mod kpi;
pub mod report;
pub mod state;
pub mod store;
pub mod threshold;
pub mod verdict;

pub use config::{CanaryConfig, KpiSpec, Source};
pub use decide::{decide, DecideInput, Decision, Measured, Measurements};
pub use error::CanaryError;
pub use state::{OperateState, Transition};
pub use threshold::{Op, Threshold};
pub use verdict::Verdict;
