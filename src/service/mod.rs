//! `alertgate run`: the long-running service. It loads the whole
//! `alertgate.yml` (`config`), scrapes targets into the embedded store
//! (`scrape`) or queries a remote datasource (`store`), evaluates every
//! rule group on its own aligned ticks (`eval_loop`), feeds alerts to the
//! routing dispatcher (`feed`) and delivers through the durable outbox
//! (`delivery`, over `crate::outbox`). It serves an HTTP API (`http`, `status_page`), reloads on
//! SIGHUP or `POST /-/reload` (`reload`) and stops on SIGTERM (`signals`).
//! `--once` runs one scrape, evaluation and delivery round (`run`). Alert
//! state is kept in `state_dir` in the format `check --state` writes
//! (`alert_state`).

pub mod alert_state;
pub mod config;
pub mod delivery;
pub mod eval_loop;
pub mod feed;
pub mod http;
pub mod metrics;
pub mod reload;
pub mod run;
pub mod runtime;
pub mod scrape;
pub mod signals;
pub mod status_page;
pub mod store;

pub use config::ServiceConfig;
pub use run::{run_once, serve, ServeOptions};
