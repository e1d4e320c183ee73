#!/usr/bin/env bash
# Scenario 4 — the STOMP broker against RabbitMQ's STOMP plugin, same client, same parameters:
#   topic      10 producers -> /topic/bench -> 10 consumers (every consumer gets every message)
#   queue      1 producer -> /queue/... -> 1 consumer, ack:auto
#   queue-ack  1 producer with a receipt on every SEND -> 1 consumer, ack:client-individual
# Send rates are stepped up until p99 delivery latency exceeds STOP_P99_MS.
#
#   bench/scenario-4-stomp.sh            # 10 s steps
#   QUICK=1 bench/scenario-4-stomp.sh    # smoke run: two 2 s steps per case
# Env: CASES="topic queue queue-ack" SERVERS="switchboard rabbitmq" STEP_SECONDS STOP_P99_MS PAYLOAD
#      RATES_TOPIC RATES_QUEUE RATES_QUEUE_ACK (messages sent per second, comma-separated),
#      RABBIT_PORT=61613, and those of lib.sh (Switchboard's STOMP listener is SB_STOMP_PORT=61614).
. "$(dirname "$0")/lib.sh"

RABBIT_PORT=${RABBIT_PORT:-61613}
CASES=${CASES:-topic queue queue-ack}
SERVERS=${SERVERS:-switchboard rabbitmq}
STOP_P99_MS=${STOP_P99_MS:-100}
PAYLOAD=${PAYLOAD:-64}
if [ "$QUICK" = 1 ]; then
  STEP_SECONDS=${STEP_SECONDS:-2}
  RATES_TOPIC=${RATES_TOPIC:-1000,5000}; RATES_QUEUE=${RATES_QUEUE:-1000,5000}; RATES_QUEUE_ACK=${RATES_QUEUE_ACK:-1000,5000}
else
  STEP_SECONDS=${STEP_SECONDS:-10}
  RATES_TOPIC=${RATES_TOPIC:-1000,2000,5000,10000,20000,50000,100000}
  RATES_QUEUE=${RATES_QUEUE:-1000,5000,10000,20000,50000,100000,200000,400000}
  RATES_QUEUE_ACK=${RATES_QUEUE_ACK:-1000,5000,10000,20000,50000,100000,200000}
fi

RABBIT_PID=""

rabbit_start() {
  wait_port_free "$RABBIT_PORT"
  log "rabbitmq: STOMP on $RABBIT_PORT, every thread pinned to core $SERVER_CPU"
  "$PEER" start rabbitmq "$RABBIT_PORT" >/dev/null 2>&1 || die "peer start rabbitmq failed (run: $PEER install)"
  RABBIT_PID=$(cat "$PEERS_DIR/rabbitmq/rabbit.pid")
  # The Erlang VM runs a scheduler per core: pin all its threads to the server core, like Switchboard.
  taskset -a -pc "$SERVER_CPU" "$RABBIT_PID" >/dev/null
  note_cmd "$PEER start rabbitmq $RABBIT_PORT; taskset -a -pc $SERVER_CPU \$(cat $PEERS_DIR/rabbitmq/rabbit.pid)   # RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null) + rabbitmq_stomp"
  SERVER_PID=$RABBIT_PID
  SERVER_NAME=rabbitmq
}

rabbit_stop() {
  [ -n "$RABBIT_PID" ] || return 0
  "$PEER" stop rabbitmq >/dev/null 2>&1 || true
  local i
  for ((i = 0; i < 150; i++)); do kill -0 "$RABBIT_PID" 2>/dev/null || break; sleep 0.1; done
  RABBIT_PID=""; SERVER_PID=""; SERVER_NAME=""
}
trap 'rabbit_stop 2>/dev/null || true; cleanup' EXIT

case_args() { # case_args CASE SERVER
  local rates
  case $1 in
    topic) rates=$RATES_TOPIC; echo "--scenario topic --producers 10 --consumers 10 --rates $rates" ;;
    queue) rates=$RATES_QUEUE; echo "--scenario queue --producers 1 --consumers 1 --rates $rates" ;;
    queue-ack) rates=$RATES_QUEUE_ACK; echo "--scenario queue-ack --producers 1 --consumers 1 --rates $rates" ;;
  esac
}

build
dir=$(new_run_dir scenario-4)
write_meta "$dir" scenario-4
write_params "$dir" cases="$CASES" servers="$SERVERS" step_seconds="$STEP_SECONDS" stop_p99_ms="$STOP_P99_MS" \
  payload="$PAYLOAD" rates_topic="$RATES_TOPIC" rates_queue="$RATES_QUEUE" rates_queue_ack="$RATES_QUEUE_ACK"
# SEND needs a login that may write (anonymous clients may send only to chat and chat.*), as RabbitMQ
# needs guest:guest.
sb_config "[[stomp.user]]" 'login = "bench"' 'passcode = "bench"' 'write = ["*"]' 'read = ["*"]'
CMD_DIR=$dir
log "scenario 4 -> $dir"

for case in $CASES; do
  for server in $SERVERS; do
    local_port=$SB_STOMP_PORT
    extra=()
    if [ "$server" = rabbitmq ]; then
      rabbit_start; local_port=$RABBIT_PORT; extra=(--user guest:guest --vhost /)
    else
      sb_start; extra=(--user bench:bench)
    fi
    json=$dir/$server-$case.json
    rc=0
    # shellcheck disable=SC2046
    echo "# $SERVER_NAME (pid $SERVER_PID measured)" >>"$dir/commands.txt"
    run_logged "$dir" taskset -c "$GEN_CPU" "$BENCH_BIN" stomp --server-pid "$SERVER_PID" --broker "127.0.0.1:$local_port" $(case_args "$case") --step-seconds "$STEP_SECONDS" \
      --stop-p99-ms "$STOP_P99_MS" --size "$PAYLOAD" --label "$server $case" --json "$json" "${extra[@]}" \
      | tee "$dir/$server-$case.log" || rc=$?
    [ "$rc" = 0 ] || log "warning: switchboard-bench exited with $rc ($server $case)"
    printf '{"server":"%s","case":"%s","file":"%s","exit":%d}\n' "$server" "$case" "$(basename "$json")" "$rc" >>"$dir/runs.jsonl"
    if [ "$server" = rabbitmq ]; then rabbit_stop; else sb_stop; fi
    sleep "${SETTLE_SECONDS:-2}"
  done
done

ensure_venv
"$VENV/bin/python" "$BENCH_DIR/report_stomp.py" "$dir" --results "$RESULTS" --charts "$CHARTS_DIR"
log "report appended to $RESULTS (charts in $CHARTS_DIR)"
