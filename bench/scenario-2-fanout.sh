#!/usr/bin/env bash
# Scenario 2 — broadcast fan-out: SIZES subscribers on one channel (WebSocket, then SSE), publish rate
# stepped up until p99 exceeds STOP_P99_MS; Switchboard and nchan one after the other, same parameters.
# Reports the highest sustained delivery rate and server CPU µs per delivery.
#
#   bench/scenario-2-fanout.sh            # 1,000 and 10,000 subscribers, 10 s steps
#   QUICK=1 bench/scenario-2-fanout.sh    # smoke run: 500 subscribers, two 2 s steps
# Env: SIZES="1000 10000" TRANSPORTS="ws sse" SERVERS="switchboard nchan" STEP_SECONDS STOP_P99_MS
#      RATES (one list for every size) or RATES_1000 / RATES_10000 (per size; other sizes scale
#      RATES_1000 by 1000/size), PAYLOAD (bytes) PUBLISHERS DEPTH, and those of lib.sh.
. "$(dirname "$0")/lib.sh"

if [ "$QUICK" = 1 ]; then
  SIZES=${SIZES:-500}; STEP_SECONDS=${STEP_SECONDS:-2}; RATES=${RATES:-20,100}
else
  SIZES=${SIZES:-1000 10000}; STEP_SECONDS=${STEP_SECONDS:-10}
fi
RATES_1000=${RATES_1000:-10,20,50,100,200,500,1000,2000}
RATES_10000=${RATES_10000:-1,2,5,10,20,50,100,200}
STOP_P99_MS=${STOP_P99_MS:-100}
PAYLOAD=${PAYLOAD:-64}
PUBLISHERS=${PUBLISHERS:-4}
DEPTH=${DEPTH:-16}   # publish requests in flight per connection (nchan stalls on deep HTTP pipelining: try DEPTH=1)
TRANSPORTS=${TRANSPORTS:-ws sse}
SERVERS=${SERVERS:-switchboard nchan}

rates_for() {
  if [ -n "${RATES:-}" ]; then echo "$RATES"; return; fi
  local v="RATES_$1"
  if [ -n "${!v:-}" ]; then echo "${!v}"; else scale_rates "$RATES_1000" "$(awk -v n="$1" 'BEGIN { print 1000 / n }')"; fi
}

build
dir=$(new_run_dir scenario-2)
write_meta "$dir" scenario-2
params=(sizes="$SIZES" transports="$TRANSPORTS" servers="$SERVERS" step_seconds="$STEP_SECONDS"
  stop_p99_ms="$STOP_P99_MS" payload="$PAYLOAD" publishers="$PUBLISHERS" depth="$DEPTH")
for n in $SIZES; do params+=("rates_$n=$(rates_for "$n")"); done
write_params "$dir" "${params[@]}"
sb_config
log "scenario 2 -> $dir"

for transport in $TRANSPORTS; do
  for n in $SIZES; do
    for server in $SERVERS; do
      run_case "$dir" "$server" "$transport-$n" "$transport" broadcast \
        --subscribers "$n" --channels 1 --rates "$(rates_for "$n")" --step-seconds "$STEP_SECONDS" \
        --stop-p99-ms "$STOP_P99_MS" --size "$PAYLOAD" --publishers "$PUBLISHERS" --depth "$DEPTH"
    done
  done
done

report "$dir"
