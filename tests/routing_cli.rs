//! `alertgate silence` and `alertgate routes` as a user runs them: the built
//! binary in a temp dir, checking stdout, stderr and exit codes.

use std::process::{Command, Output};

fn alertgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alertgate"))
        .args(args)
        .output()
        .expect("run alertgate")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn silence_add_list_expire_persist_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silences.json");
    let f = file.to_str().unwrap();
    let add = alertgate(&[
        "silence",
        "add",
        "--silences-file",
        f,
        "--duration",
        "2h",
        "--comment",
        "deploy window",
        "--author",
        "alice",
        "env=production",
        r#"alertname=~"Http.*""#,
    ]);
    assert_eq!(add.status.code(), Some(0), "{}", err(&add));
    let id = out(&add).trim().to_string();
    assert_eq!(id.len(), 36, "uuid-like id: {id}");

    // A second process sees it.
    let list = alertgate(&["silence", "list", "--silences-file", f]);
    let text = out(&list);
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains(&id)
            && text.contains(r#"alertname=~"Http.*""#)
            && text.contains("alice")
            && text.contains("deploy window"),
        "{text}"
    );
    let stored = alertgate::routing::Silences::open(&file).unwrap();
    let s = stored.get(&id).unwrap();
    assert_eq!(s.ends_at - s.starts_at, 2 * 3_600_000);
    let now = alertgate::clock::now_ms();
    let labels =
        alertgate::model::Labels::from_pairs([("env", "production"), ("alertname", "Http5xx")]);
    assert_eq!(stored.matching(&labels, now), vec![id.clone()]);

    let exp = alertgate(&["silence", "expire", "--silences-file", f, &id]);
    assert_eq!(exp.status.code(), Some(0), "{}", err(&exp));
    assert!(!out(&alertgate(&["silence", "list", "--silences-file", f])).contains(&id));
    assert_eq!(
        out(&alertgate(&[
            "silence",
            "list",
            "-q",
            "--expired",
            "--silences-file",
            f
        ]))
        .trim(),
        id
    );
    let again = alertgate(&["silence", "expire", "--silences-file", f, &id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(err(&again).contains("already expired"), "{}", err(&again));
}

#[test]
fn silence_uses_state_dir_from_config_and_bare_alertname() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertgate.yml");
    std::fs::write(
        &cfg,
        "state_dir: state\nroute:\n  receiver: a\nreceivers:\n  - name: a\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let add = alertgate(&[
        "silence",
        "add",
        "--config",
        c,
        "--comment",
        "c",
        "--author",
        "bob",
        "DiskFull",
        "env=staging",
    ]);
    assert_eq!(add.status.code(), Some(0), "{}", err(&add));
    let stored =
        alertgate::routing::Silences::open(&dir.path().join("state/silences.json")).unwrap();
    let s = &stored.all()[0];
    let names: Vec<String> = s.matchers.iter().map(|m| format!("{m}")).collect();
    assert_eq!(names, [r#"alertname="DiskFull""#, r#"env="staging""#]);
}

#[test]
fn silence_add_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.json");
    let f = f.to_str().unwrap();
    // No comment flag: clap usage error (exit 2).
    assert_eq!(
        alertgate(&["silence", "add", "--silences-file", f, "a=b"])
            .status
            .code(),
        Some(2)
    );
    // A matcher that matches everything.
    let o = alertgate(&[
        "silence",
        "add",
        "--silences-file",
        f,
        "--comment",
        "x",
        "--author",
        "y",
        "a=~.*",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("must not match the empty string"),
        "{}",
        err(&o)
    );
    // Neither a file nor a config.
    assert_eq!(alertgate(&["silence", "list"]).status.code(), Some(2));
}

#[test]
fn routes_config_errors_have_positions_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: a\n  routes:\n    - receiver: nope\n      group_wait: soon\nreceivers:\n  - name: a\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let o = alertgate(&["routes", "show", "--config", c]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains(&format!("{c}:4:17: routing/undefined-receiver")),
        "{e}"
    );
    assert!(
        e.contains(&format!("{c}:5:19: routing/invalid-duration")),
        "{e}"
    );
    let o = alertgate(&["routes", "test", "--config", c, "a=b"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn routes_test_verify_and_label_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("r.yml");
    std::fs::write(&cfg, "route:\n  receiver: d\n  routes:\n    - matchers: ['env=~\"prod.*\"']\n      receiver: p\nreceivers: [{name: d}, {name: p}]\n").unwrap();
    let c = cfg.to_str().unwrap();
    let ok = alertgate(&[
        "routes",
        "test",
        "--config",
        c,
        "--verify-receivers",
        "p",
        "env=production",
    ]);
    assert_eq!((ok.status.code(), out(&ok)), (Some(0), "p\n".to_string()));
    let bad = alertgate(&[
        "routes",
        "test",
        "--config",
        c,
        "--verify-receivers",
        "d",
        "env=production",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(out(&bad).contains("WARNING: Expected receivers did not match resolved receivers."));
    let neq = alertgate(&["routes", "test", "--config", c, "env!=x"]);
    assert_eq!(neq.status.code(), Some(2));
    assert!(err(&neq).contains("key=value"), "{}", err(&neq));
}
