#!/usr/bin/env bash
# Scenario 6 — the WebSocket-to-TCP bridge against websockify (the peers' venv has it), both in front of
# the same NIO targets (`switchboard-bench echo`: an echo, a sink, a source), the bridge pinned to core 0,
# the client and the targets to core 1:
#   download / upload   bulk throughput on one connection each way (MB/s, bridge CPU s per GB)
#   echo                both ways at once
#   latency             small round trips through the bridge and straight to the echo target (p50/p99:
#                       what the bridge adds)
#   concurrent          1,000 connections at 10 messages/s each (round trips, bridge CPU)
# websockify forks a process per connection: its CPU is measured with its children.
#
#   bench/scenario-6-bridge.sh            # ~3 min
#   QUICK=1 bench/scenario-6-bridge.sh    # smoke run, report to bench/out/
# Env: MEGABYTES (512) MESSAGES (20000) CONNECTIONS (1000) RATE (10) SECONDS (10) SERVERS, and lib.sh's.
. "$(dirname "$0")/lib.sh"

if [ "$QUICK" = 1 ]; then
  MEGABYTES=${MEGABYTES:-32}; MESSAGES=${MESSAGES:-2000}; CONNECTIONS=${CONNECTIONS:-100}; SECONDS_RUN=${SECONDS_RUN:-3}
else
  MEGABYTES=${MEGABYTES:-512}; MESSAGES=${MESSAGES:-20000}; CONNECTIONS=${CONNECTIONS:-1000}; SECONDS_RUN=${SECONDS_RUN:-10}
fi
RATE=${RATE:-10}
SERVERS=${SERVERS:-switchboard websockify}
WEBSOCKIFY=${WEBSOCKIFY:-$PEERS_DIR/venv/bin/websockify}
ECHO_PORT=7101 SINK_PORT=7102 SOURCE_PORT=7103
WSF_ECHO=6181 WSF_SINK=6182 WSF_SOURCE=6183

build
[ -x "$WEBSOCKIFY" ] || die "no websockify at $WEBSOCKIFY (run: $PEER install)"
dir=$(new_run_dir scenario-6)
CMD_DIR=$dir
write_meta "$dir" scenario-6
write_params "$dir" megabytes="$MEGABYTES" messages="$MESSAGES" connections="$CONNECTIONS" rate="$RATE" \
  seconds="$SECONDS_RUN" servers="$SERVERS"
log "scenario 6 -> $dir"

TARGET_PIDS=()
for spec in "echo:$ECHO_PORT" "sink:$SINK_PORT" "source:$SOURCE_PORT"; do
  mode=${spec%%:*} port=${spec#*:}
  note_cmd "taskset -c $GEN_CPU ${BENCH_BIN#$ROOT/} echo --listen 127.0.0.1:$port --mode $mode &"
  taskset -c "$GEN_CPU" "$BENCH_BIN" echo --listen "127.0.0.1:$port" --mode "$mode" >/dev/null 2>&1 &
  TARGET_PIDS+=($!)
done
trap 'kill "${TARGET_PIDS[@]}" 2>/dev/null || true; cleanup' EXIT
sleep 1

# Every client comes from 127.0.0.1: the per-address limit (100 by default) is raised for the run.
sb_config "[bridge]" "max_connections_per_address = 10000" "[[bridge.route]]" "path = \"/bridge-echo\"" "target = \"127.0.0.1:$ECHO_PORT\"" \
  "[[bridge.route]]" "path = \"/bridge-sink\"" "target = \"127.0.0.1:$SINK_PORT\"" \
  "[[bridge.route]]" "path = \"/bridge-source\"" "target = \"127.0.0.1:$SOURCE_PORT\""

bridge_run() { # bridge_run DIR ARGS...: `switchboard-bench bridge` on the generator's core, measuring $SERVER_PID
  local dir=$1; shift
  echo "# $SERVER_NAME (pid $SERVER_PID measured)" >>"$dir/commands.txt"
  run_logged "$dir" taskset -c "$GEN_CPU" "$BENCH_BIN" bridge --server-pid "$SERVER_PID" "$@"
}

run_bridge() { # run_bridge SERVER URL_ECHO URL_SINK URL_SOURCE
  local server=$1 urls_echo=$2 url_sink=$3 url_source=$4 out
  for run in download upload echo latency concurrent; do
    out=$dir/$server-$run.json
    case $run in
      download) bridge_run "$dir" --url "$url_source" --scenario download --megabytes "$MEGABYTES" --label "$server $run" --json "$out" ;;
      upload) bridge_run "$dir" --url "$url_sink" --scenario upload --megabytes "$MEGABYTES" --label "$server $run" --json "$out" ;;
      echo) bridge_run "$dir" --url "$urls_echo" --scenario throughput --megabytes "$((MEGABYTES / 2))" --label "$server $run" --json "$out" ;;
      latency) bridge_run "$dir" --url "$urls_echo" --direct "127.0.0.1:$ECHO_PORT" --scenario latency --messages "$MESSAGES" --label "$server $run" --json "$out" ;;
      concurrent) bridge_run "$dir" --url "$urls_echo" --scenario concurrent --connections "$CONNECTIONS" --rate "$RATE" --seconds "$SECONDS_RUN" --label "$server $run" --json "$out" ;;
    esac >/dev/null || log "warning: $server $run failed"
    printf '{"server":"%s","case":"%s","file":"%s"}\n' "$server" "$run" "$(basename "$out")" >>"$dir/runs.jsonl"
  done
}

for server in $SERVERS; do
  case $server in
    switchboard)
      sb_start
      run_bridge switchboard "ws://127.0.0.1:$SB_PORT/bridge-echo" "ws://127.0.0.1:$SB_PORT/bridge-sink" "ws://127.0.0.1:$SB_PORT/bridge-source"
      sb_stop ;;
    websockify)
      # One websockify per target (it bridges one target per listener); each measured with its children.
      for pair in "$WSF_ECHO:$ECHO_PORT" "$WSF_SINK:$SINK_PORT" "$WSF_SOURCE:$SOURCE_PORT"; do
        note_cmd "taskset -c $SERVER_CPU $WEBSOCKIFY 127.0.0.1:${pair%%:*} 127.0.0.1:${pair#*:} &"
        taskset -c "$SERVER_CPU" "$WEBSOCKIFY" "127.0.0.1:${pair%%:*}" "127.0.0.1:${pair#*:}" >/dev/null 2>&1 &
      done
      sleep 2
      wsf_pid() { pgrep -f "websockify 127.0.0.1:$1 " | head -1; }
      SERVER_NAME=websockify
      SERVER_PID=$(wsf_pid $WSF_SOURCE); bridge_run "$dir" --url "ws://127.0.0.1:$WSF_SOURCE/" --scenario download --megabytes "$MEGABYTES" --label "websockify download" --json "$dir/websockify-download.json" >/dev/null || true
      printf '{"server":"websockify","case":"download","file":"websockify-download.json"}\n' >>"$dir/runs.jsonl"
      SERVER_PID=$(wsf_pid $WSF_SINK); bridge_run "$dir" --url "ws://127.0.0.1:$WSF_SINK/" --scenario upload --megabytes "$MEGABYTES" --label "websockify upload" --json "$dir/websockify-upload.json" >/dev/null || true
      printf '{"server":"websockify","case":"upload","file":"websockify-upload.json"}\n' >>"$dir/runs.jsonl"
      SERVER_PID=$(wsf_pid $WSF_ECHO)
      bridge_run "$dir" --url "ws://127.0.0.1:$WSF_ECHO/" --scenario throughput --megabytes "$((MEGABYTES / 2))" --label "websockify echo" --json "$dir/websockify-echo.json" >/dev/null || true
      printf '{"server":"websockify","case":"echo","file":"websockify-echo.json"}\n' >>"$dir/runs.jsonl"
      bridge_run "$dir" --url "ws://127.0.0.1:$WSF_ECHO/" --direct "127.0.0.1:$ECHO_PORT" --scenario latency --messages "$MESSAGES" --label "websockify latency" --json "$dir/websockify-latency.json" >/dev/null || true
      printf '{"server":"websockify","case":"latency","file":"websockify-latency.json"}\n' >>"$dir/runs.jsonl"
      bridge_run "$dir" --url "ws://127.0.0.1:$WSF_ECHO/" --scenario concurrent --connections "$CONNECTIONS" --rate "$RATE" --seconds "$SECONDS_RUN" --label "websockify concurrent" --json "$dir/websockify-concurrent.json" >/dev/null || true
      printf '{"server":"websockify","case":"concurrent","file":"websockify-concurrent.json"}\n' >>"$dir/runs.jsonl"
      pkill -f "websockify 127.0.0.1:618" || true
      SERVER_PID=""; SERVER_NAME="" ;;
  esac
done

"$PY" "$BENCH_DIR/report_bridge.py" "$dir" --results "$RESULTS"
log "report appended to $RESULTS"
