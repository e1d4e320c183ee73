#!/usr/bin/env bash
# Scenario 1 — idle capacity: SUBSCRIBERS idle subscribers (WebSocket, then SSE) on Switchboard and on
# nchan, one server after the other, same parameters. Reports connection rate during ramp-up, RSS per
# connection and idle CPU (from switchboard-bench), kernel slab per connection (bench/sampler.py).
#
#   bench/scenario-1-idle.sh             # 15,000 subscribers, 30 s idle
#   QUICK=1 bench/scenario-1-idle.sh     # smoke run: 1,000 subscribers, 5 s idle
# Env: SUBSCRIBERS IDLE_SECONDS CHANNELS (subscribers spread over b0..b{C-1}; default 1) CONNECT_RATE
#      TRANSPORTS="ws sse" SERVERS="switchboard nchan", and those of lib.sh (SB_THREADS, SKIP_BUILD...).
. "$(dirname "$0")/lib.sh"

if [ "$QUICK" = 1 ]; then
  SUBSCRIBERS=${SUBSCRIBERS:-1000}; IDLE_SECONDS=${IDLE_SECONDS:-5}
else
  SUBSCRIBERS=${SUBSCRIBERS:-15000}; IDLE_SECONDS=${IDLE_SECONDS:-30}
fi
CHANNELS=${CHANNELS:-1}
CONNECT_RATE=${CONNECT_RATE:-0}
TRANSPORTS=${TRANSPORTS:-ws sse}
SERVERS=${SERVERS:-switchboard nchan}

build
dir=$(new_run_dir scenario-1)
write_meta "$dir" scenario-1
write_params "$dir" subscribers="$SUBSCRIBERS" idle_seconds="$IDLE_SECONDS" channels="$CHANNELS" \
  connect_rate="$CONNECT_RATE" transports="$TRANSPORTS" servers="$SERVERS"
sb_config
log "scenario 1 -> $dir"

for transport in $TRANSPORTS; do
  for server in $SERVERS; do
    run_case "$dir" "$server" "$transport-$SUBSCRIBERS" "$transport" broadcast \
      --subscribers "$SUBSCRIBERS" --channels "$CHANNELS" --connect-rate "$CONNECT_RATE" \
      --idle-seconds "$IDLE_SECONDS"
  done
done

report "$dir"
