#!/usr/bin/env python3
"""Turn bench/run.sh's results (JSON lines) into docs/benchmarks.md: `report.py RESULTS DURATION`."""

import datetime
import json
import os
import subprocess
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")
SCENARIOS = [
    ("filter", 'GET /Users?filter=userName eq "user{n}@example.com"', "direct_filter",
     "GET /api/v1/users?username=user{n}@example.com"),
    ("get", "GET /Users/{id}", "direct_get", "GET /api/v1/users/{id}"),
    ("create", "POST /Users (unique userName)", None, None),
    ("patch", "PATCH /Users/{id} (Entra: active, name.familyName, displayName)", None, None),
    ("group_add", "PATCH /Groups/{gid} Add members (one member)", None, None),
]
PASSES = [("10000", "none", "10,000 users, plain HTTP"),
          ("10000", "files", "10,000 users, TLS (gateway terminates TLS; direct stays plain HTTP)"),
          ("100000", "none", "100,000 users, plain HTTP")]
READS = {"filter", "get"}
MAX_CALLS = {"filter": 1, "get": 1, "create": 1, "patch": 2, "group_add": 2}
CALLS_TARGET = {"filter": "= 1", "get": "= 1", "create": "= 1", "patch": "≤ 2", "group_add": None}
MB = 1024.0


# The hand-written profile section (callgrind figures), copied in verbatim.
PROFILE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile.md")


def mark(ok):
    return "met" if ok else "**missed**"


def load(path):
    runs, memory = {}, {}
    with open(path) as results:
        for line in results:
            row = json.loads(line)
            if "memory" in row:
                memory[(row["pass"], row["mode"])] = row["memory"]
                continue
            w = row["wrk"]
            requests = max(w["requests"], 1)
            runs[(row["pass"], row["mode"], row["target"], row["scenario"], row["conc"])] = {
                "rps": w["requests"] / (w["duration_us"] / 1e6),
                "p50": w["p50"], "p99": w["p99"],
                "cpu_us": row["cpu_ticks"] * 1e6 / CLK_TCK / requests,
                "calls": row["backend_calls"] / requests,
                "errors": w["errors_status"] + w["errors_connect"] + w["errors_read"]
                + w["errors_write"] + w["errors_timeout"],
                "requests": w["requests"],
                "conc": row["conc"],
            }
    return runs, memory


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":!docs/benchmarks.md"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return os.cpu_count(), model, commit + ("-dirty" if dirty else "")


def us(value):
    return f"{value / 1000:.2f} ms" if value >= 10000 else f"{value:.0f} µs"


def main():
    runs, memory = load(sys.argv[1])
    duration = sys.argv[2]
    cores, model, commit = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    w = out.append
    w("# Benchmarks")
    w("")
    w("Produced by `bench/run.sh` (issue 7); rerun it to refresh this page. The release gateway")
    w("(`scimgate serve`, log level warn, sqlite store in a temp dir) runs in front of the bundled")
    w("example API (`scimgate example-api --seed-users N`), on loopback, with the `mappings/demo.yaml`")
    w("mapping; the same reads are also sent to the example API directly. Load generator: `wrk`")
    w(f"(one Lua script, `bench/scimgate.lua`), {duration} per scenario, at concurrency 1 (1 thread)")
    w("and 32 (2 threads); users and ids are picked at random among the seeded ones.")
    w("")
    w(f"- Date: {now}")
    w(f"- Machine: {cores} cores, {model}; load generator, gateway and example API share them")
    w(f"- Commit: `{commit}`")
    with open("/proc/loadavg") as loadavg:
        load_average = " / ".join(loadavg.read().split()[:3])
    w(f"- Load average (1 / 5 / 15 min) when the report was written: {load_average}; other jobs share "
      "the machine, so wall-clock figures vary between runs (CPU/req and instruction counts much less)")
    w("")
    w("Columns: requests/s and latency percentiles from wrk; *ratio* = gateway req/s ÷ direct req/s;")
    w("*added p50* = gateway p50 − direct p50; *CPU/req* = the gateway process's utime+stime")
    w(f"(`/proc/PID/stat`, {CLK_TCK} ticks/s) over the run ÷ requests; *calls/op* = the example API's")
    w("`GET /_admin/calls` total over the run ÷ requests (up to *c* requests still in flight when")
    w("wrk stops made calls but are not counted, so the target allows that much slack); *errors* = non-2xx answers and socket errors.")
    w("")
    w("Targets (issue 7): gateway ≥ 0.9× direct throughput on reads; ≤ 100 µs added at p50; 1")
    w("backend call per read and create, ≤ 2 per PATCH; filter cost not growing from 10k to 100k")
    w("users; RSS ≤ 32 MB idle and ≤ 96 MB with 512 open connections.")
    w("")

    summary = []
    for pass_, mode, title in PASSES:
        if not any(k[0] == pass_ and k[1] == mode for k in runs):
            continue
        w(f"## {title}")
        w("")
        w("| Scenario | c | Gateway req/s | p50 | p99 | Direct req/s | p50 | p99 | Ratio | Added p50 "
          "| CPU/req | Calls/op | Errors | Targets |")
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
        for scenario, label, direct, _ in SCENARIOS:
            for conc in (1, 32):
                g = runs.get((pass_, mode, "gateway", scenario, conc))
                if g is None:
                    continue
                d = runs.get((pass_, "none", "direct", direct, conc)) if direct else None
                targets = []
                cells = [label, str(conc), f"{g['rps']:.0f}", us(g["p50"]), us(g["p99"])]
                if d:
                    ratio = g["rps"] / d["rps"]
                    added = g["p50"] - d["p50"]
                    cells += [f"{d['rps']:.0f}", us(d["p50"]), us(d["p99"]), f"{ratio:.2f}×",
                              f"{added:.0f} µs"]
                    targets.append(f"ratio ≥ 0.9: {mark(ratio >= 0.9)}")
                    targets.append(f"added ≤ 100 µs: {mark(added <= 100)}")
                    summary.append((f"{title.split(',')[0]}, {mode}, {scenario} c={conc}",
                                    ratio, added))
                else:
                    cells += ["", "", "", "", ""]
                cells += [f"{g['cpu_us']:.0f} µs", f"{g['calls']:.2f}", str(g["errors"])]
                target = CALLS_TARGET[scenario]
                if target:
                    # Requests in flight when wrk stops made calls but are not counted as requests.
                    slack = (g["requests"] + conc) / max(g["requests"], 1)
                    targets.append(f"calls {target}: {mark(g['calls'] <= MAX_CALLS[scenario] * slack)}")
                cells.append("; ".join(targets))
                w("| " + " | ".join(cells) + " |")
        w("")

    w("## Filter cost, 10,000 → 100,000 users")
    w("")
    w("| c | Gateway p50 10k → 100k | Direct p50 10k → 100k | Gateway CPU/req 10k → 100k | Target |")
    w("|--:|--:|--:|--:|---|")
    for conc in (1, 32):
        g10 = runs.get(("10000", "none", "gateway", "filter", conc))
        g100 = runs.get(("100000", "none", "gateway", "filter", conc))
        d10 = runs.get(("10000", "none", "direct", "direct_filter", conc))
        d100 = runs.get(("100000", "none", "direct", "direct_filter", conc))
        if not (g10 and g100 and d10 and d100):
            continue
        growth = g100["p50"] / max(g10["p50"], 1)
        w(f"| {conc} | {us(g10['p50'])} → {us(g100['p50'])} ({growth:.2f}×) | {us(d10['p50'])} → "
          f"{us(d100['p50'])} | {g10['cpu_us']:.0f} → {g100['cpu_us']:.0f} µs | not growing "
          f"(≤ 1.2×): {mark(growth <= 1.2)} |")
    w("")

    w("## Memory (gateway process)")
    w("")
    w("| Pass | Idle RSS | RSS, 512 open connections | Peak RSS (VmHWM) | Targets |")
    w("|---|--:|--:|--:|---|")
    for pass_, mode, title in PASSES:
        m = memory.get((pass_, mode))
        if not m:
            continue
        idle, conns, hwm = m["idle_kb"] / MB, m["conns_kb"] / MB, m["hwm_kb"] / MB
        opened = f" ({m['conns_open']} open" + (f", {m['conns_failed']} failed)" if m["conns_failed"] else ")")
        w(f"| {title.split(' (')[0]} | {idle:.1f} MB | {conns:.1f} MB{opened} | {hwm:.1f} MB | idle ≤ 32 MB: "
          f"{mark(idle <= 32)}; 512 connections ≤ 96 MB: {mark(conns <= 96)} |")
    w("")
    w("Idle RSS is read right after start; the 512 connections are opened after the load runs")
    w("(`bench/conns.py`: one `GET /healthz` each, then kept open idle) and peak RSS is read at the end")
    w("of the pass.")
    w("")
    with open(PROFILE_FILE) as profile:
        out.extend(profile.read().splitlines())
    print("\n".join(out))


if __name__ == "__main__":
    main()
