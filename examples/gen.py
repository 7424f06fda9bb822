#!/usr/bin/env python3
"""Generates the example snapshots for the rule packs in rules/.

Each pack gets a breaching and a clean snapshot. Rate/increase-based packs get
OpenMetrics text with timestamps (one sample per minute for 70 minutes, from
T0 = 2025-03-04T08:00:00Z to AT = 2025-03-04T09:10:00Z, ending with `# EOF`),
the format `alertgate check --snapshot` and `promtool tsdb
create-blocks-from openmetrics` both read. Packs whose runbook uses a JSON KPI
snapshot get JSON files. Evaluate every example at AT.

Run from anywhere: `python3 examples/gen.py [--out DIR]`; the output is
committed (tests/rule_packs.rs checks that it is up to date).
"""

import json
import os
import sys

T0 = 1741075200  # 2025-03-04T08:00:00Z
MINUTES = 70  # samples at T0 + 0m .. T0 + 70m
AT = "2025-03-04T09:10:00Z"  # = T0 + 70m, the --at for every example

OUT = os.path.dirname(os.path.abspath(__file__))


class OpenMetrics:
    """Collects metric families and writes them in OpenMetrics text format."""

    def __init__(self):
        self.families = []  # (name, type, [(sample_name, labels, [(minute, value)])])

    def family(self, name, kind):
        fam = (name, kind, [])
        self.families.append(fam)
        return fam[2]

    def counter(self, name, labels, per_minute, start=0.0):
        """A counter named `name`_total; per_minute(m) is the increase in minute m."""
        series = self._get(name, "counter")
        points, value = [], start
        for m in range(MINUTES + 1):
            if m > 0:
                value += per_minute(m)
            points.append((m, value))
        series.append((name + "_total", labels, points))

    def gauge(self, name, labels, at_minute):
        series = self._get(name, "gauge")
        series.append((name, labels, [(m, at_minute(m)) for m in range(MINUTES + 1)]))

    def histogram(self, name, labels, bounds, per_minute):
        """per_minute(m) returns the observations of minute m as a list of values."""
        series = self._get(name, "histogram")
        cum = [0] * (len(bounds) + 1)
        total, count = 0.0, 0
        rows = {b: [] for b in range(len(bounds) + 1)}
        sums, counts = [], []
        for m in range(MINUTES + 1):
            if m > 0:
                for v in per_minute(m):
                    for i, b in enumerate(bounds):
                        if v <= b:
                            cum[i] += 1
                    cum[-1] += 1
                    total += v
                    count += 1
            for i in range(len(bounds) + 1):
                rows[i].append((m, cum[i]))
            sums.append((m, total))
            counts.append((m, count))
        les = [fmt(b) for b in bounds] + ["+Inf"]
        for i, le in enumerate(les):
            series.append((name + "_bucket", dict(labels, le=le), rows[i]))
        series.append((name + "_sum", labels, sums))
        series.append((name + "_count", labels, counts))

    def _get(self, name, kind):
        for fam in self.families:
            if fam[0] == name:
                return fam[2]
        return self.family(name, kind)

    def write(self, path):
        out = []
        for name, kind, series in self.families:
            out.append(f"# TYPE {name} {kind}")
            for sample, labels, points in series:
                lbl = ",".join(f'{k}="{v}"' for k, v in labels.items())
                for m, v in points:
                    out.append(f"{sample}{{{lbl}}} {fmt(v)} {T0 + 60 * m}")
        out.append("# EOF")
        write(path, "\n".join(out) + "\n")


def fmt(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def write(path, text):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def stage0(breach):
    """Runbook 004: solver counters and the phase-duration histogram."""
    om = OpenMetrics()
    inst = {"job": "shift-optimizer", "instance": "opt-1:8000"}
    # Two solver runs per minute. As in the runbook's prometheus_metrics.py,
    # the runs counter has no `phase` label.
    om.counter("solver_signature_runs", inst, lambda m: 2, start=500)
    overruns = (45, 55, 65) if breach else ()
    om.counter("solver_budget_overrun", dict(inst, phase="total"),
               lambda m: 1 if m in overruns else 0, start=1)
    # Overruns of another phase must not count.
    om.counter("solver_budget_overrun", dict(inst, phase="construction"),
               lambda m: 1 if m % 7 == 0 else 0, start=4)

    def total_runtimes(m):
        if breach and m > 50:
            return [105.0, 140.0]  # every other run lands in (126, 150]
        return [75.0, 105.0]

    bounds = [30, 60, 90, 120, 126, 150, 180]
    om.histogram("solver_phase_duration_seconds", dict(inst, phase="total"), bounds, total_runtimes)
    om.histogram("solver_phase_duration_seconds", dict(inst, phase="construction"), bounds,
                 lambda m: [170.0, 175.0])
    om.counter("solver_infeasible", inst, lambda m: 1 if m % 8 == 0 else 0, start=3)
    om.counter("solver_signature_unique", inst, lambda m: 1, start=250)
    om.counter("solver_set_partitioning", dict(inst, status="ok"), lambda m: 2, start=480)
    om.counter("solver_set_partitioning", dict(inst, status="timeout"),
               lambda m: 1 if breach and m in (60, 66) else 0, start=0)
    om.counter("solver_set_partitioning", dict(inst, status="fallback"), lambda m: 0, start=2)
    om.write(f"stage0-canary/{'breach' if breach else 'clean'}.om")


def golive(breach):
    """Runbook 002: per-environment backend metrics (staging and production)."""
    om = OpenMetrics()
    # code 503 per 1000 requests/minute, failed readiness checks per 2000/minute,
    # failed pushes per 500/minute, minute after which info logs stop.
    spec = {
        "staging": dict(e5xx=30 if breach else 10, ready_fail=6 if breach else 4,
                        push_fail=20 if breach else 10, info_until=50 if breach else 999,
                        http=[0.05] * 60 + [0.2] * 36 + [0.4] * 4,
                        mongo=[0.05] * 50 + [0.2] * 30 + [0.3] * 10 + [0.45] * 10
                        if breach else [0.05] * 60 + [0.2] * 30 + [0.3] * 7 + [0.45] * 3),
        "production": dict(e5xx=15 if breach else 3, ready_fail=6 if breach else 1,
                           push_fail=20 if breach else 5, info_until=55 if breach else 999,
                           http=[0.05] * 40 + [0.2] * 30 + [0.4] * 20 + [0.7] * 10
                           if breach else [0.05] * 60 + [0.2] * 36 + [0.4] * 4,
                           mongo=[0.05] * 50 + [0.2] * 30 + [0.3] * 10 + [0.45] * 10
                           if breach else [0.05] * 60 + [0.2] * 30 + [0.3] * 7 + [0.45] * 3),
    }
    for env, s in spec.items():
        lbl = {"job": "backend", "instance": f"api-{env}-1", "env": env}
        om.counter("http_requests", dict(lbl, code="200"), lambda m, s=s: 980 - s["e5xx"], start=10**6)
        om.counter("http_requests", dict(lbl, code="404"), lambda m: 20, start=2 * 10**4)
        om.counter("http_requests", dict(lbl, code="503"), lambda m, s=s: s["e5xx"], start=10**3)
        om.histogram("http_request_duration_seconds", lbl, [0.1, 0.3, 0.5, 1],
                     lambda m, s=s: s["http"])
        om.counter("readiness_checks", dict(lbl, result="success"),
                   lambda m, s=s: 2000 - s["ready_fail"], start=10**5)
        om.counter("readiness_checks", dict(lbl, result="failure"),
                   lambda m, s=s: s["ready_fail"], start=100)
        om.histogram("mongodb_command_duration_seconds", lbl, [0.1, 0.25, 0.4, 0.5, 1],
                     lambda m, s=s: s["mongo"])
        om.counter("push_notifications", dict(lbl, result="delivered"),
                   lambda m, s=s: 500 - s["push_fail"], start=5 * 10**4)
        om.counter("push_notifications", dict(lbl, result="failed"),
                   lambda m, s=s: s["push_fail"], start=700)
        om.counter("log_messages", dict(lbl, level="info"),
                   lambda m, s=s: 50 if m <= s["info_until"] else 0, start=10**4)
        om.counter("log_messages", dict(lbl, level="debug"), lambda m: 200, start=10**5)
    om.write(f"golive/{'breach' if breach else 'clean'}.om")


def outbox(breach):
    """Runbook 003: the ops metrics of the outbox publisher and inbox worker."""
    om = OpenMetrics()
    lbl = {"job": "0admin-ops", "instance": "ops-1:8080"}
    om.gauge("publisher_lag_ms", lbl,
             lambda m: 1200 + max(0, m - 40) * 15000 if breach else 1200 + (m % 3) * 400)
    om.gauge("dlq_size", lbl, lambda m: 3 if breach and m >= 62 else 0)
    om.counter("parse_failures", lbl,
               lambda m: 4 if breach and m > 60 else (1 if m % 10 == 0 else 0), start=57)
    om.write(f"outbox-hardening/{'breach' if breach else 'clean'}.om")
    # The runbook's checker reads the JSON of /api/v1/ops/metrics; nested keys
    # join with `_` (publisher.lag_ms -> publisher_lag_ms).
    snap = {
        "publisher": {"lag_ms": 451200 if breach else 1600},
        "dlq": {"size": 3 if breach else 0},
        "parse_failures_total": 101 if breach else 64,
    }
    write(f"outbox-hardening/{'breach' if breach else 'clean'}.json", json.dumps(snap, indent=2) + "\n")


def dunning(breach):
    """Runbooks 000/001: the daily KPI JSON of one tenant."""
    if breach:
        # error_rate, dlq_depth, retry_depth and hard_bounce_rate are the
        # values of runbook 000's example alarms.
        snap = {"success_rate": 0.955, "error_rate": 0.035, "dlq_depth": 12, "retry_depth": 72,
                "hard_bounce_rate": 0.08, "notices_sent": 250, "hard_bounces": 20,
                "brevo": {"lag_seconds": 95}}
    else:
        snap = {"success_rate": 0.991, "error_rate": 0.004, "dlq_depth": 0, "retry_depth": 50,
                "hard_bounce_rate": 0.012, "notices_sent": 250, "hard_bounces": 3,
                "brevo": {"lag_seconds": 48}}
    write(f"dunning-kpis/{'breach' if breach else 'clean'}.json", json.dumps(snap, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--out":
        OUT = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit("usage: gen.py [--out DIR]")
    for b in (True, False):
        stage0(b)
        golive(b)
        outbox(b)
        dunning(b)
