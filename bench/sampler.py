#!/usr/bin/env python3
"""Samples, once a second, what the load generator does not see: the server's RSS and CPU, and the
kernel's memory for sockets (Slab from /proc/meminfo; TCP sockets in use and their buffer pages from
/proc/net/sockstat). One JSON object per line.  Usage: sampler.py PID OUTFILE [INTERVAL]
Stops when the PID goes away or on SIGTERM."""
import json, os, signal, sys, time

pid, out = int(sys.argv[1]), sys.argv[2]
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
tick = os.sysconf("SC_CLK_TCK")
running = True
signal.signal(signal.SIGTERM, lambda *_: globals().__setitem__("running", False))


def sample():
    s = {"t": round(time.time(), 3)}
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    s["cpu_seconds"] = (int(fields[11]) + int(fields[12])) / tick
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:", "RssFile:", "RssShmem:")):
                k, v = line.split(":")
                s[k.lower() + "_bytes"] = int(v.split()[0]) * 1024
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(("Slab:", "SUnreclaim:")):
                k, v = line.split(":")
                s[k.lower() + "_bytes"] = int(v.split()[0]) * 1024
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()[1:]
                d = dict(zip(parts[::2], map(int, parts[1::2])))
                s["tcp_inuse"] = d.get("inuse", 0)
                s["tcp_mem_pages"] = d.get("mem", 0)
    return s


with open(out, "a") as f:
    while running:
        try:
            f.write(json.dumps(sample()) + "\n")
            f.flush()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        time.sleep(interval)
