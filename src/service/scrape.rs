//! The embedded scraper: pulls `/metrics` from the targets of
//! `scrape_configs` into the store the rules read, the way Prometheus does
//! (target labels `job` and `instance`, `honor_labels`, staleness markers
//! for series that disappear, and the `up`, `scrape_duration_seconds` and
//! `scrape_samples_scraped` series). The text is parsed by the snapshot
//! module's exposition parser. Old samples are dropped beyond what the
//! rules need.

use super::config::{RawTargetGroup, ScrapeAuth, ScrapeConfig};
use super::metrics::names;
use super::runtime::Runtime;
use crate::model::{Labels, METRIC_NAME, STALE_NAN};
use crate::snapshot::exposition::{parse, Format};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One target: its address and the labels of its group.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub address: String,
    pub labels: BTreeMap<String, String>,
}

/// Static targets plus those the `file_sd_configs` files list now. A file
/// that cannot be read or parsed is skipped with a warning.
pub fn resolve_targets(sc: &ScrapeConfig) -> Vec<Target> {
    let mut out = Vec::new();
    for (targets, labels) in &sc.static_configs {
        out.extend(targets.iter().map(|t| Target {
            address: t.clone(),
            labels: labels.clone(),
        }));
    }
    for sd in &sc.file_sd {
        for pattern in &sd.files {
            let paths: Vec<std::path::PathBuf> = match glob::glob(pattern) {
                Ok(p) => p.filter_map(Result::ok).collect(),
                Err(_) => vec![pattern.into()],
            };
            for p in paths {
                let parsed = std::fs::read_to_string(&p)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        yaml_serde::from_str::<Vec<RawTargetGroup>>(&t).map_err(|e| e.to_string())
                    });
                match parsed {
                    Ok(groups) => {
                        for g in groups {
                            let labels = g.labels.unwrap_or_default();
                            out.extend(g.targets.into_iter().flatten().map(|t| Target {
                                address: t,
                                labels: labels.clone(),
                            }));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(file = %p.display(), error = %e, "Cannot read file_sd file.")
                    }
                }
            }
        }
    }
    out
}

/// The labels every series of a target gets.
pub fn target_labels(sc: &ScrapeConfig, t: &Target) -> Labels {
    let mut l = Labels::from_pairs(t.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    if !l.contains("instance") {
        l.set("instance", t.address.clone());
    }
    l.set("job", sc.job_name.clone());
    l
}

/// Merges target labels into a scraped series: with `honor_labels` the
/// scraped value wins, else a clashing scraped label is kept as
/// `exported_<name>` (Prometheus's `mutateSampleLabels`).
pub fn merge_labels(scraped: &Labels, target: &Labels, honor: bool) -> Labels {
    let mut l = scraped.clone();
    for t in target.iter() {
        match scraped.get(&t.name) {
            Some(v) if honor => {
                let _ = v;
            }
            Some(v) => {
                l.set(format!("exported_{}", t.name), v.to_string());
                l.set(t.name.clone(), t.value.clone());
            }
            None => l.set(t.name.clone(), t.value.clone()),
        }
    }
    l
}

async fn fetch(
    client: &reqwest::Client,
    sc: &ScrapeConfig,
    t: &Target,
) -> Result<(String, Format), String> {
    let url = format!("{}://{}{}", sc.scheme, t.address, sc.metrics_path);
    let mut req = client
        .get(&url)
        .timeout(Duration::from_millis(sc.timeout_ms as u64))
        .header("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", sc.timeout_ms as f64 / 1000.0),
        );
    match &sc.auth {
        Some(ScrapeAuth::Basic { username, password }) => {
            let pw = match password {
                Some(p) => Some(p.resolve().map_err(|e| format!("{e:#}"))?),
                None => None,
            };
            req = req.basic_auth(username, pw);
        }
        Some(ScrapeAuth::Bearer(s)) => {
            req = req.bearer_auth(s.resolve().map_err(|e| format!("{e:#}"))?)
        }
        None => {}
    }
    let resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            "scrape timed out".into()
        } else {
            format!("connection failed: {}", t.address)
        }
    })?;
    if !resp.status().is_success() {
        return Err(format!("server returned HTTP status {}", resp.status()));
    }
    let om = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("openmetrics"));
    let body = resp
        .text()
        .await
        .map_err(|e| format!("reading body: {e}"))?;
    Ok((
        body,
        if om {
            Format::OpenMetrics
        } else {
            Format::Text
        },
    ))
}

/// Scrapes one target at `t` and writes the result; returns the series it
/// wrote, so the next scrape can mark vanished ones stale.
pub async fn scrape_target(
    rt: &Runtime,
    client: &reqwest::Client,
    sc: &ScrapeConfig,
    target: &Target,
    t: i64,
    prev: &HashSet<Labels>,
) -> HashSet<Labels> {
    let tl = target_labels(sc, target);
    let start = std::time::Instant::now();
    let res = fetch(client, sc, target).await.and_then(|(body, fmt)| {
        parse(&body, fmt).map_err(|e| format!("line {}: {}", e.line, e.msg))
    });
    let dur = start.elapsed().as_secs_f64();
    let key = format!("{}/{}", sc.job_name, tl.get_or_empty("instance"));
    rt.metrics
        .inc(names::SCRAPES, &[("job", &sc.job_name)], 1.0);
    let mut written = HashSet::new();
    let up = {
        let mut store = rt.store.write().unwrap_or_else(|e| e.into_inner());
        let up = match &res {
            Ok(samples) => {
                for s in samples {
                    let l = merge_labels(&s.labels, &tl, sc.honor_labels);
                    store.insert(&l, s.t.unwrap_or(t), s.v);
                    written.insert(l);
                }
                1.0
            }
            Err(_) => 0.0,
        };
        for gone in prev.difference(&written) {
            store.insert(gone, t, STALE_NAN);
        }
        let n = res.as_ref().map(|s| s.len()).unwrap_or(0) as f64;
        for (name, v) in [
            ("up", up),
            ("scrape_duration_seconds", dur),
            ("scrape_samples_scraped", n),
        ] {
            let mut l = tl.clone();
            l.set(METRIC_NAME, name);
            store.insert(&l, t, v);
        }
        up
    };
    let mut targets = rt.targets.lock().unwrap_or_else(|e| e.into_inner());
    let h = targets.entry(key).or_default();
    h.last_scrape = Some(t);
    h.up = up == 1.0;
    h.last_error = res.as_ref().err().cloned();
    if let Err(e) = &res {
        rt.metrics
            .inc(names::SCRAPE_FAILURES, &[("job", &sc.job_name)], 1.0);
        tracing::debug!(job = %sc.job_name, target = %target.address, error = %e, "Scrape failed.");
    }
    written
}

/// One round over all targets of a job, concurrently.
pub async fn scrape_job_once(
    rt: &Arc<Runtime>,
    client: &reqwest::Client,
    sc: &ScrapeConfig,
    t: i64,
    prev: &mut HashMap<String, HashSet<Labels>>,
) {
    let targets = resolve_targets(sc);
    let mut set = tokio::task::JoinSet::new();
    for target in targets {
        let (rt, client, sc) = (rt.clone(), client.clone(), sc.clone());
        let p = prev.remove(&target.address).unwrap_or_default();
        set.spawn(async move {
            let w = scrape_target(&rt, &client, &sc, &target, t, &p).await;
            (target.address, w)
        });
    }
    while let Some(r) = set.join_next().await {
        if let Ok((addr, w)) = r {
            prev.insert(addr, w);
        }
    }
}

/// Scrapes a job on aligned ticks until aborted, trimming old samples.
pub async fn run_job(rt: Arc<Runtime>, sc: ScrapeConfig, retention_ms: i64) {
    let client = reqwest::Client::new();
    let mut prev = HashMap::new();
    loop {
        let now = (rt.now)();
        let next = super::eval_loop::next_tick(now, sc.interval_ms);
        tokio::time::sleep(Duration::from_millis((next - now) as u64)).await;
        scrape_job_once(&rt, &client, &sc, next, &mut prev).await;
        let mut store = rt.store.write().unwrap_or_else(|e| e.into_inner());
        store.drop_before(next - retention_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashing_labels_are_exported_unless_honored() {
        let scraped = Labels::from_pairs([("__name__", "x"), ("job", "inner"), ("a", "1")]);
        let target = Labels::from_pairs([("instance", "h:1"), ("job", "outer")]);
        let m = merge_labels(&scraped, &target, false);
        assert_eq!(m.get("job"), Some("outer"));
        assert_eq!(m.get("exported_job"), Some("inner"));
        assert_eq!(m.get("instance"), Some("h:1"));
        let h = merge_labels(&scraped, &target, true);
        assert_eq!(h.get("job"), Some("inner"));
        assert!(!h.contains("exported_job"));
    }

    #[test]
    fn file_sd_targets_are_read_with_their_labels() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("t.json"),
            r#"[{"targets":["127.0.0.1:9"],"labels":{"env":"dev"}}]"#,
        )
        .unwrap();
        let sc = ScrapeConfig {
            job_name: "j".into(),
            interval_ms: 1000,
            timeout_ms: 1000,
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            honor_labels: false,
            static_configs: vec![(vec!["127.0.0.1:8".into()], BTreeMap::new())],
            file_sd: vec![super::super::config::FileSd {
                files: vec![d.path().join("*.json").to_string_lossy().into_owned()],
                refresh_ms: 1000,
            }],
            auth: None,
        };
        let t = resolve_targets(&sc);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].labels.get("env").map(String::as_str), Some("dev"));
        let l = target_labels(&sc, &t[1]);
        assert_eq!(l.get("instance"), Some("127.0.0.1:9"));
        assert_eq!(l.get("job"), Some("j"));
    }
}
