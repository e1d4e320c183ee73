#!/usr/bin/env bash
# Scenario 3 — many channels: SUBSCRIBERS subscribers, each on a personal channel p{i} and a group
# channel g{i/GROUP_SIZE}; publishes to random channels over HTTP, rate stepped up until p99 exceeds
# STOP_P99_MS (50). Switchboard and nchan one after the other, same parameters. Reports deliveries/s
# at p99 <= 50 ms and server CPU µs per delivery.
#
# Switchboard subscribes each subscriber with one connection: /sub/{ch},{group}.
# nchan: NCHAN_S3_MODE=mux (default) gives it the same shape — one connection on two channels, through
# nchan's channel multiplexing (nchan_channel_id $1 $2; lib.sh runs nginx with the shared nchan.conf
# plus /ws/A/B, /sse/A/B locations). NCHAN_S3_MODE=split uses the peer's one-channel locations and two
# connections per subscriber; 2 x 10,000 connections do not fit nginx's worker_connections (19,000) nor
# the 20,000 open files, so split mode defaults to 9,000 subscribers (for both servers).
#
#   bench/scenario-3-channels.sh          # 10,000 subscribers, 10 s steps
#   QUICK=1 bench/scenario-3-channels.sh  # smoke run: 1,000 subscribers, two 2 s steps
# Env: SUBSCRIBERS GROUP_SIZE RATES STEP_SECONDS STOP_P99_MS PAYLOAD PUBLISHERS DEPTH TRANSPORTS="ws"
#      SERVERS NCHAN_S3_MODE, and those of lib.sh.
. "$(dirname "$0")/lib.sh"

NCHAN_S3_MODE=${NCHAN_S3_MODE:-mux}
if [ "$QUICK" = 1 ]; then
  SUBSCRIBERS=${SUBSCRIBERS:-1000}; STEP_SECONDS=${STEP_SECONDS:-2}; RATES=${RATES:-200,1000}
else
  if [ "$NCHAN_S3_MODE" = split ]; then SUBSCRIBERS=${SUBSCRIBERS:-9000}; else SUBSCRIBERS=${SUBSCRIBERS:-10000}; fi
  STEP_SECONDS=${STEP_SECONDS:-10}
fi
GROUP_SIZE=${GROUP_SIZE:-10}
RATES=${RATES:-200,500,1000,2000,5000,10000,20000,50000}
STOP_P99_MS=${STOP_P99_MS:-50}
PAYLOAD=${PAYLOAD:-64}
PUBLISHERS=${PUBLISHERS:-4}
DEPTH=${DEPTH:-16}   # publish requests in flight per connection (nchan stalls on deep HTTP pipelining: try DEPTH=1)
TRANSPORTS=${TRANSPORTS:-ws}
SERVERS=${SERVERS:-switchboard nchan}
export NCHAN_START_MODE=$NCHAN_S3_MODE
[ "$NCHAN_S3_MODE" = split ] && NCHAN_START_MODE=peer

build
dir=$(new_run_dir scenario-3)
write_meta "$dir" scenario-3
write_params "$dir" subscribers="$SUBSCRIBERS" group_size="$GROUP_SIZE" rates="$RATES" step_seconds="$STEP_SECONDS" \
  stop_p99_ms="$STOP_P99_MS" payload="$PAYLOAD" publishers="$PUBLISHERS" depth="$DEPTH" transports="$TRANSPORTS" \
  servers="$SERVERS" nchan_mode="$NCHAN_S3_MODE"
sb_config
log "scenario 3 -> $dir"

for transport in $TRANSPORTS; do
  for server in $SERVERS; do
    run_case "$dir" "$server" "$transport-$SUBSCRIBERS" "$transport" personal-group \
      --subscribers "$SUBSCRIBERS" --group-size "$GROUP_SIZE" --rates "$RATES" --step-seconds "$STEP_SECONDS" \
      --stop-p99-ms "$STOP_P99_MS" --size "$PAYLOAD" --publishers "$PUBLISHERS" --depth "$DEPTH"
  done
done

report "$dir"
