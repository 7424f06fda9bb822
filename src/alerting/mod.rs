//! Alert lifecycle: inactive -> pending -> firing -> resolved, as a pure
//! state transition, plus the persisted state store.

pub mod serde_util;
pub mod state;
pub mod store;

pub use state::{
    step, Alert, AlertSpec, AlertState, Candidate, LimitExceeded, RuleState, Transition,
};
pub use store::{GroupRecord, RuleRecord, StateFile, StateStore, StoreError};
