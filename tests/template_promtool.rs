//! Renders rule templates with our evaluator and with promtool 3.5.3
//! (`promtool test rules` prints the annotations it got when a test expects
//! none) and compares them byte for byte, over many generated values so
//! number formatting (`%v`, `%.4g`, humanize*) is checked beyond the unit
//! tests' table.

use std::path::PathBuf;
use std::process::Command;

use alertgate::model::Labels;
use alertgate::template::{expand_or_error_text, Template, TemplateData};

/// promtool from `.peers/bin`; missing: a failure under `CI=true`, else a skip.
fn promtool() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".peers/bin/promtool");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{} is missing (run scripts/fetch-peers.sh)",
        p.display()
    );
    eprintln!(
        "skipped: {} not found (run scripts/fetch-peers.sh)",
        p.display()
    );
    None
}

const TEMPLATES: &[&str] = &[
    "{{ $value }}",
    "{{ humanize $value }}",
    "{{ humanize1024 $value }}",
    "{{ humanizeDuration $value }}",
    "{{ humanizePercentage $value }}",
    "{{ humanizeTimestamp $value }}",
    r#"{{ printf "%.2f|%g|%e|%.3g|%10.4f|%-9.1e|%+.0f" $value $value $value $value $value $value $value }}"#,
    r#"{{ if gt $value 100.0 }}big{{ else if lt $value 0.0 }}neg{{ else }}small{{ end }} {{ $labels.job | toUpper }}"#,
    r#"{{ $value | humanize | printf "%s/%s" $labels.sid }}"#,
];

/// Deterministic values across many magnitudes, signs and digit counts.
fn values() -> Vec<f64> {
    let mut out = vec![
        0.0, 1.0, -1.0, 0.5, 1e-9, 999.95, 1023.5, 1024.0, 86399.999, 0.00999,
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..50 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mantissa = (x >> 11) as f64 / (1u64 << 53) as f64 * 10.0;
        let exp = (i % 25) - 12;
        let digits = 1 + (x >> 60) as i32 % 7;
        let scale = 10f64.powi(digits);
        let v = (mantissa * scale).round() / scale * 10f64.powi(exp);
        out.push(if x & 1 == 1 { -v } else { v });
    }
    out
}

/// Go's `strconv.Unquote` for what promtool prints (it quotes with strconv.Quote).
fn go_unquote(s: &str) -> String {
    let mut bytes = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = it.next().expect("escape");
        let mut hex = |n: usize| {
            let h: String = (0..n).filter_map(|_| it.next()).collect();
            u32::from_str_radix(&h, 16).expect("hex escape")
        };
        match e {
            'n' => bytes.push(b'\n'),
            't' => bytes.push(b'\t'),
            'r' => bytes.push(b'\r'),
            '\\' => bytes.push(b'\\'),
            '"' => bytes.push(b'"'),
            'x' => bytes.push(hex(2) as u8),
            'u' | 'U' => {
                let c = char::from_u32(hex(if e == 'u' { 4 } else { 8 })).expect("rune");
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            other => panic!("unexpected escape \\{other}"),
        }
    }
    String::from_utf8(bytes).expect("utf-8")
}

/// Annotation `t<N>` values of every alert promtool printed, keyed by alert.
fn parse_promtool_output(out: &str) -> Vec<(String, Vec<(usize, String)>)> {
    let ann_re = regex::Regex::new(r#"(t\d+)="((?:[^"\\]|\\.)*)""#).unwrap();
    let mut res = Vec::new();
    let mut alert = String::new();
    for line in out.lines() {
        if let Some(rest) = line.trim().strip_prefix("Labels:{alertname=\"") {
            alert = rest.split('"').next().unwrap_or("").to_string();
        }
        if let Some(body) = line.trim().strip_prefix("Annotations:{") {
            let anns = ann_re
                .captures_iter(body)
                .map(|c| (c[1][1..].parse().unwrap(), go_unquote(&c[2])))
                .collect();
            res.push((alert.clone(), anns));
        }
    }
    res
}

#[test]
fn templates_render_like_promtool() {
    let Some(promtool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let values = values();

    let mut rules = String::from("groups:\n- name: g\n  rules:\n");
    let mut test = String::from(
        "rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  \
         external_labels: {region: eu-west}\n  input_series:\n",
    );
    let mut alerts = String::from("  alert_rule_test:\n");
    for (sid, v) in values.iter().enumerate() {
        rules.push_str(&format!(
            "  - alert: A{sid}\n    expr: 'm{{sid=\"{sid}\"}}'\n    annotations:\n"
        ));
        for (i, t) in TEMPLATES.iter().enumerate() {
            rules.push_str(&format!(
                "      t{i}: {}\n",
                serde_json::to_string(t).unwrap()
            ));
        }
        // `{:e}` round-trips the float exactly through promtool's parser.
        test.push_str(&format!(
            "  - series: 'm{{sid=\"{sid}\", job=\"api\"}}'\n    values: '{v:e}'\n"
        ));
        alerts.push_str(&format!(
            "  - eval_time: 0m\n    alertname: A{sid}\n    exp_alerts: []\n"
        ));
    }
    test.push_str(&alerts);
    std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
    std::fs::write(dir.path().join("test.yaml"), test).unwrap();
    let out = Command::new(&promtool)
        .current_dir(dir.path())
        .args(["test", "rules", "test.yaml"])
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got = parse_promtool_output(&text);
    assert_eq!(
        got.len(),
        values.len(),
        "one alert per value expected:\n{text}"
    );

    let templates: Vec<Template> = TEMPLATES
        .iter()
        .map(|t| Template::parse(t).unwrap())
        .collect();
    let mut mismatches = Vec::new();
    for (alert, anns) in got {
        assert_eq!(anns.len(), TEMPLATES.len(), "{alert}: {anns:?}");
        let sid: usize = alert[1..].parse().unwrap();
        let data = TemplateData {
            labels: Labels::from_pairs([
                ("__name__", "m"),
                ("job", "api"),
                ("sid", &sid.to_string()),
            ]),
            value: values[sid],
            external_labels: Labels::from_pairs([("region", "eu-west")]),
            external_url: String::new(),
        };
        for (i, want) in anns {
            let ours = expand_or_error_text(&templates[i], &alert, &data, None);
            if ours != want {
                mismatches.push(format!(
                    "{} on {:e}: ours {ours:?}, promtool {want:?}",
                    TEMPLATES[i], values[sid]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
