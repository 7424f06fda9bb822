#!/usr/bin/env python3
"""Runs one command several times under `/usr/bin/time -v` and prints the
median and spread of wall time, CPU time and peak memory (max RSS).

  python3 bench/measure.py --name "alertgate check 100k" --runs 5 [--ok 0,1] -- CMD ARGS...

Wall time is measured here (perf_counter around the process, so it includes
the ~1 ms that `time` itself costs); user/sys time and max RSS come from
`time -v`. One warm-up run is made first and not counted, so every counted
run reads its input from the page cache. Each result is appended as one JSON
line to $BENCH_RESULTS (default bench/data/results.jsonl) with the command,
date and machine, and printed as a Markdown table row.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kb / 1048576, 1),
            "kernel": platform.release()}


def run_once(cmd, ok, cwd, stdout):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + cmd, cwd=cwd,
                           stdout=stdout, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        report = tf.read()
    if p.returncode not in ok:
        sys.stderr.write(p.stderr.decode(errors="replace")[-4000:])
        sys.exit(f"measure: {cmd[0]} exited {p.returncode} (accepted: {sorted(ok)})")

    def field(name):
        m = re.search(re.escape(name) + r":\s*([0-9.]+)", report)
        return float(m.group(1)) if m else float("nan")

    return {"wall_s": wall, "user_s": field("User time (seconds)"),
            "sys_s": field("System time (seconds)"),
            "max_rss_mib": field("Maximum resident set size (kbytes)") / 1024,
            "exit": p.returncode}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ok", default="0", help="accepted exit codes, comma-separated")
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    ok = {int(x) for x in a.ok.split(",")}
    devnull = subprocess.DEVNULL
    if not a.no_warmup:
        run_once(cmd, ok, a.cwd, devnull)
    runs = [run_once(cmd, ok, a.cwd, devnull) for _ in range(a.runs)]

    def stat(key):
        xs = [r[key] for r in runs]
        return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}

    result = {
        "name": a.name,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "cwd": os.path.abspath(a.cwd or "."),
        "command": " ".join(cmd),
        "runs": a.runs,
        "wall_s": stat("wall_s"),
        "user_s": stat("user_s"),
        "sys_s": stat("sys_s"),
        "max_rss_mib": stat("max_rss_mib"),
        "exit": runs[0]["exit"],
    }
    out = os.environ.get("BENCH_RESULTS",
                         os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "results.jsonl"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "a") as f:
        f.write(json.dumps(result) + "\n")
    w, m = result["wall_s"], result["max_rss_mib"]
    u = result["user_s"]
    print(f"| {a.name} | {w['median']:.3f} s ({w['min']:.3f}–{w['max']:.3f}) "
          f"| {u['median']:.2f} s | {m['median']:.1f} MiB ({m['min']:.1f}–{m['max']:.1f}) "
          f"| {a.runs} | exit {result['exit']} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
