#!/usr/bin/env python3
"""Generates the inputs of the benchmarks in bench/ (never committed).

One synthetic fleet feeds every benchmark: `instances` targets in 10 jobs,
each exporting SERIES_PER_INSTANCE series (up, HTTP counters and a latency
histogram, node CPU/filesystem/network, process memory, queues, a job
pipeline, a cache, DB connections, build info). A few instances misbehave on
purpose (down, 5xx-heavy, slow, disk nearly full, CPU-bound, queue backlog,
restarted, network-saturated, wrong version), so that about a third of the 50 rules in
rules.yml fire. Every series is a list of linear segments, which renders both
as explicit samples (OpenMetrics, for `alertgate check`) and as promtool's
expanding notation (`a+bxn`, for `promtool test rules` / `alertgate test`).

  python3 bench/gen.py check    --series 100000 --samples 5 --out bench/data/check-100k
      -> rules.yml, snapshot.om, at.txt (the --at to use)
  python3 bench/gen.py unittest --series 2000 --minutes 60 --out bench/data/unit-2k
      -> rules.yml, test.yml (promtool unit-test file)

The series count is rounded up to whole instances and printed.
"""

import argparse
import os
import sys

T_END = 1741078800  # 2025-03-04T09:00:00Z: the evaluation time of `check`
STEP = 60  # seconds between samples

JOBS = ["api", "web", "auth", "search", "billing", "orders", "cart", "media", "mail", "reports"]
HANDLERS = ["/", "/api/v1/items", "/api/v1/users"]
METHODS = ["GET", "POST"]
CODES = ["200", "201", "404", "500", "503"]
LE = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"]
CPUS = 4
CPU_MODES = ["idle", "user", "system", "iowait"]
MOUNTS = ["/", "/data", "/var/log", "/tmp"]
NET_DEVICES = ["eth0", "eth1"]
QUEUES = ["ingest", "email", "export"]


def faulty(i, modulus, offset):
    """Instance `i` has the fault that (modulus, offset) stands for."""
    return i % modulus == offset


def fleet(instances, points):
    """Yields (family, type, sample_name, labels, segments) for every series.

    `points` samples per series, one per STEP; segments are (start, step, n)
    with n+1 values each except the first value of later segments, exactly
    promtool's `start+stepxn` (segments are concatenated).
    """
    n = points - 1

    def lin(start, step):
        return [(start, step, n)]

    for i in range(instances):
        job = JOBS[i % len(JOBS)]
        inst = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}:9100"
        base = {"job": job, "instance": inst}
        down = faulty(i, 157, 3)
        errors = faulty(i, 97, 5)
        slow = faulty(i, 89, 7)
        disk_full = faulty(i, 113, 11)
        cpu_busy = faulty(i, 131, 13)
        backlog = faulty(i, 61, 17)
        restarted = faulty(i, 199, 19)

        yield ("up", "gauge", "up", base, lin(0 if down else 1, 0))
        for h in HANDLERS:
            for m in METHODS:
                for c in CODES:
                    per_min = {"200": 600, "201": 60, "404": 12, "500": 1, "503": 1}[c]
                    if errors and c in ("500", "503"):
                        per_min = 120
                    if m == "POST":
                        per_min //= 2
                    labels = dict(base, handler=h, method=m, code=c)
                    yield ("http_requests", "counter", "http_requests_total", labels,
                           lin(1000 + i, per_min))
        # Latency histogram: 300 observations a minute, spread over the buckets.
        shares = [0.05, 0.15, 0.3, 0.2, 0.15, 0.08, 0.04, 0.02, 0.01, 0, 0, 0]
        if slow:
            shares = [0, 0, 0, 0.01, 0.02, 0.07, 0.2, 0.3, 0.3, 0.08, 0.02, 0]
        cum = 0.0
        for le, share in zip(LE, shares):
            cum += share * 300
            yield ("http_request_duration_seconds", "histogram",
                   "http_request_duration_seconds_bucket", dict(base, le=le), lin(0, round(cum)))
        mean = 1.2 if slow else 0.04
        yield ("http_request_duration_seconds", "histogram", "http_request_duration_seconds_sum",
               base, lin(0, round(300 * mean, 3)))
        yield ("http_request_duration_seconds", "histogram", "http_request_duration_seconds_count",
               base, lin(0, 300))
        yield ("http_inflight_requests", "gauge", "http_inflight_requests", base,
               lin(200 if errors else 5, 0))
        for cpu in range(CPUS):
            for mode in CPU_MODES:
                share = {"idle": 0.7, "user": 0.2, "system": 0.07, "iowait": 0.03}[mode]
                if cpu_busy:
                    share = {"idle": 0.02, "user": 0.7, "system": 0.18, "iowait": 0.1}[mode]
                yield ("node_cpu_seconds", "counter", "node_cpu_seconds_total",
                       dict(base, cpu=str(cpu), mode=mode), lin(100000 + i, round(60 * share, 2)))
        for mp in MOUNTS:
            size = 100e9
            avail = 4e9 if (disk_full and mp == "/data") else 60e9
            drain = -20e6 if (disk_full and mp == "/data") else 0
            labels = dict(base, mountpoint=mp, fstype="ext4")
            yield ("node_filesystem_avail_bytes", "gauge", "node_filesystem_avail_bytes", labels,
                   lin(avail, drain))
            yield ("node_filesystem_size_bytes", "gauge", "node_filesystem_size_bytes", labels,
                   lin(size, 0))
        saturated = faulty(i, 83, 29)
        for dev in NET_DEVICES:
            labels = dict(base, device=dev)
            rx = 6e8 if dev == "eth0" else 6e6
            if saturated and dev == "eth0":
                rx = 6e9
            yield ("node_network_receive_bytes", "counter", "node_network_receive_bytes_total",
                   labels, lin(1e9, rx))
            yield ("node_network_transmit_bytes", "counter", "node_network_transmit_bytes_total",
                   labels, lin(1e9, 3e8 if dev == "eth0" else 3e6))
        mem = 2.5e9 if faulty(i, 73, 23) else 400e6
        yield ("process_resident_memory_bytes", "gauge", "process_resident_memory_bytes", base,
               lin(mem, 1e6 if mem > 1e9 else 0))
        if restarted and n >= 2:
            half = n // 2
            cpu_segs = [(5000.0, 30, half), (0.0, 30, n - half - 1)]
        else:
            cpu_segs = lin(5000.0, 30)
        yield ("process_cpu_seconds", "counter", "process_cpu_seconds_total", base, cpu_segs)
        for q in QUEUES:
            depth, growth = (1500, 40) if (backlog and q == "ingest") else (20, 0)
            yield ("queue_messages", "gauge", "queue_messages", dict(base, queue=q),
                   lin(depth, growth))
        for result, per_min in (("success", 100), ("failure", 30 if errors else 1)):
            yield ("jobs_processed", "counter", "jobs_processed_total", dict(base, result=result),
                   lin(0, per_min))
        for result, per_min in (("hit", 20 if slow else 900), ("miss", 100)):
            yield ("app_cache_requests", "counter", "app_cache_requests_total",
                   dict(base, result=result), lin(0, per_min))
        for state, count in (("active", 95 if errors else 10), ("idle", 5 if errors else 40)):
            yield ("db_connections", "gauge", "db_connections", dict(base, state=state),
                   lin(count, 0))
        version = "1.4.1" if (job == "orders" and i % 3 == 0) else "1.4.2"
        yield ("build", "info", "build_info", dict(base, version=version), lin(1, 0))


def series_per_instance():
    return sum(1 for _ in fleet(1, 2))


def values(segments):
    out = []
    for start, step, n in segments:
        out.extend(start + step * j for j in range(n + 1))
    return out


def fmt(v):
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(round(v, 6))


def notation(segments):
    parts = []
    for start, step, n in segments:
        sign = "+" if step >= 0 else "-"
        parts.append(f"{fmt(start)}{sign}{fmt(abs(step))}x{n}")
    return " ".join(parts)


def label_text(labels, name):
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


RULES = r"""# 50 rules over the synthetic fleet of bench/gen.py: 12 recording rules and
# 38 alerts (rate/increase over counters, histogram_quantile over buckets,
# sum by, ratios with on/ignoring, comparisons, absent, recording rules that
# feed alerts, *_over_time, topk, label_replace, group_left).
groups:
  - name: recording
    interval: 1m
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - record: job:http_requests_5xx:rate5m
        expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))
      - record: job:http_requests_5xx:ratio_rate5m
        expr: job:http_requests_5xx:rate5m / job:http_requests:rate5m
      - record: instance:http_requests_5xx:ratio_rate5m
        expr: sum by (job, instance) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job, instance) (rate(http_requests_total[5m]))
      - record: job:http_request_duration_seconds:p99_rate5m
        expr: histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))
      - record: instance:http_request_duration_seconds:p95_rate5m
        expr: histogram_quantile(0.95, sum by (job, instance, le) (rate(http_request_duration_seconds_bucket[5m])))
      - record: job:http_request_duration_seconds:mean_rate5m
        expr: sum by (job) (rate(http_request_duration_seconds_sum[5m])) / sum by (job) (rate(http_request_duration_seconds_count[5m]))
      - record: instance:node_cpu_utilisation:rate5m
        expr: 1 - avg by (job, instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))
      - record: instance_mountpoint:node_filesystem_avail:ratio
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes
      - record: job:up:ratio
        expr: avg by (job) (up)
      - record: job:jobs_processed_failed:ratio_rate5m
        expr: sum by (job) (rate(jobs_processed_total{result="failure"}[5m])) / on (job) sum by (job) (rate(jobs_processed_total[5m]))
      - record: instance:app_cache_hit:ratio_rate5m
        expr: sum by (job, instance) (rate(app_cache_requests_total{result="hit"}[5m])) / sum by (job, instance) (rate(app_cache_requests_total[5m]))

  - name: availability
    interval: 1m
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 2m
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.job }} is down"
      - alert: JobMostlyDown
        expr: job:up:ratio < 0.95
        labels: {severity: critical}
        annotations:
          summary: "{{ $value | humanizePercentage }} of {{ $labels.job }} is up"
      - alert: TooManyInstancesDown
        expr: count by (job) (up == 0) > 2
        labels: {severity: critical}
      - alert: InstanceFlapping
        expr: avg_over_time(up[5m]) < 0.5 and avg_over_time(up[5m]) > 0
        labels: {severity: warning}
      - alert: PaymentsTargetMissing
        expr: absent(up{job="payments"})
        labels: {severity: critical}
        annotations:
          summary: "No payments target is scraped"
      - alert: ApiTargetMissing
        expr: absent(up{job="api"})
        labels: {severity: critical}
      - alert: NightlyMetricMissing
        expr: absent(nightly_export_last_success_timestamp_seconds)
        labels: {severity: info}
      - alert: ProcessRestarted
        expr: resets(process_cpu_seconds_total[5m]) > 0
        labels: {severity: info}
      - alert: HostnameDown
        expr: label_replace(up, "host", "$1", "instance", "(.*):.*") == 0
        for: 1m
        labels: {severity: warning}
      - alert: VersionMismatch
        expr: count by (job) (count by (job, version) (build_info)) > 1
        labels: {severity: warning}

  - name: http
    interval: 1m
    rules:
      - alert: JobHighErrorRatio
        expr: job:http_requests_5xx:ratio_rate5m > 0.01
        for: 1m
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.job }}: {{ $value | humanizePercentage }} of requests fail"
      - alert: InstanceHighErrorRatio
        expr: instance:http_requests_5xx:ratio_rate5m > 0.05
        for: 2m
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.instance }}: {{ $value | humanizePercentage }} 5xx"
      - alert: HandlerHighErrorRatio
        expr: sum by (job, handler) (rate(http_requests_total{code=~"5.."}[5m])) / on (job, handler) sum by (job, handler) (rate(http_requests_total[5m])) > 0.01
        labels: {severity: warning}
      - alert: ErrorBudgetBurn
        expr: (job:http_requests_5xx:ratio_rate5m > 14.4 * 0.001) and on (job) (sum by (job) (rate(http_requests_total{code=~"5.."}[2m])) / sum by (job) (rate(http_requests_total[2m])) > 14.4 * 0.001)
        labels: {severity: critical}
      - alert: Unavailable503
        expr: sum by (job, instance) (rate(http_requests_total{code="503"}[5m])) > on (job, instance) 0.05 * sum by (job, instance) (rate(http_requests_total{code="200"}[5m]))
        labels: {severity: warning}
      - alert: MethodErrors
        expr: sum without (handler, code) (rate(http_requests_total{code="500"}[5m])) / ignoring (code) sum without (handler, code) (rate(http_requests_total{code="200"}[5m])) > 0.1
        labels: {severity: warning}
      - alert: TopErrorInstances
        expr: topk(3, instance:http_requests_5xx:ratio_rate5m) > 0.2
        labels: {severity: info}
      - alert: ErrorsOnOldVersion
        expr: instance:http_requests_5xx:ratio_rate5m * on (job, instance) group_left (version) build_info{version!="1.4.2"} > 0.05
        labels: {severity: warning}
      - alert: NoTraffic
        expr: sum by (job) (increase(http_requests_total[5m])) == 0
        labels: {severity: critical}
      - alert: TooManyInflight
        expr: sum by (job) (http_inflight_requests) > 1000
        labels: {severity: warning}
      - alert: NotFoundSpike
        expr: sum by (job) (increase(http_requests_total{code="404"}[5m])) > 100000
        labels: {severity: info}

  - name: latency
    interval: 1m
    rules:
      - alert: JobLatencyP99High
        expr: job:http_request_duration_seconds:p99_rate5m > 1
        labels: {severity: warning}
        annotations:
          summary: "p99 latency of {{ $labels.job }} is {{ $value | humanizeDuration }}"
      - alert: InstanceLatencyP95High
        expr: instance:http_request_duration_seconds:p95_rate5m > 0.5
        for: 2m
        labels: {severity: warning}
      - alert: FleetLatencyP50High
        expr: histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.3
        labels: {severity: critical}
      - alert: MeanLatencyHigh
        expr: job:http_request_duration_seconds:mean_rate5m > 0.2
        labels: {severity: warning}
      - alert: SlowRequestsShare
        expr: 1 - sum by (job, instance) (rate(http_request_duration_seconds_bucket{le="0.5"}[5m])) / sum by (job, instance) (rate(http_request_duration_seconds_count[5m])) > 0.25
        labels: {severity: warning}
      - alert: CacheHitRatioLow
        expr: instance:app_cache_hit:ratio_rate5m < 0.5
        labels: {severity: warning}

  - name: resources
    interval: 1m
    rules:
      - alert: HostCpuHigh
        expr: instance:node_cpu_utilisation:rate5m > 0.9
        for: 2m
        labels: {severity: warning}
        annotations:
          summary: "CPU of {{ $labels.instance }} at {{ $value | humanizePercentage }}"
      - alert: HostIowaitHigh
        expr: avg by (job, instance) (rate(node_cpu_seconds_total{mode="iowait"}[5m])) > 0.08
        labels: {severity: info}
      - alert: DiskSpaceLow
        expr: instance_mountpoint:node_filesystem_avail:ratio < 0.05
        labels: {severity: critical}
      - alert: DiskFillingUp
        expr: predict_linear(node_filesystem_avail_bytes[5m], 4 * 3600) < 0
        labels: {severity: warning}
      - alert: NetworkReceiveHigh
        expr: rate(node_network_receive_bytes_total[5m]) > 5e7
        labels: {severity: info}
      - alert: MemoryHigh
        expr: process_resident_memory_bytes > 2e9
        for: 1m
        labels: {severity: warning}
      - alert: MemoryGrowing
        expr: deriv(process_resident_memory_bytes[5m]) > 10000
        labels: {severity: info}
      - alert: DbConnectionsExhausted
        expr: db_connections{state="active"} / ignoring (state) (db_connections{state="active"} + ignoring (state) db_connections{state="idle"}) > 0.9
        labels: {severity: critical}

  - name: pipelines
    interval: 1m
    rules:
      - alert: QueueBacklog
        expr: max by (job, instance, queue) (queue_messages) > 1000
        labels: {severity: warning}
      - alert: QueueGrowing
        expr: delta(queue_messages[5m]) > 100
        labels: {severity: warning}
      - alert: QueueP90High
        expr: quantile_over_time(0.9, queue_messages[5m]) > 800
        labels: {severity: info}
"""

# Exactly the rule counts the docs promise.
assert RULES.count("- record:") == 12 and RULES.count("- alert:") == 38, (
    RULES.count("- record:"), RULES.count("- alert:"))


def instances_for(series):
    per = series_per_instance()
    return -(-series // per), per


def write_check(args):
    instances, per = instances_for(args.series)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "rules.yml"), "w") as f:
        f.write(RULES)
    t0 = T_END - (args.samples - 1) * STEP
    times = [str(t0 + k * STEP) for k in range(args.samples)]
    # OpenMetrics wants each family in one block: collect per family first.
    families = {}
    for fam, kind, name, labels, segs in fleet(instances, args.samples):
        families.setdefault((fam, kind), []).append((name, labels, segs))
    with open(os.path.join(args.out, "snapshot.om"), "w") as f:
        for (fam, kind), rows in families.items():
            f.write(f"# TYPE {fam} {kind}\n")
            for name, labels, segs in rows:
                lt = label_text(labels, name)
                for t, v in zip(times, values(segs)):
                    f.write(f"{lt} {fmt(v)} {t}\n")
        f.write("# EOF\n")
    with open(os.path.join(args.out, "at.txt"), "w") as f:
        f.write(f"{T_END}\n")
    print(f"{args.out}: {instances * per} series ({instances} instances x {per}), "
          f"{args.samples} samples each, --at {T_END}", file=sys.stderr)


def write_unittest(args):
    instances, per = instances_for(args.series)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "rules.yml"), "w") as f:
        f.write(RULES)
    down = sum(1 for i in range(instances) if faulty(i, 157, 3))
    with open(os.path.join(args.out, "test.yml"), "w") as f:
        f.write("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n")
        f.write("  - interval: 1m\n    input_series:\n")
        for _fam, _kind, name, labels, segs in fleet(instances, args.minutes + 1):
            series = label_text(labels, name).replace("'", "''")
            f.write(f"      - series: '{series}'\n        values: '{notation(segs)}'\n")
        # promtool evaluates every group at every interval up to the latest
        # eval_time, so one check at the end replays the whole hour.
        f.write(f"    alert_rule_test:\n      - eval_time: {args.minutes}m\n"
                f"        alertname: ApiTargetMissing\n        exp_alerts: []\n")
        f.write(f"    promql_expr_test:\n      - expr: count(up == 0)\n"
                f"        eval_time: {args.minutes}m\n")
        if down:
            f.write(f"        exp_samples:\n          - labels: '{{}}'\n            value: {down}\n")
        else:
            f.write("        exp_samples: []\n")
    print(f"{args.out}: {instances * per} series ({instances} instances x {per}), "
          f"{args.minutes} minutes, {down} instances down", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--series", type=int, default=100_000)
    c.add_argument("--samples", type=int, default=5)
    c.add_argument("--out", required=True)
    u = sub.add_parser("unittest")
    u.add_argument("--series", type=int, default=2_000)
    u.add_argument("--minutes", type=int, default=60)
    u.add_argument("--out", required=True)
    args = p.parse_args()
    if args.cmd == "check":
        if args.samples < 1:
            p.error("--samples must be at least 1")
        write_check(args)
    else:
        write_unittest(args)


if __name__ == "__main__":
    main()
