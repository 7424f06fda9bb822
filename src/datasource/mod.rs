//! Where query results come from: the `Querier` seam, with the embedded
//! engine over snapshots and (later) a Prometheus HTTP client behind it.

pub mod embedded;
pub mod querier;

pub use embedded::EmbeddedQuerier;
pub use querier::{Appender, Querier, QueryError};
pub mod build;
pub mod config;
pub mod http;

pub use build::{build, Datasource, DatasourceSpec};
pub use config::DatasourceConfig;
pub use http::{HttpError, HttpQuerier};
