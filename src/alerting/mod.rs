//! Alert lifecycle: inactive -> pending -> firing -> resolved, as a pure
//! state transition, plus the persisted state store.
