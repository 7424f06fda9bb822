//! Parser tests. Inputs are the examples from the Prometheus "Exposition
//! formats" page and the OpenMetrics 1.0 spec, written as users write them.

use super::*;

fn parse_ok(src: &str, format: Format) -> Vec<(String, Option<i64>, f64)> {
    parse(src, format)
        .unwrap_or_else(|e| panic!("line {}: {}", e.line, e.msg))
        .into_iter()
        .map(|s| (s.labels.to_string(), s.t, s.v))
        .collect()
}

fn parse_err(src: &str, format: Format) -> (usize, String) {
    match parse(src, format) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => (e.line, e.msg),
    }
}

/// The text-format example from prometheus.io/docs/instrumenting/exposition_formats/.
const TEXT_EXAMPLE: &str = r#"# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
"#;

#[test]
fn text_format_documentation_example() {
    let got = parse_ok(TEXT_EXAMPLE, Format::Text);
    assert_eq!(got.len(), 20);
    assert_eq!(
        got[0],
        (
            r#"http_requests_total{code="200", method="post"}"#.into(),
            Some(1_395_066_363_000),
            1027.0
        )
    );
    // Extra spaces before the value are fine in the text format.
    assert_eq!(got[1].2, 3.0);
    // Escapes \\ \" \n are undone; exponent floats parse.
    let (labels, t, v) = &got[2];
    assert_eq!(t, &None);
    assert_eq!(*v, 1.458255915e9);
    let parsed = parse(TEXT_EXAMPLE, Format::Text).unwrap();
    assert_eq!(parsed[2].labels.get("path"), Some(r"C:\DIR\FILE.TXT"));
    assert_eq!(
        parsed[2].labels.get("error"),
        Some("Cannot find file:\n\"FILE.TXT\"")
    );
    assert!(labels.starts_with("msdos_file_access_time_seconds{"));
    assert_eq!(
        got[3],
        ("metric_without_timestamp_and_labels".into(), None, 12.47)
    );
    assert_eq!(
        got[4],
        (
            r#"something_weird{problem="division by zero"}"#.into(),
            Some(-3_982_045),
            f64::INFINITY
        )
    );
    // Line numbers are kept for later error messages.
    assert_eq!(parsed[3].line, 10);
}

#[test]
fn histogram_and_summary_series_with_normalised_le_and_quantile() {
    let got = parse_ok(TEXT_EXAMPLE, Format::Text);
    let names: Vec<&str> = got[5..].iter().map(|(l, _, _)| l.as_str()).collect();
    // Prometheus 3 stores `le="1"` as `le="1.0"` and keeps other forms.
    assert_eq!(
        names,
        vec![
            r#"http_request_duration_seconds_bucket{le="0.05"}"#,
            r#"http_request_duration_seconds_bucket{le="0.1"}"#,
            r#"http_request_duration_seconds_bucket{le="0.2"}"#,
            r#"http_request_duration_seconds_bucket{le="0.5"}"#,
            r#"http_request_duration_seconds_bucket{le="1.0"}"#,
            r#"http_request_duration_seconds_bucket{le="+Inf"}"#,
            "http_request_duration_seconds_sum",
            "http_request_duration_seconds_count",
            r#"rpc_duration_seconds{quantile="0.01"}"#,
            r#"rpc_duration_seconds{quantile="0.05"}"#,
            r#"rpc_duration_seconds{quantile="0.5"}"#,
            r#"rpc_duration_seconds{quantile="0.9"}"#,
            r#"rpc_duration_seconds{quantile="0.99"}"#,
            "rpc_duration_seconds_sum",
            "rpc_duration_seconds_count",
        ]
    );
    assert_eq!(got[18].2, 1.7560473e7);
}

#[test]
fn openmetrics_float_formatting_matches_prometheus() {
    // labels.FormatOpenMetricsFloat cases from model/labels/float_test.go.
    assert_eq!(format_openmetrics_float(1.0), "1.0");
    assert_eq!(format_openmetrics_float(0.0), "0.0");
    assert_eq!(format_openmetrics_float(-1.0), "-1.0");
    assert_eq!(format_openmetrics_float(f64::NAN), "NaN");
    assert_eq!(format_openmetrics_float(f64::INFINITY), "+Inf");
    assert_eq!(format_openmetrics_float(f64::NEG_INFINITY), "-Inf");
    assert_eq!(format_openmetrics_float(0.5), "0.5");
    assert_eq!(format_openmetrics_float(100000.0), "100000.0");
    assert_eq!(format_openmetrics_float(1e6), "1e+06");
    assert_eq!(format_openmetrics_float(1.5e-7), "1.5e-07");
    assert_eq!(format_openmetrics_float(0.0001), "0.0001");
}

#[test]
fn special_values_and_float_forms() {
    let got = parse_ok(
        "a NaN\nb +Inf\nc -Inf\nd 1e-3\ne -2.5E+2\nf .5\ng Inf\n",
        Format::Text,
    );
    assert!(got[0].2.is_nan());
    let rest: Vec<f64> = got[1..].iter().map(|x| x.2).collect();
    assert_eq!(
        rest,
        vec![
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.001,
            -250.0,
            0.5,
            f64::INFINITY
        ]
    );
    // Go's ParseFloat as Prometheus uses it rejects `_` and hex floats.
    assert_eq!(
        parse_err("a 1_000\n", Format::Text),
        (1, r#"invalid value "1_000""#.into())
    );
    assert_eq!(
        parse_err("a 0x1p3\n", Format::Text),
        (1, r#"invalid value "0x1p3""#.into())
    );
}

#[test]
fn comments_blank_lines_and_leading_whitespace() {
    let src = "#just a comment\n# another one\n\n\t x 1\n  # indented comment\n";
    assert_eq!(parse_ok(src, Format::Text), vec![("x".into(), None, 1.0)]);
    // OpenMetrics has no free comments and no leading whitespace.
    assert_eq!(
        parse_err(" x 1\n# EOF\n", Format::OpenMetrics),
        (1, r#"invalid metric name """#.into())
    );
}

#[test]
fn whitespace_between_tokens() {
    let got = parse_ok("x{a=\"1\",} 2\ny\t{ b = \"2\" }\t3\t\t4\n", Format::Text);
    assert_eq!(
        got,
        vec![
            (r#"x{a="1"}"#.into(), None, 2.0),
            (r#"y{b="2"}"#.into(), Some(4), 3.0)
        ]
    );
}

#[test]
fn utf8_metric_and_label_names_in_quotes() {
    let got = parse_ok("{\"my.metric\", \"label.name\"=\"v\"} 1\n# TYPE \"other.metric\" gauge\n{\"other.metric\"} 2\n", Format::Text);
    assert_eq!(got[0].2, 1.0);
    let parsed = parse("{\"my.metric\", \"label.name\"=\"v\"} 1\n", Format::Text).unwrap();
    assert_eq!(parsed[0].labels.metric_name(), Some("my.metric"));
    assert_eq!(parsed[0].labels.get("label.name"), Some("v"));
    assert_eq!(got[1].2, 2.0);
}

#[test]
fn empty_label_value_means_no_label() {
    let got = parse_ok("x{a=\"\",b=\"1\"} 1\n", Format::Text);
    assert_eq!(got[0].0, r#"x{b="1"}"#);
}

/// The OpenMetrics 1.0 spec's overall example, trimmed, plus history.
const OM_EXAMPLE: &str = r#"# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
# HELP go_goroutines Number of goroutines that currently exist.
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.
process_cpu_seconds_total 4.20072246e+06
# TYPE foo histogram
foo_bucket{le="0.0"} 0 1520879607.789
foo_bucket{le="1"} 4 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_bucket{le="+Inf"} 17 1520879607.789 # {trace_id="oHg5SJYRHA0"} 9.8 1520879602.029
foo_count 17 1520879607.789
foo_sum 324789.3 1520879607.789
foo_created 1520430000.123 1520879607.789
# TYPE jobs_total counter
jobs_total{queue="mail"} 1 1700000000
jobs_total{queue="mail"} 4 1700000060
jobs_total{queue="mail"} 9 1700000120.5
# EOF
"#;

#[test]
fn openmetrics_example_with_history_exemplars_and_created() {
    let got = parse_ok(OM_EXAMPLE, Format::OpenMetrics);
    let names: Vec<&str> = got.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(
        names,
        vec![
            r#"acme_http_router_request_seconds_sum{method="GET", path="/api/v1"}"#,
            r#"acme_http_router_request_seconds_count{method="GET", path="/api/v1"}"#,
            // `_created` stays a series, as in Prometheus without the ST feature flag.
            r#"acme_http_router_request_seconds_created{method="GET", path="/api/v1"}"#,
            "go_goroutines",
            "process_cpu_seconds_total",
            r#"foo_bucket{le="0.0"}"#,
            r#"foo_bucket{le="1.0"}"#,
            r#"foo_bucket{le="+Inf"}"#,
            "foo_count",
            "foo_sum",
            "foo_created",
            r#"jobs_total{queue="mail"}"#,
            r#"jobs_total{queue="mail"}"#,
            r#"jobs_total{queue="mail"}"#,
        ]
    );
    assert_eq!(got[4].2, 4.20072246e6);
    // Float seconds become ms; exemplars are dropped.
    assert_eq!(got[6].1, Some(1_520_879_607_789));
    assert_eq!(got[6].2, 4.0);
    assert_eq!(got[7].2, 17.0);
    assert_eq!(got[10].2, 1_520_430_000.123);
    let history: Vec<(Option<i64>, f64)> = got[11..].iter().map(|x| (x.1, x.2)).collect();
    assert_eq!(
        history,
        vec![
            (Some(1_700_000_000_000), 1.0),
            (Some(1_700_000_060_000), 4.0),
            (Some(1_700_000_120_500), 9.0)
        ]
    );
}

#[test]
fn openmetrics_eof_rules() {
    assert_eq!(
        parse_err("a 1\n", Format::OpenMetrics),
        (1, "data does not end with # EOF".into())
    );
    let (line, msg) = parse_err("a 1\n# EOF\nb 2\n", Format::OpenMetrics);
    assert_eq!(line, 3);
    assert!(msg.starts_with("unexpected data after # EOF"), "{msg}");
    assert_eq!(parse_err("a 1\n\n# EOF\n", Format::OpenMetrics).0, 2);
    // No trailing newline after # EOF is fine.
    assert_eq!(parse_ok("a 1\n# EOF", Format::OpenMetrics).len(), 1);
    // In the text format `# EOF` is only a comment.
    assert_eq!(parse_ok("# EOF\na 1\n", Format::Text).len(), 1);
}

#[test]
fn openmetrics_metadata_rules() {
    assert_eq!(
        parse_err("# TYPE a untyped\n# EOF\n", Format::OpenMetrics),
        (1, r#"invalid metric type "untyped""#.into())
    );
    assert_eq!(
        parse_err("# UNIT a_bytes seconds\n# EOF\n", Format::OpenMetrics),
        (
            1,
            r#"unit "seconds" not a suffix of metric "a_bytes""#.into()
        )
    );
    assert!(parse_err("# random comment\n# EOF\n", Format::OpenMetrics)
        .1
        .starts_with("invalid comment"));
    // Text format: `untyped` is valid, `unknown` is not.
    assert_eq!(parse_ok("# TYPE a untyped\na 1\n", Format::Text).len(), 1);
    assert_eq!(
        parse_err("# TYPE a unknown\n", Format::Text).1,
        r#"invalid metric type "unknown""#
    );
}

#[test]
fn malformed_lines_report_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("up 1\nup{job=\"a\"} abc\n", 2, r#"invalid value "abc""#),
        (
            "up{job=\"a} 1\n",
            1,
            "unterminated quoted string for label \"job\"",
        ),
        (
            "up{job=\"a\",job=\"b\"} 1\n",
            1,
            r#"duplicate label name "job""#,
        ),
        ("up 1 12.5\n", 1, r#"invalid timestamp "12.5""#),
        ("\nup\n", 2, r#"missing value for "up""#),
        ("up{job=\"a\"}\n", 1, r#"missing value for "up""#),
        (
            "http-requests 1\n",
            1,
            r#"invalid metric name "http-requests""#,
        ),
        ("9lives 1\n", 1, r#"invalid metric name "9lives""#),
        ("up{1job=\"a\"} 1\n", 1, r#"invalid label name "1job""#),
        (
            "up{job=a} 1\n",
            1,
            r#"expected quoted value for label "job""#,
        ),
        (
            "up{job=\"a\" 1\n",
            1,
            "expected ',' or '}' in label set, got '1'",
        ),
        ("up 1 2 3\n", 1, r#"unexpected text "3" after the sample"#),
        (
            "up{job=\"a\"}1\n",
            1,
            r#"unexpected '1' after "up", expected a space and a value"#,
        ),
        ("{job=\"a\"} 1\n", 1, "metric name not set"),
        (
            "up 1\n# TYPE up gauge\n",
            2,
            r#"TYPE line for "up" after samples of the family ("up")"#,
        ),
        (
            "a_bucket{le=\"1\"} 1\n# TYPE a histogram\n",
            2,
            r#"TYPE line for "a" after samples of the family ("a_bucket")"#,
        ),
        (
            "# TYPE up gauge\n# TYPE up counter\n",
            2,
            r#"second TYPE line for metric name "up""#,
        ),
        (
            "# HELP up x\n# HELP up y\n",
            2,
            r#"second HELP line for metric name "up""#,
        ),
        ("# TYPE up\n", 1, r#"invalid metric type """#),
        (
            "# TYPE 1up gauge\n",
            1,
            r#"invalid metric name "1up" in # TYPE"#,
        ),
        // "# HELP" without a blank after it is a plain comment, as in promlex.l.
        ("# HELP\nup\n", 2, r#"missing value for "up""#),
        ("# HELP \n", 1, "expected metric name after # HELP"),
        (
            "up{__name__=\"x\"} 1\n",
            1,
            r#"duplicate label name "__name__""#,
        ),
    ];
    for (src, line, msg) in cases {
        assert_eq!(
            parse_err(src, Format::Text),
            (*line, msg.to_string()),
            "input: {src:?}"
        );
    }
}

#[test]
fn openmetrics_timestamps_are_float_seconds() {
    let got = parse_ok("a 1 1.5\nb 1 1e3\nc 1 -0.001\n# EOF\n", Format::OpenMetrics);
    let ts: Vec<Option<i64>> = got.iter().map(|x| x.1).collect();
    assert_eq!(ts, vec![Some(1500), Some(1_000_000), Some(-1)]);
    assert_eq!(
        parse_err("a 1 NaN\n# EOF\n", Format::OpenMetrics),
        (1, r#"invalid timestamp "NaN""#.into())
    );
    assert_eq!(
        parse_err("a 1 soon\n# EOF\n", Format::OpenMetrics),
        (1, r#"invalid timestamp "soon""#.into())
    );
}

#[test]
fn name_in_braces_via_name_label() {
    let got = parse_ok("{__name__=\"up\",job=\"a\"} 1\n", Format::Text);
    assert_eq!(got[0].0, r#"up{job="a"}"#);
}

/// A file above the two-thread threshold: `families` histogram and counter
/// families with `series` series of two samples each.
fn large_om(families: usize, series: usize) -> String {
    let mut s = String::new();
    for f in 0..families {
        s.push_str(&format!("# HELP req{f} Requests.\n# TYPE req{f} counter\n"));
        for i in 0..series {
            for t in [60, 120] {
                s.push_str(&format!(
                    "req{f}_total{{instance=\"host-{i}:9100\",job=\"j{}\"}} {} {t}\n",
                    i % 7,
                    i + t
                ));
            }
        }
        s.push_str(&format!("# TYPE lat{f} histogram\n"));
        for le in ["0.1", "1", "+Inf"] {
            s.push_str(&format!("lat{f}_bucket{{le=\"{le}\"}} 3 60\n"));
        }
    }
    s.push_str("# EOF\n");
    assert!(s.len() >= PARALLEL_BYTES, "{} bytes", s.len());
    s
}

fn two_cores() -> bool {
    std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
}

#[test]
fn halves_parse_like_one_pass() {
    let src = large_om(40, 1200);
    let whole = parse_part(&src, Format::OpenMetrics, Part::Whole)
        .unwrap()
        .0;
    if two_cores() {
        let halves = parse_halves(&src, Format::OpenMetrics).expect("split in two");
        assert_eq!(halves, whole);
    }
    assert_eq!(parse_series(&src, Format::OpenMetrics).unwrap(), whole);
    // `le` of the histograms in the second half is normalised too.
    let last = whole.last().unwrap();
    assert_eq!(last.labels.get("le"), Some("+Inf"));
    assert!(whole.iter().any(|s| s.labels.get("le") == Some("1.0")));
}

#[test]
fn an_error_in_the_second_half_names_its_line() {
    let mut src = large_om(40, 1200);
    let lines: Vec<&str> = src.lines().collect();
    let bad = lines.len() - 10;
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[bad - 1] = "req39_total{instance=\"x\" 1".into();
    src = edited.join("\n") + "\n";
    let e = parse_series(&src, Format::OpenMetrics).unwrap_err();
    assert_eq!(e.line, bad, "{}", e.msg);
    let Err(one_pass) = parse_part(&src, Format::OpenMetrics, Part::Whole) else {
        panic!("one pass accepted the bad line");
    };
    assert_eq!(e, one_pass);
}

#[test]
fn metadata_across_the_halves_is_checked_as_in_one_pass() {
    // The first family's TYPE repeated at the end: only one pass sees both.
    let src = large_om(40, 1200).replace("# EOF\n", "# TYPE req0 counter\n# EOF\n");
    let e = parse_series(&src, Format::OpenMetrics).unwrap_err();
    assert!(e.msg.contains("second TYPE line"), "{}", e.msg);
    // A family with samples in both halves (text format allows it) loads as one series.
    let text = large_om(40, 1200).replace(
        "# EOF\n",
        "req0_total{instance=\"host-0:9100\",job=\"j0\"} 9 180\n",
    );
    let series = parse_series(&text, Format::Text).unwrap();
    assert_eq!(
        series,
        parse_part(&text, Format::Text, Part::Whole).unwrap().0
    );
    assert_eq!(series[0].samples.len(), 3);
}

#[test]
fn integer_fast_path_parses_like_the_float_parser() {
    for s in [
        "0",
        "-0",
        "7",
        "-7",
        "000123",
        "1741078560",
        "999999999999999",
        "-999999999999999",
        "1234567890123456",
        "9007199254740993",
    ] {
        let want: f64 = s.parse().unwrap();
        let got = parse_float(s).unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{s}");
    }
    for s in ["", "-", "1_000", "0x10", "--1", "1-"] {
        assert_eq!(parse_float(s), None, "{s:?}");
    }
}
