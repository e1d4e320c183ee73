#!/usr/bin/env python3
"""Turn a scenario-6 run directory (the WebSocket-to-TCP bridge: Switchboard vs websockify) into a
markdown section appended to bench/RESULTS.md.

    report_bridge.py RUN_DIR [--results bench/RESULTS.md] [--print]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report as R  # noqa: E402

NAMES = {"switchboard": "Switchboard", "websockify": "websockify"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--results", default=os.path.join(R.BENCH, "RESULTS.md"))
    ap.add_argument("--print", action="store_true")
    a = ap.parse_args()
    d = os.path.abspath(a.run_dir)
    meta, params, commands, cases = R.load_run_dir(d)
    res = {(c["server"], c["case"]): c.get("result") or {} for c in cases}

    def val(server, case, *keys):
        v = res.get((server, case), {})
        for k in keys:
            v = (v or {}).get(k)
        return v

    m, v, p = meta.get("machine", {}), meta.get("versions", {}), meta.get("placement", {})
    lines = [
        f"## {meta.get('date_utc')} — Scenario 6: the WebSocket-to-TCP bridge against websockify", "",
        f"Machine: {m.get('cpus')} × {m.get('cpu_model')}, Linux {m.get('kernel')}, loopback. Switchboard "
        f"{v.get('switchboard_commit') or '?'} (1 event-loop thread, core {p.get('server_cpu')}); websockify "
        f"(the peers' venv; a process per connection, measured with its children) on core {p.get('server_cpu')}; "
        f"`switchboard-bench bridge` and its NIO targets (`switchboard-bench echo`) on core {p.get('generator_cpu')}. "
        f"{v.get('swift') or ''}  ",
        f"Raw data: `{os.path.relpath(d, R.ROOT)}/` (bench/out is not committed).  ",
    ]
    if meta.get("quick"):
        lines.append("**QUICK=1 smoke run: sizes reduced; not a result.**")
    lines += ["", "Parameters: " + ", ".join(f"{k} = `{x}`" for k, x in params.items()), "",
              R.commands_block(commands, ["swift build -c release --scratch-path .build-release"]), ""]
    rows = []
    for case, title in [("download", "download: target → browser, one connection"),
                        ("upload", "upload: browser → target, one connection"),
                        ("echo", "echo: both ways at once, one connection")]:
        sb, wf = val("switchboard", case, "megabytesPerSecond"), val("websockify", case, "megabytesPerSecond")
        rows.append([title, R.num(sb, 1), R.num(wf, 1), R.ratio(sb, wf),
                     R.num(val("switchboard", case, "serverCPUSecondsPerGB"), 2),
                     R.num(val("websockify", case, "serverCPUSecondsPerGB"), 2)])
    lines += [R.table(["throughput", "Switchboard MB/s", "websockify MB/s", "ratio", "Switchboard CPU s/GB",
                       "websockify CPU s/GB"], rows), ""]
    rows = []
    direct50 = val("switchboard", "latency", "directLatencyMicroseconds", "p50")
    direct99 = val("switchboard", "latency", "directLatencyMicroseconds", "p99")
    for server in ("switchboard", "websockify"):
        p50 = val(server, "latency", "latencyMicroseconds", "p50")
        p99 = val(server, "latency", "latencyMicroseconds", "p99")
        d50 = val(server, "latency", "directLatencyMicroseconds", "p50")
        d99 = val(server, "latency", "directLatencyMicroseconds", "p99")
        rows.append([NAMES[server], R.num(p50), R.num(p99), R.num(d50), R.num(d99),
                     R.num(p50 - d50 if p50 is not None and d50 is not None else None),
                     R.num(p99 - d99 if p99 is not None and d99 is not None else None)])
    lines += [R.table(["small-message round trip (µs)", "p50 through the bridge", "p99", "p50 direct", "p99 direct",
                       "added p50", "added p99"], rows), ""]
    rows = []
    for server in ("switchboard", "websockify"):
        rows.append([NAMES[server], R.num(val(server, "concurrent", "messagesPerSecond")),
                     R.num(val(server, "concurrent", "latencyMicroseconds", "p50")),
                     R.num(val(server, "concurrent", "latencyMicroseconds", "p99")),
                     R.num(val(server, "concurrent", "serverCPUPercent"), 1),
                     R.mib(val(server, "concurrent", "serverRSSBytes"))])
    lines += [R.table([f"{params.get('connections')} connections × {params.get('rate')} msg/s", "round trips/s",
                       "p50 µs", "p99 µs", "bridge CPU %", "bridge RSS"], rows), ""]
    text = "\n".join(lines) + "\n"
    if a.print:
        print(text)
    else:
        with open(a.results, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
