//! Helpers for the outbox tests: a local webhook receiver that can fail on
//! purpose, notifications in bulk, and the config file the CLI reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use alertgate::model::Labels;
use alertgate::routing::{Alert, Notification, NotifyReason};

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub status: u16,
    pub body: String,
}

/// A webhook receiver on 127.0.0.1. `fail_every`: every n-th request is
/// answered 500; `down`: every request is answered 503.
pub struct Receiver {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub down: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
}

impl Receiver {
    pub fn start(fail_every: usize) -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Default::default();
        let down = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let (s, d, c) = (seen.clone(), down.clone(), count.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { continue };
                let (s, d, c) = (s.clone(), d.clone(), c.clone());
                std::thread::spawn(move || {
                    let mut w = conn.try_clone().unwrap();
                    let mut r = BufReader::new(conn);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut len = 0usize;
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                if k.eq_ignore_ascii_case("content-length") {
                                    len = v.trim().parse().unwrap_or(0);
                                }
                            }
                        }
                        let mut body = vec![0u8; len];
                        if r.read_exact(&mut body).is_err() {
                            return;
                        }
                        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                        let status = if d.load(Ordering::SeqCst) {
                            503
                        } else if fail_every > 0 && n % fail_every == 0 {
                            500
                        } else {
                            200
                        };
                        s.lock().unwrap().push(Seen {
                            status,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        let resp = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                        if w.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver {
            port,
            seen,
            down,
            count,
        }
    }

    pub fn requests(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Bodies of the requests answered 2xx.
    pub fn accepted(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.status == 200)
            .map(|s| s.body.clone())
            .collect()
    }
}

/// Writes `alertgate.yml` with one webhook receiver `hook` and the given
/// `notify.outbox` section; returns its path.
pub fn write_config(dir: &Path, port: u16, outbox: &str) -> PathBuf {
    let p = dir.join("alertgate.yml");
    let src = format!(
        "state_dir: {}\nroute:\n  receiver: hook\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{port}/\n        timeout: 5s\nnotify:\n  outbox:\n{outbox}",
        dir.join("state").display()
    );
    std::fs::write(&p, src).unwrap();
    p
}

/// `n` notifications for `hook`, one group each.
pub fn notifications(n: usize) -> Vec<Notification> {
    (0..n)
        .map(|i| {
            let g = format!("burst-{i}");
            Notification {
                at: 1_700_000_000_000 + i as i64,
                receiver: "hook".into(),
                route_idx: 0,
                group_key: format!("{{}}:{{alertname=\"{g}\"}}"),
                group_labels: Labels::from_pairs([("alertname", g.as_str())]),
                firing: vec![Alert::firing(
                    Labels::from_pairs([("alertname", g.as_str()), ("severity", "P1")]),
                    1_700_000_000_000,
                )],
                resolved: vec![],
                reason: NotifyReason::FirstNotification,
            }
        })
        .collect()
}

/// The dedup key a webhook body carries: receiver, group key and the
/// labels of its firing and resolved alerts.
pub fn key_of_body(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let labels = |status: &str| -> Vec<Labels> {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == status)
            .map(|a| {
                Labels::from_pairs(
                    a["labels"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_string())),
                )
            })
            .collect()
    };
    let (f, r) = (labels("firing"), labels("resolved"));
    alertgate::outbox::dedup_key(
        v["receiver"].as_str().unwrap(),
        v["groupKey"].as_str().unwrap(),
        f.iter(),
        r.iter(),
    )
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_alertgate")
}

pub fn enqueue(state: &Path, ns: &[Notification]) {
    let ob = alertgate::outbox::Outbox::open(
        &state.join("outbox.db"),
        Arc::new(alertgate::clock::now_ms),
    )
    .unwrap();
    let e = ob
        .enqueue(ns, &|_| vec!["webhook_configs.0".to_string()])
        .unwrap();
    assert_eq!(e.queued, ns.len());
}

/// A tmpfs mount (needs root), unmounted on drop.
pub struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` at `at`; None (a skip) when that is not
    /// possible, a failure under CI=true.
    pub fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot mount a tmpfs (needs root)"
            );
            eprintln!("skipping: cannot mount a tmpfs");
            return None;
        }
        Some(Mount(at.to_path_buf()))
    }

    pub fn remount(&self, mode: &str) {
        let s = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(s.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
