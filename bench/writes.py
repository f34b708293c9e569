#!/usr/bin/env python3
"""The writes section of docs/benchmarks.md (issue 16): `writes.py RESULTS`.

Reads bench/run.sh's JSON lines: rows of pass `writes` (wrk runs, one per build, scenario and
concurrency) and `syncs` rows (strace -f -c counts of a separate short pass). Prints the
section, between markers so that `ONLY=writes bench/run.sh` can replace it in place, followed
by the hand-written notes of bench/durability.md.
"""

import datetime
import json
import os
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")
NOTES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "durability.md")
BEGIN, END = "<!-- writes:begin -->", "<!-- writes:end -->"
LABELS = {"create": "POST /Users (unique userName)",
          "patch": "PATCH /Users/{id} (Entra: active, name.familyName, displayName)"}


def us(value):
    return f"{value / 1000:.2f} ms" if value >= 10000 else f"{value:.0f} µs"


def main():
    runs, syncs, builds = {}, {}, []
    with open(sys.argv[1]) as results:
        for line in results:
            row = json.loads(line)
            if row.get("pass") == "syncs":
                syncs[(row["build"], row["scenario"], row["conc"])] = row
                continue
            if row.get("pass") != "writes":
                continue
            w = row["wrk"]
            requests = max(w["requests"], 1)
            if row["mode"] not in builds:
                builds.append(row["mode"])
            runs[(row["mode"], row["scenario"], row["conc"])] = {
                "rps": w["requests"] / (w["duration_us"] / 1e6),
                "p50": w["p50"], "p99": w["p99"],
                "cpu_us": row["cpu_ticks"] * 1e6 / CLK_TCK / requests,
                "errors": w["errors_status"] + w["errors_connect"] + w["errors_read"]
                + w["errors_write"] + w["errors_timeout"],
            }
    out = [BEGIN, "## Writes: create and PATCH, syncs per request (issue 16)", ""]
    w = out.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open("/proc/loadavg") as loadavg:
        load_average = " / ".join(loadavg.read().split()[:3])
    w(f"Produced by `ONLY=writes bench/run.sh` on {now} (load average {load_average}; other jobs")
    w("share the machine). Each build runs against a fresh example API (10,000 users) and a fresh")
    w("SQLite store, in the same run, one after the other. *CPU/req*: the gateway's utime+stime over")
    w("the run ÷ requests. *Syncs/req*: `fsync` + `fdatasync` calls of `strace -f -c` on")
    w("`scimgate serve` over a separate short pass (strace slows the process, so its throughput is")
    w("not reported), minus those of a pass with no requests (start-up and shutdown), ÷ requests.")
    w("Builds: " + ", ".join(f"`{b}`" for b in builds) + " (`base` = `BASE_BIN`, the commit the")
    w("figures are compared with; `this` = the build under test).")
    w("")
    w("| Build | Scenario | c | req/s | p50 | p99 | CPU/req | Syncs/req | Errors |")
    w("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for scenario in ("create", "patch"):
        for conc in (1, 8):
            for build in builds:
                r = runs.get((build, scenario, conc))
                if r is None:
                    continue
                s = syncs.get((build, scenario, conc))
                per = f"{s['per_request']:.2f}" if s else ""
                w(f"| {build} | {LABELS[scenario]} | {conc} | {r['rps']:.0f} | {us(r['p50'])} | "
                  f"{us(r['p99'])} | {r['cpu_us']:.0f} µs | {per} | {r['errors']} |")
    if "base" in builds and "this" in builds:
        w("")
        for scenario in ("create", "patch"):
            for conc in (1, 8):
                b, t = runs.get(("base", scenario, conc)), runs.get(("this", scenario, conc))
                if b and t:
                    w(f"- {scenario} c={conc}: {t['rps'] / b['rps']:.2f}× the base build's req/s, "
                      f"CPU/req {b['cpu_us']:.0f} → {t['cpu_us']:.0f} µs.")
    w("")
    with open(NOTES) as notes:
        out.extend(notes.read().splitlines())
    out.append(END)
    print("\n".join(out))


if __name__ == "__main__":
    main()
