//! The status page at `/`: groups and rules with their last evaluation and
//! error, alerts by state, silences, and readiness. Plain HTML, no script.

use super::runtime::Runtime;
use crate::alerting::AlertState;
use crate::routing::silence::SilenceState;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

pub fn render(rt: &Runtime, now: i64) -> String {
    let l = rt.loaded();
    let mut h = String::from("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>alertgate</title>\n<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.firing{background:#fdd}.pending{background:#ffd}.err{color:#a00}</style></head><body>\n");
    let _ = writeln!(h, "<h1>alertgate {}</h1>", env!("CARGO_PKG_VERSION"));
    let ready = match super::http::health::readiness(rt, now) {
        Ok(d) => format!("ready ({})", esc(&d)),
        Err(e) => format!("<span class=\"err\">not ready: {}</span>", esc(&e)),
    };
    let _ = writeln!(h, "<p id=\"readiness\">{ready}</p>");

    // Alerts by state.
    let mut rows = Vec::new();
    for g in &l.groups {
        let st = g.state.lock().unwrap_or_else(|e| e.into_inner());
        for a in st.rules.iter().flat_map(|r| r.alerts.active()) {
            rows.push(a.clone());
        }
    }
    rows.sort_by_key(|a| (a.state != AlertState::Firing, a.labels.clone()));
    let firing = rows
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    let _ = writeln!(
        h,
        "<h2>Alerts</h2><p>{firing} firing, {} pending</p>",
        rows.len() - firing
    );
    h.push_str("<table id=\"alerts\"><tr><th>State</th><th>Labels</th><th>Active since</th><th>Value</th><th>Silenced by</th></tr>\n");
    let silences = rt
        .silences
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for a in &rows {
        let st = a.state.as_str();
        let mut labels = a.labels.clone();
        for (k, v) in &l.config.external_labels {
            if !labels.contains(k) {
                labels.set(k.clone(), v.clone());
            }
        }
        let _ = writeln!(
            h,
            "<tr class=\"{st}\"><td>{st}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.labels.to_string()),
            when(Some(a.active_at)),
            a.value,
            esc(&silences.matching(&labels, now).join(", "))
        );
    }
    h.push_str("</table>\n<h2>Rule groups</h2>\n");
    for g in &l.groups {
        let s = g.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = writeln!(
            h,
            "<h3>{} <small>({}, every {}s, last evaluated {}, took {:.3}s)</small></h3>",
            esc(&g.group.name),
            esc(&g.group.file),
            g.interval_ms / 1000,
            when(s.last_eval),
            s.duration_s
        );
        h.push_str(
            "<table class=\"rules\"><tr><th>Rule</th><th>Expression</th><th>Last error</th></tr>\n",
        );
        for (i, r) in g.group.rules.iter().enumerate() {
            let err = s.rule_errors.get(i).cloned().flatten().unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"err\">{}</td></tr>",
                esc(r.name()),
                esc(r.expr_text()),
                esc(&err)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Silences</h2>\n<table id=\"silences\"><tr><th>Id</th><th>Matchers</th><th>Ends</th><th>By</th><th>Comment</th></tr>\n");
    for s in rt.silences.read().unwrap_or_else(|e| e.into_inner()).all() {
        if s.state(now) == SilenceState::Expired {
            continue;
        }
        let m: Vec<String> = s.matchers.iter().map(|m| m.to_string()).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.id),
            esc(&m.join(", ")),
            when(Some(s.ends_at)),
            esc(&s.created_by),
            esc(&s.comment)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
