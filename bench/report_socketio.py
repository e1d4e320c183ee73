#!/usr/bin/env python3
"""Turn a scenario-5 run directory (Socket.IO: Switchboard vs python-socketio) into a markdown section
appended to bench/RESULTS.md.

    report_socketio.py RUN_DIR [--results bench/RESULTS.md] [--print]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report as R  # noqa: E402

NAMES = {"switchboard": "Switchboard", "sioserver": "python-socketio"}
TITLES = {"sio": "room broadcast, {n} WebSocket clients", "siopoll": "{n} long-polling clients"}


def lossless(step):
    """Everything delivered once, and at least 90 % of the target publish rate reached."""
    return step["lost"] == 0 and step["duplicates"] == 0 and step["publish_rate"] >= 0.9 * step["rate_target"]


def sustained(step, stop_ms):
    """Lossless, with p99 within the limit."""
    return lossless(step) and step["latency_ms"]["p99"] <= stop_ms


def best(result, stop_ms):
    ok = [s for s in (result or {}).get("steps", []) if sustained(s, stop_ms)]
    return max(ok, key=lambda s: s["deliveries_per_second"]) if ok else None


def most_efficient(result):
    """The step with the most deliveries per server CPU second among those where nothing was lost or
    duplicated, whatever its latency or publish rate (a saturated server still counts)."""
    ok = [s for s in (result or {}).get("steps", [])
          if s["lost"] == 0 and s["duplicates"] == 0 and s.get("server_cpu_us_per_delivery")]
    return min(ok, key=lambda s: s["server_cpu_us_per_delivery"]) if ok else None


def per_cpu_second(step):
    us = step and step.get("server_cpu_us_per_delivery")
    return 1e6 / us if us else None


def title(case):
    transport, n = case.rsplit("-", 1)
    return TITLES.get(transport, transport).format(n=f"{int(n):,}")


def step_table(result, stop_ms):
    rows = []
    for s in result.get("steps", []):
        rows.append([
            R.num(s["rate_target"]) + ("" if sustained(s, stop_ms) else " ✗"), R.num(s["publish_rate"]),
            R.num(s["deliveries_per_second"]), R.num(s["latency_ms"]["p50"], 2), R.num(s["latency_ms"]["p99"], 2),
            R.num(s["latency_ms"]["max"], 2), R.num(s.get("server_cpu_us_per_delivery"), 2),
            R.num(per_cpu_second(s)), s["lost"], s["duplicates"], R.mib(s.get("server_rss_bytes")),
        ])
    return R.table(["publishes/s target", "publishes/s", "delivered/s", "p50 ms", "p99 ms", "max ms",
                    "server CPU µs/delivery", "deliveries per CPU second", "lost", "dup", "server RSS"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--results", default=os.path.join(R.BENCH, "RESULTS.md"))
    ap.add_argument("--print", action="store_true")
    a = ap.parse_args()
    d = os.path.abspath(a.run_dir)
    meta, params, commands, cases = R.load_run_dir(d)
    default_stop = float(params.get("stop_p99_ms", 100))
    by_case = {}
    for c in cases:
        by_case.setdefault(c["case"], {})[c["server"]] = c.get("result")
    m, v, p = meta.get("machine", {}), meta.get("versions", {}), meta.get("placement", {})
    lines = [
        f"## {meta.get('date_utc')} — Scenario 5: Socket.IO against python-socketio", "",
        f"Machine: {m.get('cpus')} × {m.get('cpu_model')}, Linux {m.get('kernel')}, loopback. Switchboard "
        f"{v.get('switchboard_commit') or '?'} ({p.get('switchboard_threads')} event-loop thread(s), core(s) "
        f"{p.get('switchboard_cpus')}); python-socketio (`peer start sioserver`: asyncio + aiohttp, one process) "
        f"pinned to core {p.get('server_cpu')}; switchboard-bench on core {p.get('generator_cpu')}. "
        f"{v.get('swift') or ''}  ",
        f"Raw data: `{os.path.relpath(d, R.ROOT)}/` (bench/out is not committed).  ",
    ]
    if meta.get("quick"):
        lines.append("**QUICK=1 smoke run: durations reduced; not a result.**")
    lines += ["", "Parameters: " + ", ".join(f"{k} = `{val}`" for k, val in params.items()), "",
              R.commands_block(commands, ["swift build -c release --scratch-path .build-release"]), ""]
    summary = []
    for case, results in by_case.items():
        stop_ms = float(params.get(f"stop_p99_ms_{case}", default_stop))
        sb, py = best(results.get("switchboard"), stop_ms), best(results.get("sioserver"), stop_ms)
        sb_rate = per_cpu_second(most_efficient(results.get("switchboard")))
        py_rate = per_cpu_second(most_efficient(results.get("sioserver")))
        idle = lambda r: ((r or {}).get("idle") or {}).get("rss_per_connection_bytes")  # noqa: E731
        summary.append([
            title(case), f"{stop_ms:g}",
            R.num(sb and sb["deliveries_per_second"]), R.num(py and py["deliveries_per_second"]),
            R.num(sb_rate), R.num(py_rate), R.ratio(sb_rate, py_rate),
            R.num(idle(results.get("switchboard"))), R.num(idle(results.get("sioserver"))),
        ])
    lines += [R.table(["case", "p99 limit ms", "Switchboard: max delivered/s within it", "python-socketio",
                       "Switchboard: deliveries per CPU second", "python-socketio", "ratio",
                       "Switchboard RSS bytes per connection (idle)", "python-socketio"], summary), "",
              "A step is *lossless* when nothing was lost or duplicated and at least 90 % of the target publish rate "
              "was reached, *sustained* when it is lossless within the case's p99 limit (✗ otherwise). Deliveries per "
              "CPU second = messages delivered / server user+sys CPU seconds over the step, at each server's most "
              "efficient step without loss or duplicates, whatever its latency or publish rate. RSS per connection = (RSS with every client connected "
              "and idle − RSS before) / connections; at 1,000 clients it carries the server's fixed start-up costs.", "",
              "<details><summary>every step</summary>", ""]
    for case, results in by_case.items():
        stop_ms = float(params.get(f"stop_p99_ms_{case}", default_stop))
        for server in ("switchboard", "sioserver"):
            res = results.get(server)
            if res:
                lines += [f"**{NAMES[server]}, {title(case)}**", "", step_table(res, stop_ms), ""]
    lines += ["</details>", ""]
    text = "\n".join(lines) + "\n"
    if a.print:
        print(text)
    else:
        with open(a.results, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
