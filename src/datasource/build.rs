//! Building the configured datasource: the embedded engine over loaded
//! snapshots, or a Prometheus-compatible HTTP API. A closed set, so an enum
//! rather than a trait object; both sides answer through [`Querier`].

use super::config::DatasourceConfig;
use super::embedded::EmbeddedQuerier;
use super::http::{HttpError, HttpQuerier};
use super::querier::{Appender, Querier, QueryError};
use crate::model::{Labels, MemStore};
use crate::promql::{Engine, QueryOutput};
use promql_parser::parser::Expr;

/// What to build.
#[derive(Debug)]
// Built once per process and moved, never stored in bulk: size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum DatasourceSpec {
    /// The embedded engine over an already loaded store.
    Embedded { store: MemStore, engine: Engine },
    /// A remote server.
    Remote(DatasourceConfig),
}

/// A built datasource.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Datasource {
    Embedded(EmbeddedQuerier),
    Http(HttpQuerier),
}

/// Builds the datasource (reads secrets and TLS files for a remote one).
pub fn build(spec: DatasourceSpec) -> Result<Datasource, HttpError> {
    Ok(match spec {
        DatasourceSpec::Embedded { store, engine } => {
            Datasource::Embedded(EmbeddedQuerier::new(store, engine))
        }
        DatasourceSpec::Remote(cfg) => Datasource::Http(HttpQuerier::new(&cfg)?),
    })
}

impl Datasource {
    /// The HTTP client, when remote.
    pub fn as_http(&self) -> Option<&HttpQuerier> {
        match self {
            Datasource::Http(h) => Some(h),
            Datasource::Embedded(_) => None,
        }
    }
}

impl Querier for Datasource {
    fn instant(&self, expr: &Expr, expr_text: &str, t_ms: i64) -> Result<QueryOutput, QueryError> {
        match self {
            Datasource::Embedded(e) => e.instant(expr, expr_text, t_ms),
            Datasource::Http(h) => h.instant(expr, expr_text, t_ms),
        }
    }
}

impl Appender for Datasource {
    fn append(&self, labels: &Labels, t_ms: i64, v: f64) -> Result<(), QueryError> {
        match self {
            Datasource::Embedded(e) => e.append(labels, t_ms, v),
            Datasource::Http(h) => h.append(labels, t_ms, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_answers_from_the_store() {
        let mut store = MemStore::new();
        store.insert(&Labels::from_pairs([("__name__", "up")]), 1_000, 1.0);
        let ds = build(DatasourceSpec::Embedded {
            store,
            engine: Engine::default(),
        })
        .unwrap();
        assert!(ds.as_http().is_none());
        let expr = crate::promql::parse("up").unwrap();
        let out = ds.instant(&expr, "up", 1_000).unwrap();
        assert_eq!(
            out.value,
            crate::promql::QueryValue::Vector(vec![(
                Labels::from_pairs([("__name__", "up")]),
                1.0
            )])
        );
    }

    #[test]
    fn remote_with_missing_secret_fails_to_build_without_leaking() {
        let src = "datasource:\n  url: http://127.0.0.1:9/prom\n  bearer_token_env: ALERTGATE_TEST_NO_SUCH_TOKEN\n";
        let cfg = super::super::config::parse_str(src, "a.yml")
            .unwrap()
            .unwrap();
        let e = build(DatasourceSpec::Remote(cfg)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "http://127.0.0.1:9/prom: environment variable ALERTGATE_TEST_NO_SUCH_TOKEN is not set"
        );
        assert!(e.is_unreachable());
    }
}
