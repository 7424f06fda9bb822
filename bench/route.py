#!/usr/bin/env python3
"""Driver of benchmark 3 (bench/route.sh): posts N alerts to an
Alertmanager-compatible `/api/v2/alerts` and counts them as they come back
through a webhook receiver it runs itself.

  python3 bench/route.py config --webhook-port P --out FILE
      -> FILE, an alertmanager.yml (routing only; alertgate reads the same keys)
  python3 bench/route.py drive --target http://127.0.0.1:9093 --webhook-port P \
      [--alerts 10000 --batch 100 --timeout 120]
      -> one JSON object on stdout
  python3 bench/route.py summarize --name NAME --command CMD RUNS.jsonl
      -> median/min/max appended to bench/data/results.jsonl, a table row

The alerts: 100 alertnames x 10 instances x 10 shards (N/1000 shards for
other N), labelled {alertname, instance, shard, job, severity}. The routing
groups by [alertname, instance], so 10k alerts make 1,000 groups of 10,
hence 1,000 webhook notifications when every group is complete when it is
flushed. Batches are posted in label order, so a batch of 100 carries 10
whole groups (as a Prometheus sends one rule's alerts together).

The receiver is a small asyncio HTTP/1.1 server (keep-alive, Content-Length
or chunked bodies) that answers 200 with an empty body before parsing, so
the tool under test is not kept waiting, and collects the distinct label
sets of the alerts in the payloads. The client posts the batches one after
the other on one keep-alive connection (as Prometheus's notifier does per
Alertmanager), from a thread of its own, with the bodies encoded before the
clock starts. The clock starts at the first POST and stops when the last
missing label set has arrived; the result says how long the posting took,
how many notifications and alert entries (with repeats) arrived, and how
many distinct alerts. It exits 1 if not every alert arrived in --timeout.
"""

import argparse
import asyncio
import http.client
import json
import resource
import sys
import threading
import time
import urllib.parse

N_ALERTNAMES = 100
N_INSTANCES = 10
GROUP_WAIT_S = 1.0


def alerts(n):
    shards = max(1, -(-n // (N_ALERTNAMES * N_INSTANCES)))
    out = []
    for a in range(N_ALERTNAMES):
        for i in range(N_INSTANCES):
            for s in range(shards):
                if len(out) == n:
                    return out
                out.append({
                    "labels": {"alertname": f"BenchAlert{a:03d}", "instance": f"host-{i:02d}:9100",
                               "shard": f"{s:02d}", "job": "bench", "severity": "warning"},
                    "annotations": {"summary": f"shard {s} of host-{i:02d} is unhappy"},
                    "generatorURL": "http://bench.invalid/graph",
                })
    return out


def key(labels):
    return tuple(sorted(labels.items()))


def config(webhook_port):
    # group_wait: a batch is in before the group is flushed, on both tools;
    # group_interval/repeat_interval long enough that nothing is sent twice
    # within a run.
    return f"""# bench/route.py: one routing config for Alertmanager and alertgate.
global:
  resolve_timeout: 5m
route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: {GROUP_WAIT_S:g}s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{webhook_port}/hook
        send_resolved: false
"""


class Receiver:
    def __init__(self, expected):
        self.expected = expected
        self.seen = set()
        self.notifications = 0
        self.entries = 0
        self.bad = 0
        self.done = asyncio.Event()
        self.done_at = None
        self.first_at = None
        self.arrivals = []

    def record(self, body):
        try:
            payload = json.loads(body)
            alerts_ = payload["alerts"]
        except (ValueError, KeyError, TypeError):
            self.bad += 1
            return
        now = time.perf_counter()
        if self.first_at is None:
            self.first_at = now
        self.notifications += 1
        self.arrivals.append(now)
        for a in alerts_:
            self.entries += 1
            k = key(a.get("labels", {}))
            if k in self.expected:
                self.seen.add(k)
        if len(self.seen) == len(self.expected) and self.done_at is None:
            self.done_at = now
            self.done.set()

    async def handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        parts.append(chunk[:-2])
                    body = b"".join(parts)
                else:
                    body = b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                self.record(body)
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError,
                asyncio.CancelledError):
            # Cancelled: the tool keeps its connection open until we exit.
            pass
        finally:
            writer.close()


def post_all(target, bodies, result):
    u = urllib.parse.urlsplit(target)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    path = u.path.rstrip("/") + "/api/v2/alerts"
    result["start"] = time.perf_counter()
    try:
        for b in bodies:
            conn.request("POST", path, body=b, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            text = r.read()
            if r.status // 100 != 2:
                result["error"] = f"POST {path}: HTTP {r.status}: {text[:200]!r}"
                return
    except OSError as e:
        result["error"] = f"POST {path}: {e}"
        return
    finally:
        result["posted"] = time.perf_counter()
        conn.close()


def proc_cpu(pid):
    """(user s, sys s) of a process so far, from /proc/PID/stat."""
    import os
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def proc_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def drive(a):
    al = alerts(a.alerts)
    expected = {key(x["labels"]) for x in al}
    assert len(expected) == len(al)
    bodies = [json.dumps(al[i:i + a.batch]).encode() for i in range(0, len(al), a.batch)]
    rec = Receiver(expected)
    server = await asyncio.start_server(rec.handle, "127.0.0.1", a.webhook_port, limit=1 << 24)
    post = {}
    cpu0 = proc_cpu(a.pid) if a.pid else (0.0, 0.0)
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    t = threading.Thread(target=post_all, args=(a.target, bodies, post), daemon=True)
    t.start()
    try:
        await asyncio.wait_for(rec.done.wait(), a.timeout)
    except asyncio.TimeoutError:
        pass
    t.join(timeout=5)
    # A moment for repeats that follow the last new alert.
    await asyncio.sleep(a.linger)
    server.close()
    cpu1 = proc_cpu(a.pid) if a.pid else (0.0, 0.0)
    me1 = resource.getrusage(resource.RUSAGE_SELF)
    start = post.get("start", time.perf_counter())
    elapsed = (rec.done_at - start) if rec.done_at else None
    out = {
        "alerts": len(al), "batches": len(bodies), "batch": a.batch,
        "distinct_received": len(rec.seen),
        "notifications": rec.notifications, "alert_entries": rec.entries,
        "unparsable": rec.bad,
        "post_s": post.get("posted", start) - start,
        "first_notification_s": (rec.first_at - start) if rec.first_at else None,
        # When the 10th, 50th and 90th percentile notification arrived.
        "notification_pct_s": [round(sorted(rec.arrivals)[int(q * (len(rec.arrivals) - 1))] - start, 3)
                               for q in (0.1, 0.5, 0.9)] if rec.arrivals else None,
        "elapsed_s": elapsed,
        # Throughput counts the time beyond the group_wait that both tools
        # must honour (no alert can arrive before it).
        "beyond_wait_s": elapsed - a.group_wait if elapsed else None,
        "alerts_per_s": len(al) / max(elapsed - a.group_wait, 1e-3) if elapsed else 0.0,
        "tool_user_s": cpu1[0] - cpu0[0], "tool_sys_s": cpu1[1] - cpu0[1],
        "tool_hwm_mib": proc_hwm_mib(a.pid) if a.pid else None,
        # This driver's own CPU (client and receiver), to show it is not
        # the bottleneck: it should stay well below elapsed_s.
        "driver_cpu_s": round(me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime, 3),
        "error": post.get("error"),
    }
    print(json.dumps(out))
    return 0 if rec.done_at and not post.get("error") else 1


def summarize(a):
    """Median and spread of the per-run JSON lines of one tool, appended to
    results.jsonl in measure.py's shape, printed as a Markdown row."""
    import datetime
    import os
    import statistics
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from measure import machine
    runs = [json.loads(line) for line in open(a.runs_file) if line.strip()]

    def stat(k):
        xs = [r[k] for r in runs]
        return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}

    result = {
        "name": a.name,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "loadavg": open("/proc/loadavg").read().split()[:3],
        "command": a.command, "runs": len(runs),
        "wall_s": stat("elapsed_s"), "post_s": stat("post_s"),
        "beyond_wait_s": stat("beyond_wait_s"),
        "user_s": stat("tool_user_s"), "sys_s": stat("tool_sys_s"),
        "max_rss_mib": stat("tool_hwm_mib"),
        "notifications": stat("notifications"), "alert_entries": stat("alert_entries"),
        "alerts_per_s": stat("alerts_per_s"), "per_run": runs,
    }
    out = os.environ.get("BENCH_RESULTS",
                         os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "results.jsonl"))
    with open(out, "a") as f:
        f.write(json.dumps(result) + "\n")
    w, b, u, s_, m, n, t = (result[k] for k in ("wall_s", "beyond_wait_s", "user_s", "sys_s",
                                               "max_rss_mib", "notifications", "alerts_per_s"))
    print(f"| {a.name} | {w['median']:.3f} s ({w['min']:.3f}–{w['max']:.3f}) "
          f"| {b['median']:.3f} s ({b['min']:.3f}–{b['max']:.3f}) "
          f"| {t['median']:.0f}/s | {u['median']:.2f} s + {s_['median']:.2f} s "
          f"| {m['median']:.1f} MiB ({m['min']:.1f}–{m['max']:.1f}) "
          f"| {n['median']:.0f} | {len(runs)} | {' '.join(result['loadavg'])} |")
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("config")
    c.add_argument("--webhook-port", type=int, required=True)
    c.add_argument("--out", required=True)
    d = sub.add_parser("drive")
    d.add_argument("--target", required=True)
    d.add_argument("--webhook-port", type=int, required=True)
    d.add_argument("--alerts", type=int, default=10000)
    d.add_argument("--batch", type=int, default=100)
    d.add_argument("--timeout", type=float, default=120)
    d.add_argument("--linger", type=float, default=0.5)
    d.add_argument("--pid", type=int, default=0, help="the tool, for its CPU time and VmHWM")
    d.add_argument("--group-wait", type=float, default=GROUP_WAIT_S)
    m = sub.add_parser("summarize")
    m.add_argument("--name", required=True)
    m.add_argument("--command", required=True)
    m.add_argument("runs_file")
    a = ap.parse_args()
    if a.cmd == "summarize":
        return summarize(a)
    if a.cmd == "config":
        with open(a.out, "w") as f:
            f.write(config(a.webhook_port))
        return 0
    return asyncio.run(drive(a))


if __name__ == "__main__":
    sys.exit(main())
