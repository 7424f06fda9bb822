//! `check --scrape URL`: the one-shot scrapes that stand in for snapshots.
//!
//! Each URL's k-th occurrence belongs to round k; rounds are `--interval`
//! apart and every URL of a round is fetched at once. So `--scrape U
//! --scrape U --interval 30s` gives two samples of every series 30 s apart
//! (enough for `rate()` and `increase()`), and `--scrape A --scrape B` one
//! sample of each endpoint. Samples without their own timestamp are taken
//! at their round's start; the last round's start is the evaluation time.

use crate::datasource::config::SecretSource;
use crate::model::{Labels, Timestamp};
use crate::snapshot::scrape::{self, ScrapeOptions};
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Default, Args)]
pub struct ScrapeArgs {
    /// Scrape this metrics endpoint once instead of reading snapshots (text
    /// exposition, OpenMetrics or JSON, by Content-Type); repeatable. A URL
    /// given twice is scraped twice, `--interval` apart. Down: exit 2.
    #[arg(long = "scrape", value_name = "URL", num_args = 1.., conflicts_with_all = ["at", "prometheus"])]
    pub urls: Vec<String>,
    /// Time between two scrapes of the same URL (e.g. `30s`).
    #[arg(long, value_name = "DURATION", requires = "urls")]
    pub interval: Option<String>,
    /// Request header for the scrapes, `Name: value`; repeatable.
    #[arg(long = "scrape-header", value_name = "NAME: VALUE", requires = "urls")]
    pub headers: Vec<String>,
    /// Environment variable holding a bearer token for the scrapes.
    #[arg(
        long = "scrape-bearer-token-env",
        value_name = "NAME",
        requires = "urls",
        conflicts_with = "bearer_token_file"
    )]
    pub bearer_token_env: Option<String>,
    /// File holding a bearer token for the scrapes.
    #[arg(
        long = "scrape-bearer-token-file",
        value_name = "FILE",
        requires = "urls"
    )]
    pub bearer_token_file: Option<PathBuf>,
    /// Timeout of one scrape.
    #[arg(
        long = "scrape-timeout",
        value_name = "DURATION",
        default_value = "10s"
    )]
    pub timeout: String,
}

/// Everything the scrapes produced.
#[derive(Debug)]
pub struct ScrapedData {
    /// The start of the last round: the evaluation time.
    pub at: Timestamp,
    pub samples: Vec<(Labels, Timestamp, f64)>,
}

fn duration(flag: &str, s: &str) -> anyhow::Result<Duration> {
    let d = promql_parser::util::parse_duration(s)
        .map_err(|_| anyhow!("{flag}: invalid duration {s:?}"))?;
    if d.is_zero() {
        return Err(anyhow!("{flag}: must be greater than zero"));
    }
    Ok(d)
}

fn options(args: &ScrapeArgs) -> anyhow::Result<ScrapeOptions> {
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| anyhow!("--scrape-header: want \"Name: value\", got no colon"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let bearer_token = match (&args.bearer_token_env, &args.bearer_token_file) {
        (Some(n), _) => Some(SecretSource::Env(n.clone())),
        (None, Some(p)) => Some(SecretSource::File(p.clone())),
        (None, None) => None,
    };
    Ok(ScrapeOptions {
        headers,
        bearer_token,
        timeout: duration("--scrape-timeout", &args.timeout)?,
    })
}

/// Runs the rounds; None without `--scrape`. Every failure is an error
/// (exit 2): a half-scraped run must not look like "all clear".
pub fn scrape_all(args: &ScrapeArgs, extra: &Labels) -> anyhow::Result<Option<ScrapedData>> {
    if args.urls.is_empty() {
        return Ok(None);
    }
    let mut rounds: Vec<Vec<reqwest::Url>> = Vec::new();
    for raw in &args.urls {
        let url = scrape::parse_url(raw)?;
        match rounds.iter_mut().find(|r| !r.contains(&url)) {
            Some(r) => r.push(url),
            None => rounds.push(vec![url]),
        }
    }
    let interval = match &args.interval {
        Some(s) => Some(duration("--interval", s)?),
        None => None,
    };
    match (rounds.len(), interval) {
        (1, Some(_)) => {
            return Err(anyhow!(
                "--interval: give a --scrape URL twice to scrape it twice"
            ))
        }
        (n, None) if n > 1 => {
            return Err(anyhow!(
                "--scrape: a URL given twice needs --interval (the time between the scrapes)"
            ))
        }
        _ => {}
    }
    let opts = options(args)?;
    let client = scrape::client(&opts, "--scrape")?;
    let mut samples = Vec::new();
    let mut at = 0;
    let mut started = std::time::Instant::now();
    for (i, round) in rounds.iter().enumerate() {
        if i > 0 {
            // Round starts, not round ends, are `--interval` apart.
            let next = started + interval.unwrap_or_default();
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
            started = next;
        }
        at = crate::clock::now_ms();
        // One round's endpoints are fetched one after the other; their
        // samples all carry the round's time, as one Prometheus scrape would.
        for url in round {
            let got = scrape::scrape(&client, url, opts.timeout)?;
            // Parse errors already start with the URL and line.
            samples.extend(got.samples(at, extra)?);
        }
    }
    Ok(Some(ScrapedData { at, samples }))
}
