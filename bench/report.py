#!/usr/bin/env python3
"""Turn one run directory of bench/out (scenario-1-*, scenario-2-*, scenario-3-*, probe-*) into a
markdown section appended to bench/RESULTS.md and PNG charts in bench/charts/.

    report.py RUN_DIR [--results bench/RESULTS.md] [--charts bench/charts] [--print]

Only the standard library and matplotlib (the scripts install it into bench/out/venv). Input, written by
the scripts: meta.json (machine, versions, placement), params.json, commands.txt (exact commands),
runs.jsonl (one line per server x case: server, case, transport, layout, file, samples, exit) and each
case's switchboard-bench JSON and sampler JSON lines; for the probe, send_floor's JSON files.
"""
import argparse
import glob
import json
import os
import statistics
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SERVERS = ("switchboard", "nchan")
NAMES = {"switchboard": "Switchboard", "nchan": "nchan"}
COLORS = {"switchboard": "tab:orange", "nchan": "tab:blue"}
TITLES = {
    "scenario-1": "Scenario 1: idle capacity",
    "scenario-2": "Scenario 2: broadcast fan-out",
    "scenario-3": "Scenario 3: many channels (personal + group)",
    "probe": "Kernel floor: one send() per subscriber (bench/probe)",
}


# --- reading -----------------------------------------------------------------------------------------

def load_json_any(path):
    """switchboard-bench writes one object per run; accept an object, a list of them, or JSON lines."""
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, list):
        if not data:
            return None
        if len(data) == 1:
            return data[0]
        merged = dict(data[0])  # several objects: keep the first's header, concatenate the steps
        merged["steps"] = [s for d in data for s in d.get("steps", [])]
        return merged
    return data


def load_lines(path):
    out = []
    if path and os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    return out


def load_run_dir(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    params = {}
    if os.path.exists(os.path.join(d, "params.json")):
        params = json.load(open(os.path.join(d, "params.json")))
    commands = []
    if os.path.exists(os.path.join(d, "commands.txt")):
        seen = set()
        for line in open(os.path.join(d, "commands.txt")):
            line = line.rstrip("\n").replace(ROOT + "/", "")
            if not line or line.startswith("# "):
                continue
            if line in seen:  # server start commands repeat for every case
                continue
            seen.add(line)
            commands.append(line)
    cases = []
    for r in load_lines(os.path.join(d, "runs.jsonl")):
        path = os.path.join(d, r["file"])
        r["result"] = load_json_any(path) if os.path.exists(path) else None
        r["sample_rows"] = load_lines(os.path.join(d, r.get("samples", "")))
        cases.append(r)
    return meta, params, commands, cases


def get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d or d[k] is None:
            return default
        d = d[k]
    return d


# --- formatting --------------------------------------------------------------------------------------

def num(v, digits=0, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float) and digits == 0 and abs(v) < 10 and v != 0:
        digits = 2
    s = f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v)
    return s + unit


def mib(v):
    return "–" if v is None else f"{v / 1048576:,.1f} MiB"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def rel(path, start):
    return os.path.relpath(path, os.path.dirname(os.path.abspath(start)))


def header_lines(meta, d, results):
    m, v, p = meta.get("machine", {}), meta.get("versions", {}), meta.get("placement", {})
    mem = m.get("mem_bytes") or 0
    lines = [
        f"Machine: {m.get('cpus')} × {m.get('cpu_model')}, {mem / 2**30:.0f} GiB, Linux {m.get('kernel')}, "
        f"loopback, open files {m.get('nofile')}. "
        f"Switchboard {v.get('switchboard_commit') or '?'} ({p.get('switchboard_threads')} event-loop thread(s), "
        f"core(s) {p.get('switchboard_cpus')}); nginx {v.get('nginx') or '?'} + nchan {v.get('nchan') or '?'} "
        f"(1 worker, core {p.get('server_cpu')}); switchboard-bench on core {p.get('generator_cpu')}. "
        f"{v.get('swift') or ''}".strip(),
        f"Raw data: `{os.path.relpath(d, ROOT)}/` (bench/out is not committed).",
    ]
    if meta.get("quick"):
        lines.append("**QUICK=1 smoke run: sizes and durations reduced; not a result.**")
    return lines


def commands_block(commands, extra_first=None):
    lines = list(extra_first or []) + commands
    return "```sh\n" + "\n".join(lines) + "\n```"


# --- probe (kernel floor) ----------------------------------------------------------------------------

def probe_rows(d):
    groups = {}
    for f in sorted(glob.glob(os.path.join(d, "n*-k*-r*.json"))):
        try:
            r = json.load(open(f))
        except (OSError, json.JSONDecodeError):
            continue
        groups.setdefault((r["connections"], r["coalesce"]), []).append(r)
    rows = []
    for (n, k), rs in sorted(groups.items()):
        med = lambda key: statistics.median(x[key] for x in rs)
        rows.append({
            "connections": n, "coalesce": k, "repeats": len(rs), "size": rs[0]["size"],
            "cpu_us_per_send": med("cpu_us_per_send"), "cpu_us_per_message": med("cpu_us_per_message"),
            "core_us_per_send": med("core_us_per_send"), "sends_per_second": med("sends_per_second"),
            "messages_per_second": med("messages_per_second"),
            "receiver_cpu_us_per_send": med("receiver_cpu_us_per_send"),
            "eagain": max(x["eagain"] for x in rs), "complete": all(x["complete"] for x in rs),
            "min": min(x["cpu_us_per_send"] for x in rs), "max": max(x["cpu_us_per_send"] for x in rs),
        })
    return rows


def latest_floor():
    """{connections: µs per send} at coalesce 1, from bench/out/probe-latest, if any."""
    d = os.path.join(BENCH, "out", "probe-latest")
    if not os.path.isdir(d):
        return {}
    return {r["connections"]: r["cpu_us_per_send"] for r in probe_rows(d) if r["coalesce"] == 1}


def floor_for(floors, n):
    if not floors or not n:
        return None
    best = min(floors, key=lambda k: abs(k - n))
    return floors[best]


def report_probe(d, meta, params, commands, results, charts):
    rows = probe_rows(d)
    md = [table(
        ["connections N", "messages per send()", "CPU µs per send (median, min–max)", "CPU µs per message",
         "core µs per send", "sends/s", "messages/s", "receiver µs per send", "EAGAIN"],
        [[num(r["connections"]), r["coalesce"],
          f"**{r['cpu_us_per_send']:.2f}** ({r['min']:.2f}–{r['max']:.2f})", f"{r['cpu_us_per_message']:.3f}",
          f"{r['core_us_per_send']:.2f}", num(r["sends_per_second"]), num(r["messages_per_second"]),
          f"{r['receiver_cpu_us_per_send']:.2f}", r["eagain"] if r["complete"] else f"{r['eagain']} INCOMPLETE"]
         for r in rows])]
    md.append(
        f"{params.get('size', 64)}-byte messages, TCP_NODELAY, {params.get('repeat')} repeat(s) of "
        f"{num(int(params.get('sends', 0)))} sends each. *CPU µs per send* is the sending process's "
        "user+sys (getrusage) over the rounds / send() calls: on loopback it includes the receive half of "
        "TCP (softirq in the sender's context) and waking the receiver on the other core, as a server's "
        "`/proc/PID/stat` would show it. *Core µs* is the sender core's busy time from `/proc/stat` "
        "(10 ms ticks). The receiver's recv() copies are charged to the receiver, on the other core.")
    return md, []


# --- scenario 1 --------------------------------------------------------------------------------------

def kernel_slab_per_socket(case):
    """System-wide: rise of Slab (/proc/meminfo) / rise of TCP sockets in use (/proc/net/sockstat), between
    the first sample (before ramp-up) and the sample with the most sockets. Other activity on the machine
    disturbs it: run on a quiet machine."""
    rows = [r for r in case.get("sample_rows") or [] if "slab_bytes" in r and "tcp_inuse" in r]
    if len(rows) < 2:
        return None
    base, peak = rows[0], max(rows, key=lambda r: r["tcp_inuse"])
    sockets = peak["tcp_inuse"] - base["tcp_inuse"]
    if sockets <= 0:
        return None
    return (peak["slab_bytes"] - base["slab_bytes"]) / sockets


def report_scenario1(d, meta, params, commands, cases, results, charts):
    md, pngs = [], []
    by = {}
    for c in cases:
        by.setdefault(c["transport"], {})[c["server"]] = c
    summary = []
    for transport, servers in by.items():
        rows = []

        def metric(label, fn, fmt, note=""):
            vals = {s: (fn(servers[s]) if s in servers and servers[s].get("result") else None) for s in SERVERS}
            rows.append([label + note] + [fmt(vals[s]) for s in SERVERS] + [ratio(vals["switchboard"], vals["nchan"])])
            return vals

        R = lambda c: c["result"]
        metric("connections", lambda c: get(R(c), "connections"), num)
        rate = metric("ramp-up: connections/s", lambda c: get(R(c), "connect", "per_second"), num)
        metric("ramp-up: seconds", lambda c: get(R(c), "connect", "seconds"), lambda v: num(v, 2))
        metric("server RSS before", lambda c: get(R(c), "server_rss_before_bytes"), mib)
        metric("server RSS idle", lambda c: get(R(c), "idle", "server_rss_bytes"), mib)

        def per_conn(c):
            v = get(R(c), "idle", "rss_per_connection_bytes")
            if v is None:
                after, before, n = get(R(c), "idle", "server_rss_bytes"), get(R(c), "server_rss_before_bytes"), get(R(c), "connections")
                if None not in (after, before) and n:
                    v = (after - before) / n
            return v

        rss = metric("**RSS per connection** (user space)", per_conn, lambda v: num(v, 0, " B"))
        cpu = metric("idle CPU", lambda c: get(R(c), "idle", "server_cpu_percent"), lambda v: num(v, 2, " %"))
        metric("kernel slab per TCP socket (system-wide, approx.)", kernel_slab_per_socket, lambda v: num(v, 0, " B"))
        metric("failed connections", lambda c: get(R(c), "failed_connections"), num)
        failed = [s for s in SERVERS if s in servers and servers[s].get("exit")]
        md.append(f"**{transport.upper()}**, {num(int(params.get('subscribers', 0)))} subscribers, "
                  f"{params.get('idle_seconds')} s idle" + (f" — run failed for {', '.join(failed)}" if failed else ""))
        md.append(table(["", "Switchboard", "nchan", "Switchboard / nchan"], rows))
        summary.append((transport, rss, rate, cpu, servers))
    md.append("RSS per connection = (server RSS after ramp-up − before) / connections. Kernel slab per TCP "
              "socket = rise of `Slab` (/proc/meminfo) / rise of TCP sockets in use (/proc/net/sockstat) between "
              "the start and the peak of the run: the kernel's own memory for a socket with its file, inode and "
              "epoll entries, outside the server's RSS; each loopback connection has two sockets, the server's "
              "share is one. System-wide, so only meaningful on an otherwise quiet machine.")

    plt = pyplot()
    if plt and summary:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        transports = [s[0] for s in summary]
        x = range(len(transports))
        for i, s in enumerate(SERVERS):
            off = [xx + (i - 0.5) * 0.38 for xx in x]
            axes[0].bar(off, [t[1][s] or 0 for t in summary], 0.38, label=NAMES[s], color=COLORS[s])
            axes[1].bar(off, [t[2][s] or 0 for t in summary], 0.38, label=NAMES[s], color=COLORS[s])
        for ax, title in ((axes[0], "RSS per idle connection (bytes)"), (axes[1], "ramp-up (connections/s)")):
            ax.set_xticks(list(x))
            ax.set_xticklabels([t.upper() for t in transports])
            ax.set_title(title)
            ax.set_ylim(top=(ax.get_ylim()[1] or 1) * 1.25)
            ax.legend(loc="upper left", ncol=2, fontsize=8)
        ax = axes[2]
        for transport, _, _, _, servers in summary:
            for s, c in servers.items():
                rows = c.get("sample_rows") or []
                if rows:
                    t0 = rows[0]["t"]
                    ax.plot([r["t"] - t0 for r in rows], [r.get("vmrss_bytes", 0) / 1048576 for r in rows],
                            label=f"{NAMES[s]} {transport.upper()}", color=COLORS[s],
                            linestyle="-" if transport == "ws" else "--")
        ax.set_title("server RSS during the run (MiB)")
        ax.set_xlabel("seconds")
        ax.legend(fontsize=8)
        fig.tight_layout()
        pngs.append(save(fig, charts, d, "idle"))
    return md, pngs


# --- scenarios 2 and 3 -------------------------------------------------------------------------------

def sustained(step, stop_ms):
    p99 = get(step, "latency_ms", "p99")
    target = step.get("rate_target") or 0
    ok = (p99 is not None and p99 <= stop_ms and not step.get("lost") and not step.get("duplicates")
          and not step.get("publish_errors"))
    if ok and target > 0 and step.get("publish_rate") is not None:
        ok = step["publish_rate"] >= 0.9 * target
    return ok


def best_step(result, stop_ms):
    steps = [s for s in (result or {}).get("steps", []) if sustained(s, stop_ms)]
    return max(steps, key=lambda s: s.get("deliveries_per_second") or 0) if steps else None


def report_fanout(d, meta, params, commands, cases, results, charts, scenario):
    stop_ms = float(params.get("stop_p99_ms", 100 if scenario == "scenario-2" else 50))
    floors = latest_floor()
    md, pngs = [], []
    by = {}
    for c in cases:
        by.setdefault(c["case"], {})[c["server"]] = c
    rows, details = [], []
    for case, servers in by.items():
        res = {s: servers[s]["result"] if s in servers else None for s in SERVERS}
        best = {s: best_step(res[s], stop_ms) for s in SERVERS}
        n = get(res["switchboard"], "subscribers") or get(res["nchan"], "subscribers")
        # CPU per delivery compared at the highest target rate both servers sustained
        common = None
        targets = {s: {st.get("rate_target"): st for st in (res[s] or {}).get("steps", []) if sustained(st, stop_ms)} for s in SERVERS}
        shared = set(targets["switchboard"]) & set(targets["nchan"])
        if shared:
            common = max(shared)
        cpu_at = {s: get(targets[s].get(common), "server_cpu_us_per_delivery") for s in SERVERS}
        floor = floor_for(floors, n) if scenario == "scenario-2" else None
        lost = sum((st.get("lost") or 0) + (st.get("duplicates") or 0)
                   for s in SERVERS for st in (res[s] or {}).get("steps", []))
        transport = next(iter(servers.values()))["transport"]
        rows.append([
            f"{transport.upper()} × {num(n)}",
            num(get(best["switchboard"], "deliveries_per_second")), num(get(best["nchan"], "deliveries_per_second")),
            ratio(get(best["switchboard"], "deliveries_per_second"), get(best["nchan"], "deliveries_per_second")),
            num(common) if common is not None else "–",
            num(cpu_at["switchboard"], 2), num(cpu_at["nchan"], 2), ratio(cpu_at["switchboard"], cpu_at["nchan"]),
            num(floor, 2) if floor else "–", ratio(cpu_at["switchboard"], floor) if floor else "–",
            "0" if lost == 0 else f"**{lost}**",
        ])
        for s in SERVERS:
            r = res[s]
            if not r:
                details.append(f"*{NAMES[s]} {case}: no result* (exit {get(servers.get(s), 'exit')})")
                continue
            conns = r.get("connections")
            head = (f"**{NAMES[s]}, {case}** — {num(r.get('subscribers'))} subscribers, {num(conns)} connections "
                    f"({num(r.get('failed_connections') or 0)} failed), connected in {num(get(r, 'connect', 'seconds'), 2)} s "
                    f"({num(get(r, 'connect', 'per_second'))}/s), server RSS before {mib(r.get('server_rss_before_bytes'))}")
            srows = []
            for st in r.get("steps", []):
                L = st.get("latency_ms", {})
                mark = "" if sustained(st, stop_ms) else " ✗"
                srows.append([
                    num(st.get("rate_target")) + mark, num(st.get("publish_rate"), 1), num(st.get("deliveries_per_second")),
                    num(L.get("p50"), 1), num(L.get("p90"), 1), num(L.get("p99"), 1), num(L.get("p999"), 1),
                    num(L.get("max"), 1), num(st.get("server_cpu_us_per_delivery"), 2),
                    num(1e6 * st["server_cpu_seconds"] / st["publishes"], 1) if st.get("publishes") and st.get("server_cpu_seconds") is not None else "–",
                    num(st.get("lost")), num(st.get("duplicates")), num(st.get("publish_errors") or 0),
                    mib(st.get("server_rss_bytes"))])
            details.append(head + "\n\n" + table(
                ["publishes/s target", "achieved", "deliveries/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
                 "server CPU µs/delivery", "µs/publish", "lost", "dup", "publish errors", "server RSS"], srows))
        pngs.append(chart_fanout(d, charts, case, res, stop_ms, floor))
    head = ["case", f"Switchboard: max deliveries/s at p99 ≤ {stop_ms:g} ms", "nchan", "ratio",
            "publishes/s both sustained", "Switchboard CPU µs/delivery there", "nchan", "Switchboard / nchan",
            "kernel floor µs/send", "Switchboard / floor", "lost + dup"]
    if scenario != "scenario-2":  # the floor is one send() per subscriber: a broadcast measure
        head = head[:8] + head[10:]
        rows = [r[:8] + r[10:] for r in rows]
    md.append(table(head, rows))
    md.append(f"A step is *sustained* when its p99 ≤ {stop_ms:g} ms, nothing was lost or duplicated, no publish failed and at least "
              "90 % of the target publish rate was reached (✗ in the step tables otherwise). CPU µs/delivery = "
              "server user+sys CPU during the step / deliveries (it includes handling the publishing HTTP "
              "requests: µs/publish in the step tables)" + ("; the kernel floor is the latest `bench/probe` "
              "median at the nearest N (one send() per subscriber, `bench/out/probe-latest`)." if scenario == "scenario-2" else "."))
    md += ["<details><summary>every step</summary>", ""] + [x + "\n" for x in details] + ["</details>"]
    return md, [p for p in pngs if p]


def chart_fanout(d, charts, case, res, stop_ms, floor):
    plt = pyplot()
    if not plt:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for s in SERVERS:
        steps = (res[s] or {}).get("steps", [])
        xs = [st.get("deliveries_per_second") or 0 for st in steps]
        if not steps:
            continue
        a1.plot(xs, [get(st, "latency_ms", "p99") or 0 for st in steps], "o-", color=COLORS[s], label=f"{NAMES[s]} p99")
        a1.plot(xs, [get(st, "latency_ms", "p50") or 0 for st in steps], ".:", color=COLORS[s], label=f"{NAMES[s]} p50")
        a2.plot(xs, [st.get("server_cpu_us_per_delivery") or 0 for st in steps], "o-", color=COLORS[s], label=NAMES[s])
    a1.axhline(stop_ms, color="gray", linestyle="--", linewidth=0.8, label=f"{stop_ms:g} ms")
    if floor:
        a2.axhline(floor, color="black", linestyle="--", linewidth=0.8, label=f"kernel floor {floor:.2f} µs")
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xlabel("deliveries/s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    a1.set_yscale("log")
    a1.set_ylabel("latency ms")
    a1.set_title(f"{case}: latency vs delivery rate")
    a2.set_ylabel("server CPU µs per delivery")
    a2.set_ylim(bottom=0)
    a2.set_title(f"{case}: server CPU per delivery")
    fig.tight_layout()
    return save(fig, charts, d, case)


# --- charts ------------------------------------------------------------------------------------------

_plt = None


def pyplot():
    global _plt
    if _plt is None:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as p
            _plt = p
        except ImportError:
            print("report.py: matplotlib not available, no charts", file=sys.stderr)
            _plt = False
    return _plt


def save(fig, charts, d, name):
    os.makedirs(charts, exist_ok=True)
    path = os.path.join(charts, f"{os.path.basename(d.rstrip('/'))}-{name}.png")
    fig.savefig(path, dpi=110)
    _plt.close(fig)
    return path


# --- main --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--results", default=os.path.join(BENCH, "RESULTS.md"))
    ap.add_argument("--charts", default=os.path.join(BENCH, "charts"))
    ap.add_argument("--print", action="store_true", help="print the section instead of appending it")
    a = ap.parse_args()
    d = os.path.abspath(a.run_dir)
    meta, params, commands, cases = load_run_dir(d)
    scenario = meta.get("scenario", os.path.basename(d).rsplit("-", 1)[0])
    first = [] if scenario == "probe" else ["swift build -c release --scratch-path .build-release"]
    if scenario == "probe":
        body, pngs = report_probe(d, meta, params, commands, a.results, a.charts)
    elif scenario == "scenario-1":
        body, pngs = report_scenario1(d, meta, params, commands, cases, a.results, a.charts)
    elif scenario in ("scenario-2", "scenario-3"):
        body, pngs = report_fanout(d, meta, params, commands, cases, a.results, a.charts, scenario)
    else:
        sys.exit(f"report.py: unknown scenario {scenario!r} in {d}")
    section = [f"## {meta.get('date_utc', '')} — {TITLES.get(scenario, scenario)}", ""]
    section += [line + "  " for line in header_lines(meta, d, a.results)] + [""]
    if params:
        section += ["Parameters: " + ", ".join(f"{k} = `{v}`" for k, v in params.items()), ""]
    section += [commands_block(commands, first), ""]
    for part in body:
        section += [part, ""]
    for p in pngs:
        section += [f"![{os.path.basename(p)}]({rel(p, a.results)})", ""]
    text = "\n".join(section).rstrip() + "\n"
    if a.print:
        print(text)
        return
    prefix = ""
    if os.path.exists(a.results) and os.path.getsize(a.results) > 0:
        with open(a.results, "rb") as f:
            f.seek(-1, os.SEEK_END)
            prefix = "\n" if f.read() == b"\n" else "\n\n"
    else:
        prefix = "# Benchmark results (smoke runs)\n\n" if "quick" in os.path.basename(a.results).lower() else ""
    with open(a.results, "a") as f:
        f.write(prefix + text)
    print(f"report.py: {TITLES.get(scenario, scenario)} appended to {a.results}" + (f", {len(pngs)} chart(s)" if pngs else ""))


if __name__ == "__main__":
    main()
