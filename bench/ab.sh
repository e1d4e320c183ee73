#!/usr/bin/env bash
# A/B of two server builds on the fan-out scenarios, taking turns round by round (the machine's noise
# hits both alike): scenario 2 (WebSocket and SSE, 1,000 subscribers) and scenario 5 (Socket.IO, 1,000
# clients), Switchboard only, short steps. Prints one line per step: scenario, case, rate, build, round,
# server CPU µs/delivery, p99 ms, p50 ms, deliveries/s, lost.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY        # ~6 minutes
# Env: ROUNDS=3 ROUNDS_SIO=2 RATES="50,100" STEP_SECONDS=5, and those of lib.sh (BENCH_BIN: the load
# generator, by default .build-release's).
set -euo pipefail
[ $# = 2 ] || { sed -n '2,9p' "$0"; exit 2; }
BENCH=$(cd "$(dirname "$0")" && pwd)
OLD=$1 NEW=$2
ROUNDS=${ROUNDS:-3} ROUNDS_SIO=${ROUNDS_SIO:-2} RATES=${RATES:-50,100} STEP_SECONDS=${STEP_SECONDS:-5}
LOG=$(mktemp)
run() { # run SCENARIO LABEL BINARY ROUND
  local scenario=$1 label=$2 bin=$3 round=$4
  if [ "$scenario" = 2 ]; then
    SB_BIN=$bin SKIP_BUILD=1 SERVERS=switchboard SIZES=1000 TRANSPORTS="ws sse" RATES=$RATES \
      STEP_SECONDS=$STEP_SECONDS RESULTS=$(mktemp) CHARTS_DIR=$(mktemp -d) "$BENCH/scenario-2-fanout.sh"
  else
    SB_BIN=$bin SKIP_BUILD=1 SERVERS=switchboard CASES=sio-1000 RATES_1000=$RATES STEP_SECONDS=$STEP_SECONDS \
      IDLE_SECONDS=2 RESULTS=$(mktemp) CHARTS_DIR=$(mktemp -d) "$BENCH/scenario-5-socketio.sh"
  fi 2>&1 | grep -E "scenario $scenario ->" | sed "s/^/$label $round /" >>"$LOG"
}
for round in $(seq "$ROUNDS"); do run 2 old "$OLD" "$round"; run 2 new "$NEW" "$round"; done
for round in $(seq "$ROUNDS_SIO"); do run 5 old "$OLD" "$round"; run 5 new "$NEW" "$round"; done
python3 - "$LOG" <<'PY'
import glob, json, re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) (\d+) \[.*\] scenario (\d) -> (\S+)", line)
    if not m:
        continue
    build, round_, scenario, directory = m.groups()
    for path in sorted(glob.glob(directory + "/switchboard-*.json")):
        case = path.rsplit("/", 1)[1][len("switchboard-"):-len(".json")]
        for s in json.load(open(path))["steps"]:
            rows.append((scenario, case, s["rate_target"], build, int(round_), s["server_cpu_us_per_delivery"],
                         s["latency_ms"]["p99"], s["latency_ms"]["p50"], round(s["deliveries_per_second"]), s["lost"]))
for row in sorted(rows):
    print(*row)
PY
