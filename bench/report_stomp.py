#!/usr/bin/env python3
"""Turn a scenario-4 run directory (STOMP: Switchboard vs RabbitMQ) into a markdown section appended to
bench/RESULTS.md and PNG charts in bench/charts/.

    report_stomp.py RUN_DIR [--results bench/RESULTS.md] [--charts bench/charts] [--print]

Reads what bench/scenario-4-stomp.sh writes: meta.json, params.json, commands.txt, runs.jsonl and each
case's `switchboard-bench stomp` JSON. Shares its readers and formatting with report.py.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report as R  # noqa: E402

NAMES = {"switchboard": "Switchboard", "rabbitmq": "RabbitMQ"}
COLORS = {"switchboard": "tab:orange", "rabbitmq": "tab:green"}
CASE_TITLES = {
    "topic": "topic: 10 producers → /topic → 10 consumers",
    "queue": "queue 1 → 1, ack:auto",
    "queue-ack": "queue 1 → 1, receipt on every SEND, ack:client-individual",
}


def sustained(step, stop_ms):
    """A step counts when its p99 is within the limit, nothing was lost or duplicated, no error, and
    at least 90 % of the target send rate was reached."""
    return (step["latencyMs"]["p99"] <= stop_ms and step["lost"] == 0 and step["duplicates"] == 0
            and not step.get("errors") and step["sendRate"] >= 0.9 * step["rateTarget"])


def best(result, stop_ms):
    ok = [s for s in (result or {}).get("steps", []) if sustained(s, stop_ms)]
    return max(ok, key=lambda s: s["deliveriesPerSecond"]) if ok else None


def step_at(result, rate):
    for s in (result or {}).get("steps", []):
        if s["rateTarget"] == rate:
            return s
    return None


def step_table(result, stop_ms):
    rows = []
    for s in result.get("steps", []):
        rc = s.get("receiptMs") or {}
        rows.append([
            R.num(s["rateTarget"]) + ("" if sustained(s, stop_ms) else " ✗"), R.num(s["sendRate"]),
            R.num(s["deliveriesPerSecond"]), R.num(s["latencyMs"]["p50"], 2), R.num(s["latencyMs"]["p99"], 2),
            R.num(s["latencyMs"]["p999"], 2), R.num(rc.get("p50"), 2), R.num(rc.get("p99"), 2),
            R.num(s.get("serverCPUPercent"), 1), R.num(s.get("serverCPUMicrosecondsPerDelivery"), 2),
            s["lost"], s["duplicates"], R.mib(s.get("serverRSSBytes")),
        ])
    return R.table(["sent/s target", "sent/s", "delivered/s", "p50 ms", "p99 ms", "p99.9 ms", "receipt p50 ms",
                    "receipt p99 ms", "server CPU %", "server CPU µs/delivery", "lost", "dup", "server RSS"], rows)


def chart(d, charts, case, results, stop_ms):
    plt = R.pyplot()
    if not plt:
        return None
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for server, res in results.items():
        steps = (res or {}).get("steps", [])
        if not steps:
            continue
        x = [s["rateTarget"] for s in steps]
        a.plot(x, [s["deliveriesPerSecond"] for s in steps], "o-", color=COLORS[server], label=NAMES[server])
        b.plot(x, [max(s["latencyMs"]["p99"], 0.01) for s in steps], "o-", color=COLORS[server], label=NAMES[server])
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_xlabel("messages sent per second (target)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    a.set_ylabel("messages delivered per second")
    a.set_yscale("log")
    b.set_ylabel("p99 publish → deliver latency (ms)")
    b.set_yscale("log")
    b.axhline(stop_ms, color="grey", linestyle=":", linewidth=1)
    fig.suptitle(f"STOMP {CASE_TITLES.get(case, case)}")
    fig.tight_layout()
    return R.save(fig, charts, d, f"stomp-{case}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--results", default=os.path.join(R.BENCH, "RESULTS.md"))
    ap.add_argument("--charts", default=os.path.join(R.BENCH, "charts"))
    ap.add_argument("--print", action="store_true")
    a = ap.parse_args()
    d = os.path.abspath(a.run_dir)
    meta, params, commands, cases = R.load_run_dir(d)
    stop_ms = float(params.get("stop_p99_ms", 100))
    by_case = {}
    for c in cases:
        by_case.setdefault(c["case"], {})[c["server"]] = c.get("result")
    m, v, p = meta.get("machine", {}), meta.get("versions", {}), meta.get("placement", {})
    lines = [
        f"## {meta.get('date_utc')} — Scenario 4: the STOMP broker against RabbitMQ", "",
        f"Machine: {m.get('cpus')} × {m.get('cpu_model')}, Linux {m.get('kernel')}, loopback. Switchboard "
        f"{v.get('switchboard_commit') or '?'} ({p.get('switchboard_threads')} event-loop thread(s), core(s) "
        f"{p.get('switchboard_cpus')}); RabbitMQ with rabbitmq_stomp, every thread pinned to core "
        f"{p.get('server_cpu')}; switchboard-bench on core {p.get('generator_cpu')}. {v.get('swift') or ''}  ",
        f"Raw data: `{os.path.relpath(d, R.ROOT)}/` (bench/out is not committed).  ",
    ]
    if meta.get("quick"):
        lines.append("**QUICK=1 smoke run: durations reduced; not a result.**")
    lines += ["", "Parameters: " + ", ".join(f"{k} = `{val}`" for k, val in params.items()), "",
              R.commands_block(commands, ["swift build -c release --scratch-path .build-release"]), ""]
    summary = []
    for case, results in by_case.items():
        sb, rb = best(results.get("switchboard"), stop_ms), best(results.get("rabbitmq"), stop_ms)
        both = [s["rateTarget"] for s in (results.get("switchboard") or {}).get("steps", []) if sustained(s, stop_ms)
                and step_at(results.get("rabbitmq"), s["rateTarget"]) and sustained(step_at(results.get("rabbitmq"), s["rateTarget"]), stop_ms)]
        common = max(both) if both else None
        sbc = step_at(results.get("switchboard"), common) if common else None
        rbc = step_at(results.get("rabbitmq"), common) if common else None
        sb10k = step_at(results.get("switchboard"), 10000)
        summary.append([
            CASE_TITLES.get(case, case),
            R.num(sb and sb["deliveriesPerSecond"]), R.num(rb and rb["deliveriesPerSecond"]),
            R.ratio(sb and sb["deliveriesPerSecond"], rb and rb["deliveriesPerSecond"]),
            R.num(common),
            R.num(sbc and sbc.get("serverCPUMicrosecondsPerDelivery"), 2),
            R.num(rbc and rbc.get("serverCPUMicrosecondsPerDelivery"), 2),
            R.ratio(sbc and sbc.get("serverCPUMicrosecondsPerDelivery"), rbc and rbc.get("serverCPUMicrosecondsPerDelivery")),
            R.num(get_receipt(sb10k, "p50"), 3) + " / " + R.num(get_receipt(sb10k, "p99"), 3) if case == "queue-ack" else "–",
        ])
    lines += [R.table(["case", f"Switchboard: max delivered/s at p99 ≤ {stop_ms:g} ms", "RabbitMQ", "ratio",
                       "sent/s both sustained", "Switchboard CPU µs/delivery there", "RabbitMQ", "Switchboard / RabbitMQ",
                       "Switchboard receipt p50 / p99 ms at 10,000/s"], summary), "",
              f"A step is *sustained* when its p99 ≤ {stop_ms:g} ms, nothing was lost or duplicated, no error, and at "
              "least 90 % of the target send rate was reached (✗ otherwise). CPU µs/delivery = server user+sys CPU "
              "over the step (sending and draining) / messages delivered.", "", "<details><summary>every step</summary>", ""]
    pngs = []
    for case, results in by_case.items():
        for server in ("switchboard", "rabbitmq"):
            res = results.get(server)
            if not res:
                continue
            lines += [f"**{NAMES[server]}, {CASE_TITLES.get(case, case)}**", "", step_table(res, stop_ms), ""]
        png = chart(d, a.charts, case, results, stop_ms)
        if png:
            pngs.append(png)
    lines += ["</details>", ""]
    for png in pngs:
        lines += [f"![{os.path.basename(png)}]({os.path.relpath(png, os.path.dirname(os.path.abspath(a.results)))})", ""]
    text = "\n".join(lines) + "\n"
    if a.print:
        print(text)
    else:
        with open(a.results, "a") as f:
            f.write("\n" + text)


def get_receipt(step, key):
    return (step or {}).get("receiptMs", {}) and step["receiptMs"].get(key) if step else None


if __name__ == "__main__":
    main()
