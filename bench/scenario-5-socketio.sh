#!/usr/bin/env bash
# Scenario 5 — Socket.IO: Switchboard's /socket.io/ against the python-socketio reference server
# (`peer start sioserver`, one asyncio process), same clients (switchboard-bench's Socket.IO clients),
# same placement. Each subscriber joins room b0 (Switchboard: the built-in `subscribe`; the reference: its
# `join` handler); one publisher emits `publish` events with acknowledgements (at most DEPTH waiting).
#   sio-1000, sio-10000   room broadcast to 1,000 and 10,000 WebSocket clients, rate stepped up until
#                         p99 > STOP_P99_MS (10,000: STOP_P99_MS_10000, 500 ms — writing one message to
#                         10,000 sockets costs ~100 ms of kernel time on one core here, see scenario 2)
#   siopoll-2000          2,000 HTTP long-polling clients at 10 messages/s each (then 20, 50)
# Each case first measures the idle server (IDLE_SECONDS) for RSS per connection.
#
#   bench/scenario-5-socketio.sh            # ~15 min
#   QUICK=1 bench/scenario-5-socketio.sh    # smoke run: 200 clients, short steps, report to bench/out/
# Env: CASES="sio-1000 sio-10000 siopoll-2000" SERVERS="switchboard sioserver" STEP_SECONDS STOP_P99_MS
#      RATES_1000 RATES_10000 RATES_POLL PAYLOAD DEPTH IDLE_SECONDS, and those of lib.sh.
. "$(dirname "$0")/lib.sh"

if [ "$QUICK" = 1 ]; then
  CASES=${CASES:-sio-200 siopoll-200}; STEP_SECONDS=${STEP_SECONDS:-2}; IDLE_SECONDS=${IDLE_SECONDS:-2}
  RATES_200=${RATES_200:-10,100}; RATES_POLL=${RATES_POLL:-10}
else
  CASES=${CASES:-sio-1000 sio-10000 siopoll-2000}; STEP_SECONDS=${STEP_SECONDS:-10}; IDLE_SECONDS=${IDLE_SECONDS:-5}
fi
RATES_1000=${RATES_1000:-10,20,50,100,200,500,1000,2000,5000}
RATES_10000=${RATES_10000:-1,2,5,10,20,50,100,200,500}
RATES_POLL=${RATES_POLL:-10,20,50}
STOP_P99_MS=${STOP_P99_MS:-100}
STOP_P99_MS_10000=${STOP_P99_MS_10000:-500}
PAYLOAD=${PAYLOAD:-64}
DEPTH=${DEPTH:-16}
SERVERS=${SERVERS:-switchboard sioserver}

build
dir=$(new_run_dir scenario-5)
write_meta "$dir" scenario-5
params=(cases="$CASES" servers="$SERVERS" step_seconds="$STEP_SECONDS" stop_p99_ms="$STOP_P99_MS"
  payload="$PAYLOAD" depth="$DEPTH" idle_seconds="$IDLE_SECONDS")
sb_config "[security]" 'client_publish = ["b*"]'
log "scenario 5 -> $dir"

for case in $CASES; do
  transport=${case%-*}
  n=${case#*-}
  if [ "$transport" = siopoll ]; then rates=$RATES_POLL; else v="RATES_$n"; rates=${!v:-$(scale_rates "$RATES_1000" "$(awk -v n="$n" 'BEGIN { print 1000 / n }')")}; fi
  stop=$STOP_P99_MS; [ "$n" -ge 10000 ] && stop=$STOP_P99_MS_10000
  params+=("rates_$case=$rates" "stop_p99_ms_$case=$stop")
done
write_params "$dir" "${params[@]}"

for case in $CASES; do
  transport=${case%-*}
  n=${case#*-}
  if [ "$transport" = siopoll ]; then rates=$RATES_POLL; else v="RATES_$n"; rates=${!v:-$(scale_rates "$RATES_1000" "$(awk -v n="$n" 'BEGIN { print 1000 / n }')")}; fi
  stop=$STOP_P99_MS; [ "$n" -ge 10000 ] && stop=$STOP_P99_MS_10000
  for server in $SERVERS; do
    run_case "$dir" "$server" "$case" "$transport" broadcast \
      --subscribers "$n" --channels 1 --rates "$rates" --step-seconds "$STEP_SECONDS" --idle-seconds "$IDLE_SECONDS" \
      --stop-p99-ms "$stop" --size "$PAYLOAD" --publishers 1 --depth "$DEPTH" --connect-rate 2000
  done
done

ensure_venv
"$VENV/bin/python" "$BENCH_DIR/report_socketio.py" "$dir" --results "$RESULTS"
log "report appended to $RESULTS"
