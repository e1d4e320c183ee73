#!/usr/bin/env bash
# Scenario 7: Switchboard nodes on one Redis (engine.type = "redis"), against one node.
#
#   cluster       3 nodes (:8001 publishes, :8002 and :8003 carry the subscribers, spread evenly) + Redis
#   one-redis     1 node on Redis: publisher and subscribers on it (the Redis engine's own cost)
#   one-memory    1 node, memory engine: today's single node
#
# Same load for each: WebSocket subscribers of one channel, HTTP publishes at stepped rates; the load
# generator reports deliveries/s, latency percentiles (publish on A -> delivery on B/C), lost and
# duplicated messages, and the CPU per delivery of the node measured (a subscribers' node).
# Everything shares this machine's 2 cores (nodes, Redis, the generator): compare ratios within one run.
#
#   bench/scenario-7-cluster.sh            # ~5 minutes
# Env: SUBSCRIBERS=1000 RATES=100,200,500,1000 STEP_SECONDS=8 CASES="cluster one-redis one-memory",
#      SKIP_BUILD=1, and those of lib.sh. Output: bench/out/scenario-7-*/ (JSON per case, logs).
. "$(dirname "$0")/lib.sh"

SUBSCRIBERS=${SUBSCRIBERS:-1000}
RATES=${RATES:-100,200,500,1000}
STEP_SECONDS=${STEP_SECONDS:-8}
CASES=${CASES:-"cluster one-redis one-memory"}
REDIS_PORT=${REDIS_PORT:-6390}
REDIS=$(command -v redis-server || echo /usr/sbin/redis-server)

build
raise_nofile
dir=$(new_run_dir scenario-7)
write_meta "$dir" scenario-7
log "scenario 7 -> $dir"
PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap stop_all EXIT

start_redis() {
  wait_port_free "$REDIS_PORT"
  "$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$dir/redis.log" &
  PIDS+=($!)
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  die "redis-server did not start"
}

start_node() { # start_node PORT ENGINE -> NODE_PID
  local port=$1 engine=$2 config=$dir/node-$1.toml
  wait_port_free "$port"
  {
    echo "[server]"; echo "http = \"127.0.0.1:$port\""; echo "threads = 1"; echo "log_level = \"warning\""
    echo "[limits]"; echo "connections_per_address = 1000000"; echo "max_connections = 19500"
    echo "[stomp]"; echo "listen = \"off\""
    if [ "$engine" = redis ]; then echo "[engine]"; echo "type = \"redis\""; echo "redis = [\"redis://127.0.0.1:$REDIS_PORT\"]"; fi
  } >"$config"
  echo "$SB_BIN serve --config ${config#$ROOT/}" >>"$dir/commands.txt"
  "$SB_BIN" serve --config "$config" >"$dir/node-$port.log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  wait_http "http://127.0.0.1:$port/healthz" 30
}

run() { # run CASE MEASURED_PID PUB_PORT SUB_PORT...
  local case=$1 measured=$2 pub=$3; shift 3
  local -a subs=()
  for port in "$@"; do subs+=(--sub-url "ws://127.0.0.1:$port/sub/{ch}"); done
  log "$case: $SUBSCRIBERS subscribers on port(s) $*, publishing on $pub"
  echo "# $case (pid $measured measured)" >>"$dir/commands.txt"
  run_logged "$dir" taskset -c "$GEN_CPU" "$BENCH_BIN" --server-pid "$measured" --transport ws --layout broadcast \
    "${subs[@]}" --spread --pub-url "http://127.0.0.1:$pub/pub/{ch}" --subscribers "$SUBSCRIBERS" --channels 1 \
    --rates "$RATES" --step-seconds "$STEP_SECONDS" --label "$case" --json "$dir/$case.json" | tee "$dir/$case.log"
}

for case in $CASES; do
  case $case in
    cluster)
      start_redis
      start_node 8001 redis; start_node 8002 redis; b=$NODE_PID; start_node 8003 redis
      run cluster "$b" 8001 8002 8003 ;;
    one-redis)
      start_redis
      start_node 8001 redis
      run one-redis "$NODE_PID" 8001 8001 ;;
    one-memory)
      start_node 8001 memory
      run one-memory "$NODE_PID" 8001 8001 ;;
    *) die "unknown case $case" ;;
  esac
  stop_all
  sleep 2
done

"$PY" - "$dir" <<'PYEOF'
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
print("\n| case | rate/s | published/s | deliveries/s | p50 ms | p99 ms | lost | dup | CPU µs/delivery (measured node) |")
print("|---|---|---|---|---|---|---|---|---|")
for case in ("cluster", "one-redis", "one-memory"):
    f = d / f"{case}.json"
    if not f.exists():
        continue
    for s in json.loads(f.read_text())["steps"]:
        cpu = s.get("server_cpu_us_per_delivery")
        print(f"| {case} | {s['rate_target']:g} | {s['publish_rate']:g} | {s['deliveries_per_second']:.0f} | "
              f"{s['latency_ms']['p50']:.2f} | {s['latency_ms']['p99']:.2f} | {s['lost']} | {s['duplicates']} | "
              f"{cpu if cpu is None else round(cpu, 2)} |")
PYEOF
