//! Template tests against what Prometheus renders. The `PROMTOOL_CASES`
//! table was confirmed with promtool 3.5.3 (`promtool test rules` on an
//! alert carrying each template as an annotation, with external_labels
//! `{region: eu-west}` and external_url `http://prom.example.com:9090/prom/`),
//! so expected strings, including Go's error texts, are upstream's.

use super::promtool_cases::PROMTOOL_CASES;
use super::*;

struct MockQuerier;

impl TemplateQuerier for MockQuerier {
    fn query(&self, expr: &str) -> Result<Vec<QueryResult>, String> {
        let r = |pairs: &[(&str, &str)], value| QueryResult {
            labels: Labels::from_pairs(pairs.iter().copied()),
            value,
        };
        Ok(match expr {
            // The order promtool's storage returned them in.
            "m2" => vec![
                r(&[("__name__", "m2"), ("job", "b"), ("k", "2")], 2.0),
                r(&[("__name__", "m2"), ("job", "c"), ("k", "1")], 3.0),
                r(&[("__name__", "m2"), ("job", "a"), ("k", "1")], 1.0),
            ],
            "sum(m2)" => vec![r(&[], 6.0)],
            "nonexistent" => vec![],
            other => return Err(format!("unexpected query {other}")),
        })
    }
}

/// The alert data promtool built for series number `sid` of the fixture.
fn promtool_data(value: &str, sid: usize) -> TemplateData {
    let mut labels = match sid {
        0 => Labels::from_pairs([("job", "api"), ("instance", "host.example.com:9090")]),
        1..=3 => Labels::from_pairs([("job", "x")]),
        _ => Labels::from_pairs([("job", "num")]),
    };
    labels.set("__name__", "m");
    labels.set("sid", sid.to_string());
    TemplateData {
        labels,
        value: value.parse().expect("fixture value"),
        external_labels: Labels::from_pairs([("region", "eu-west")]),
        external_url: "http://prom.example.com:9090/prom/".into(),
    }
}

#[test]
fn renders_like_promtool_3_5_3() {
    let mut failures = Vec::new();
    for (value, sid, src, want) in PROMTOOL_CASES {
        let tmpl = match Template::parse(src) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{src:?}: parse error {e}"));
                continue;
            }
        };
        let data = promtool_data(value, *sid);
        let got = expand_or_error_text(&tmpl, &format!("A{sid}"), &data, Some(&MockQuerier));
        if got != *want {
            failures.push(format!(
                "{src:?} on {value}:\n   got {got:?}\n  want {want:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn regexp_compile_errors_are_render_errors() {
    // promtool 3.5.3 says "regexp: Compile(`(`): error parsing regexp: missing
    // closing ): `(`"; our regex engine words the detail differently.
    let data = promtool_data("1", 0);
    let t = Template::parse(r#"{{ reReplaceAll "(" "x" "y" }}"#).unwrap();
    let got = expand_or_error_text(&t, "A0", &data, None);
    assert!(
        got.starts_with(
            "<error expanding template: error executing template __alert_A0: template: __alert_A0:1:115: \
             executing \"__alert_A0\" at <reReplaceAll \"(\" \"x\" \"y\">: error calling reReplaceAll: \
             regexp: Compile(`(`): error parsing regexp: "
        ),
        "{got}"
    );
    let t = Template::parse(r#"{{ match "(" "y" }}"#).unwrap();
    let err = t.render(&data, None).unwrap_err().to_string();
    assert!(
        err.contains("error calling match: error parsing regexp: "),
        "{err}"
    );
}

#[test]
fn external_url_functions_use_the_data() {
    // promtool runs rules without a parsed external URL (these functions fail
    // there); a server passes --web.external-url, which is what we get here.
    let data = promtool_data("1", 0);
    let render = |src: &str| Template::parse(src).unwrap().render(&data, None).unwrap();
    assert_eq!(
        render("{{ externalURL }}"),
        "http://prom.example.com:9090/prom/"
    );
    assert_eq!(render("{{ pathPrefix }}"), "/prom/");
}

#[test]
fn query_without_querier_is_a_render_error() {
    let t = Template::parse(r#"{{ query "up" | len }}"#).unwrap();
    let err = t.render(&TemplateData::default(), None).unwrap_err();
    assert!(err.to_string().contains("error calling query"), "{err}");
}

#[test]
fn parse_errors_say_what_and_where() {
    let e = |src: &str| Template::parse(src).unwrap_err().to_string();
    assert_eq!(
        e("{{ $labels.job | foo }}"),
        "1:18: function \"foo\" not defined"
    );
    assert_eq!(e("x\n  {{ $nope }}"), "2:6: undefined variable \"$nope\"");
    assert_eq!(e("{{ if true }}x"), "1:15: unexpected EOF");
    assert_eq!(e("{{ $value"), "1:10: unclosed action");
    assert_eq!(
        e("{{ define \"x\" }}y{{ end }}"),
        "1:4: {{define}} is not supported in rule templates"
    );
    assert_eq!(
        e("{{ template \"x\" . }}"),
        "1:4: {{template}} is not supported in rule templates"
    );
    assert_eq!(
        e("{{ block \"x\" . }}{{ end }}"),
        "1:4: {{block}} is not supported in rule templates"
    );
    // Added after Prometheus 3.5, so `promtool check rules` 3.5.3 rejects them too.
    assert_eq!(
        e("{{ urlQueryEscape \"x\" }}"),
        "1:4: function \"urlQueryEscape\" not defined"
    );
    assert_eq!(e("{{ now }}"), "1:4: function \"now\" not defined");
    assert_eq!(e("{{ 1i }}"), "1:4: complex number 1i is not supported");
}

#[test]
fn parse_error_prometheus_message() {
    let err = Template::parse("{{ foo }}").unwrap_err();
    assert_eq!(
        err.prometheus_message("HighLatency"),
        "error parsing template __alert_HighLatency: template: __alert_HighLatency:1: function \"foo\" not defined"
    );
}

#[test]
fn parsed_templates_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<TemplateError>();
}

#[test]
fn static_templates() {
    assert!(Template::parse("plain text").unwrap().is_static());
    assert!(Template::parse("").unwrap().is_static());
    assert!(Template::parse("a {{/* note */}} b").unwrap().is_static());
    assert!(!Template::parse("{{ $value }}").unwrap().is_static());
    let t = Template::parse("a {{- /* note */ -}} b").unwrap();
    assert_eq!(t.render(&TemplateData::default(), None).unwrap(), "ab");
}

#[test]
fn render_error_position_is_within_the_template() {
    let t = Template::parse("ok\n  {{ .Nope }}").unwrap();
    let err = t.render(&TemplateData::default(), None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("2:6: executing at <.Nope>: can't evaluate field Nope"),
        "{err}"
    );
}

#[test]
fn variables_scope_and_assignment() {
    let data = promtool_data("2", 0);
    let render = |src: &str| Template::parse(src).unwrap().render(&data, None).unwrap();
    assert_eq!(
        render("{{ $x := 1 }}{{ if true }}{{ $x := 5 }}{{ $x }}{{ end }}{{ $x }}"),
        "51"
    );
    assert_eq!(
        render("{{ $x := 1 }}{{ if true }}{{ $x = 5 }}{{ end }}{{ $x }}"),
        "5"
    );
    assert_eq!(
        render("{{ range $i, $e := $labels }}{{ end }}{{ $value }}"),
        "2"
    );
}

#[test]
fn parse_accepts_and_rejects_like_promtool_check_rules() {
    // Outcomes confirmed with `promtool check rules` 3.5.3 (its messages have
    // only a line number; ours add the column).
    let accepted = [
        "{{ $x = 1 }}",
        "{{ $labels.job 1 }}",
        "{{ nil }}",
        "{{ (1) }}",
        "{{ range $labels }}{{ break }}{{ end }}",
        "{{ .Labels.job | len }}",
        "{{ \"a\" | printf }}",
        "{{ 0755 }}",
        "{{ with $labels }}{{ else with $value }}{{ else }}{{ end }}",
        "{{ (1).x }}",
        "{{ humanize.x }}",
        "{{ .5 }}",
    ];
    for src in accepted {
        assert!(
            Template::parse(src).is_ok(),
            "{src}: {:?}",
            Template::parse(src).err()
        );
    }
    let rejected = [
        ("{{ else }}", "unexpected {{else}}"),
        (
            "{{ range $a, $b, $c := $labels }}{{ end }}",
            "too many declarations in range",
        ),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ("{{ 1 | 2 }}", "non executable command in pipeline stage 2"),
        (
            "{{ if $x := 1 }}{{ end }}{{ $x }}",
            "undefined variable \"$x\"",
        ),
        ("{{ 1e }}", "illegal number syntax: \"1e\""),
        (
            "{{ 99999999999999999999 }}",
            "integer overflow: \"99999999999999999999\"",
        ),
        ("{{ $a, $b := 1 }}", "too many declarations in command"),
        ("{{ if }}{{ end }}", "missing value for if"),
        ("{{ range }}{{ end }}", "missing value for range"),
        ("{{ 3.5.x }}", "unexpected . after term \"3.5\""),
        ("{{ \"a\".x }}", "unexpected . after term \"\\\"a\\\"\""),
        ("{{ $labels.a-b }}", "bad character U+002D '-'"),
        ("{{ toDuration 1 }}", "function \"toDuration\" not defined"),
        ("{{ /* c */ }}", "unexpected \"/\" in command"),
        ("{{/* c */ 1 }}", "comment ends before closing delimiter"),
        ("{{ end }}", "unexpected {{end}}"),
        (
            "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
            "expected end; found {{else}}",
        ),
        ("{{ 'ab' }}", "malformed character constant: 'ab'"),
        ("{{ \"\\q\" }}", "invalid syntax"),
        ("{{ + }}", "illegal number syntax: \"+\""),
    ];
    for (src, want) in rejected {
        match Template::parse(src) {
            Err(TemplateError::Parse { msg, .. }) => assert_eq!(msg, want, "{src}"),
            other => panic!("{src}: {other:?}"),
        }
    }
}

#[test]
fn nesting_up_to_the_limit_renders() {
    let src = format!("{{{{ {}1{} }}}}", "(".repeat(95), ")".repeat(95));
    let t = Template::parse(&src).unwrap();
    assert_eq!(t.render(&TemplateData::default(), None).unwrap(), "1");
}

#[test]
fn range_over_large_int_does_not_allocate_the_list() {
    let t = Template::parse(
        "{{ range $i := 100000000 }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
    )
    .unwrap();
    assert_eq!(t.render(&TemplateData::default(), None).unwrap(), "01");
}
