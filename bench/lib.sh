# bench/lib.sh: helpers shared by the scenario scripts. Source it from bash:  . "$(dirname "$0")/lib.sh"
#
# Placement (2 cores): the server under test (Switchboard, or nginx+nchan's single worker) on core
# $SERVER_CPU (0), the load generator on core $GEN_CPU (1).
#
# Environment (all optional):
#   SB_THREADS=1          Switchboard event-loop threads (1 = comparable with nginx's one worker; 2 allowed)
#   SB_CPUS               cores Switchboard is pinned to (default $SERVER_CPU for 1 thread, "0,1" for 2)
#   SB_PORT=8000          Switchboard's port;  NCHAN_PORT=8081 nchan's port (the peer's default)
#   SIO_PORT=5000         the python-socketio reference server's port (scenario 5)
#   SERVER_CPU=0 GEN_CPU=1
#   SKIP_BUILD=1          do not run `swift build` (use the binaries already in .build-release)
#   BENCH_BIN, SB_BIN     other binaries
#   PEER=/work/shared/peers/peer   PEERS_DIR=/tmp/switchboard-peers
#   QUICK=1               smoke-run sizes (each script picks its own); results go to bench/out/RESULTS-quick.md
#   RESULTS, CHARTS_DIR   where the report goes (default bench/RESULTS.md and bench/charts, or bench/out/... when QUICK=1)

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT=$BENCH_DIR/out
mkdir -p "$OUT"

SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
SB_THREADS=${SB_THREADS:-1}
if [ -z "${SB_CPUS:-}" ]; then
  if [ "$SB_THREADS" = 1 ]; then SB_CPUS=$SERVER_CPU; else SB_CPUS=0-$(($(nproc) - 1)); fi
fi
SB_PORT=${SB_PORT:-8000}
SB_STOMP_PORT=${SB_STOMP_PORT:-61614}   # not 61613: RabbitMQ's STOMP port in scenario 4
NCHAN_PORT=${NCHAN_PORT:-8081}
SIO_PORT=${SIO_PORT:-5000}
SCRATCH=${SCRATCH:-$ROOT/.build-release}
BENCH_BIN=${BENCH_BIN:-$SCRATCH/release/switchboard-bench}
SB_BIN=${SB_BIN:-$SCRATCH/release/switchboard}
PEER=${PEER:-$ROOT/../shared/peers/peer}
[ -x "$PEER" ] || PEER=/work/shared/peers/peer
PEERS_DIR=${PEERS_DIR:-/tmp/switchboard-peers}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  RESULTS=${RESULTS:-$OUT/RESULTS-quick.md}
  CHARTS_DIR=${CHARTS_DIR:-$OUT/charts}
else
  RESULTS=${RESULTS:-$BENCH_DIR/RESULTS.md}
  CHARTS_DIR=${CHARTS_DIR:-$BENCH_DIR/charts}
fi

SERVER_PID=""   # the process to measure: Switchboard, or nginx's worker
SERVER_NAME=""  # switchboard | nchan
SB_PID=""
NCHAN_MODE=""   # peer | mux (mux = bench-local nginx with multiplexed locations, scenario 3)

CMD_DIR=""      # run directory whose commands.txt gets the server start commands
note_cmd() { [ -n "$CMD_DIR" ] && printf '%s\n' "$*" >>"$CMD_DIR/commands.txt"; return 0; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Open files: 20,000 is this machine's hard limit; children inherit it.
raise_nofile() {
  local hard; hard=$(ulimit -Hn)
  local want=20000
  [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ] && want=$hard
  ulimit -n "$want" || log "warning: could not raise ulimit -n to $want"
}
raise_nofile

# Each scenario run gets a directory in bench/out with the raw JSON, meta.json and commands.txt.
new_run_dir() { # new_run_dir SCENARIO -> prints the directory
  local d; d=$OUT/$1-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$d"; echo "$d"
}

# run_logged DIR CMD...: record the exact command line in DIR/commands.txt, then run it.
run_logged() {
  local dir=$1; shift
  local a line=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then line+="$a "; else line+="'${a//\'/\'\\\'\'}' "; fi
  done
  printf '%s\n' "${line% }" >>"$dir/commands.txt"
  "$@"
}

write_meta() { # write_meta DIR SCENARIO  (machine, versions, placement)
  local dir=$1 scenario=$2
  local swiftv nginxv nchanv commit
  swiftv=$(swift --version 2>/dev/null | head -1 || true)
  nginxv=$(nginx -v 2>&1 | sed 's/.*nginx\///' || true)
  nchanv=$(dpkg-query -W -f '${Version}' libnginx-mod-nchan 2>/dev/null || true)
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)
  local dirty; dirty=$(git -C "$ROOT" status --porcelain -- Sources Package.swift 2>/dev/null | head -1)
  [ -n "$dirty" ] && commit="$commit+dirty"
  python3 - "$dir/meta.json" <<EOF
import json, os, platform, sys
cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError: pass
mem = 0
try:
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) * 1024; break
except OSError: pass
json.dump({
  "scenario": "$scenario", "date_utc": "$(date -u +'%Y-%m-%d %H:%M UTC')", "quick": "$QUICK" == "1",
  "machine": {"cpus": os.cpu_count(), "cpu_model": cpu, "mem_bytes": mem, "kernel": platform.release(),
              "nofile": "$(ulimit -n)"},
  "versions": {"swift": "$swiftv", "nginx": "$nginxv", "nchan": "$nchanv", "switchboard_commit": "$commit"},
  "placement": {"server_cpu": "$SERVER_CPU", "switchboard_cpus": "$SB_CPUS", "switchboard_threads": "$SB_THREADS",
                "generator_cpu": "$GEN_CPU"},
}, open(sys.argv[1], "w"), indent=1)
EOF
}

# --- build -------------------------------------------------------------------------------------------

build() {
  if [ "${SKIP_BUILD:-0}" = 1 ]; then
    log "SKIP_BUILD=1: using existing binaries"
  else
    log "swift build -c release --scratch-path $SCRATCH"
    (cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH")
  fi
  [ -x "$SB_BIN" ] || die "no $SB_BIN (build it: swift build -c release --scratch-path .build-release)"
  [ -x "$BENCH_BIN" ] || die "no $BENCH_BIN (the load generator; same build)"
}

# --- waiting -----------------------------------------------------------------------------------------

wait_http() { # wait_http URL [SECONDS]
  local url=$1 t=${2:-30} i
  for ((i = 0; i < t * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  die "not ready after ${t}s: $url"
}

wait_port_free() { # wait_port_free PORT [SECONDS]
  local port=$1 t=${2:-20} i
  for ((i = 0; i < t * 10; i++)); do
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . || return 0
    sleep 0.1
  done
  die "port $port still in use after ${t}s"
}

# --- Switchboard -------------------------------------------------------------------------------------

SB_CONFIG=$OUT/switchboard-bench.toml

# sb_config [EXTRA_TOML_LINES...]: the configuration the benchmarks run with (defaults otherwise). The
# extra lines come last, after [stomp], so that they may open sections and arrays of tables of their own.
# Every load-generator connection comes from 127.0.0.1: the per-address cap is raised, and the total cap
# set just under the box's 20,000 descriptors.
sb_config() {
  {
    echo "# written by bench/lib.sh"
    echo "[server]"
    echo "http = \"127.0.0.1:$SB_PORT\""
    echo "threads = $SB_THREADS"
    echo "log_level = \"${SB_LOG_LEVEL:-warning}\""
    echo "[limits]"
    echo "connections_per_address = 1000000"
    echo "max_connections = 19500"
    echo "[stomp]"
    echo "listen = \"127.0.0.1:$SB_STOMP_PORT\""
    for line in "$@"; do echo "$line"; done
  } >"$SB_CONFIG"
}

sb_start() { # sb_start: start Switchboard pinned to $SB_CPUS; sets SERVER_PID
  [ -f "$SB_CONFIG" ] || sb_config
  wait_port_free "$SB_PORT"
  log "switchboard: threads=$SB_THREADS, cores $SB_CPUS, port $SB_PORT"
  note_cmd "taskset -c $SB_CPUS ${SB_BIN#$ROOT/} serve --config ${SB_CONFIG#$ROOT/}   # $(grep -v '^#' "$SB_CONFIG" | grep -v '^\[' | tr '\n' ' ')"
  taskset -c "$SB_CPUS" "$SB_BIN" serve --config "$SB_CONFIG" >"$OUT/switchboard.log" 2>&1 &
  SB_PID=$!
  SERVER_PID=$SB_PID
  SERVER_NAME=switchboard
  wait_http "http://127.0.0.1:$SB_PORT/healthz" 30
  kill -0 "$SB_PID" 2>/dev/null || die "switchboard exited; see $OUT/switchboard.log"
}

sb_stop() {
  [ -n "$SB_PID" ] || return 0
  if kill -0 "$SB_PID" 2>/dev/null; then
    kill -TERM "$SB_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do kill -0 "$SB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SB_PID" 2>/dev/null && { log "switchboard did not stop in 15 s; SIGKILL"; kill -KILL "$SB_PID" 2>/dev/null || true; }
  fi
  wait "$SB_PID" 2>/dev/null || true
  SB_PID=""; SERVER_PID=""; SERVER_NAME=""
}

# --- nchan -------------------------------------------------------------------------------------------

nchan_master_pid() {
  local f=$PEERS_DIR/nchan/nginx.pid
  [ "$NCHAN_MODE" = mux ] && f=$OUT/nchan-mux/nginx.pid
  [ -s "$f" ] && cat "$f"
}

nchan_find_worker() { # the single worker is the master's child; pin it (and the master) to $SERVER_CPU
  local master worker i
  for ((i = 0; i < 50; i++)); do
    master=$(nchan_master_pid || true)
    if [ -n "$master" ]; then
      worker=$(pgrep -P "$master" -f 'nginx: worker' | head -1 || true)
      [ -n "$worker" ] && break
    fi
    sleep 0.1
  done
  [ -n "${worker:-}" ] || die "no nginx worker found (master ${master:-?})"
  taskset -pc "$SERVER_CPU" "$master" >/dev/null
  taskset -pc "$SERVER_CPU" "$worker" >/dev/null
  note_cmd "taskset -pc $SERVER_CPU \$(pgrep -P \$(cat nginx.pid))   # nginx master and its one worker to core $SERVER_CPU"
  SERVER_PID=$worker
  SERVER_NAME=nchan
}

# nchan_start [peer|mux]
#   peer: `peer start nchan` with the shared nchan.conf (one channel per location).
#   mux:  the same configuration plus multiplexed subscriber locations /ws/A/B and /sse/A/B
#         (nchan_channel_id $1 $2), run by this script from bench/out/nchan-mux: one connection per
#         subscriber on two channels, like Switchboard's /sub/A,B (scenario 3).
nchan_start() {
  NCHAN_MODE=${1:-peer}
  wait_port_free "$NCHAN_PORT"
  if [ "$NCHAN_MODE" = mux ]; then
    local d=$OUT/nchan-mux conf
    conf=$(dirname "$PEER")/nchan.conf
    mkdir -p "$d/logs" "$d/tmp"
    sed -e "s#@DIR@#$d#g" -e "s#@PORT@#$NCHAN_PORT#g" \
      -e 's#^\(    location = /nchan_status.*\)#    location ~ ^/ws/(\\w+)/(\\w+)$  { nchan_subscriber websocket; nchan_channel_id $1 $2; nchan_subscriber_first_message newest; }\n    location ~ ^/sse/(\\w+)/(\\w+)$ { nchan_subscriber eventsource; nchan_channel_id $1 $2; nchan_subscriber_first_message newest; }\n    location ~ ^/lp/(\\w+)/(\\w+)$  { nchan_subscriber longpoll; nchan_channel_id $1 $2; nchan_subscriber_first_message newest; }\n\1#' \
      "$conf" >"$d/nginx.conf"
    grep -q 'nchan_channel_id $1 $2' "$d/nginx.conf" || die "could not add multiplexed locations to $d/nginx.conf"
    log "nchan (mux config $d/nginx.conf) on port $NCHAN_PORT"
    note_cmd "nginx -p ${d#$ROOT/} -c nginx.conf   # shared nchan.conf + multiplexed /ws/A/B /sse/A/B /lp/A/B locations"
    nginx -p "$d" -c nginx.conf
  else
    note_cmd "$PEER start nchan $NCHAN_PORT"
    log "nchan via $PEER start nchan $NCHAN_PORT"
    "$PEER" start nchan "$NCHAN_PORT" >/dev/null
  fi
  nchan_find_worker
  wait_http "http://127.0.0.1:$NCHAN_PORT/nchan_status" 30
  log "nchan worker pid $SERVER_PID pinned to core $SERVER_CPU"
}

nchan_stop() {
  [ -n "$NCHAN_MODE" ] || return 0
  local master; master=$(nchan_master_pid || true)
  if [ "$NCHAN_MODE" = mux ]; then
    [ -n "$master" ] && kill -TERM "$master" 2>/dev/null || true
  else
    "$PEER" stop nchan >/dev/null || true
  fi
  local i
  if [ -n "$master" ]; then
    for ((i = 0; i < 100; i++)); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  fi
  wait_port_free "$NCHAN_PORT" 20
  NCHAN_MODE=""; SERVER_PID=""; SERVER_NAME=""
}

# --- python-socketio (the Socket.IO reference, scenario 5) -------------------------------------------

SIO_STARTED=""
sio_start() { # `peer start sioserver`: one Python process (asyncio + aiohttp), pinned to $SERVER_CPU
  wait_port_free "$SIO_PORT"
  note_cmd "$PEER start sioserver $SIO_PORT; taskset -pc $SERVER_CPU \$(cat $PEERS_DIR/sioserver.pid)"
  log "python-socketio via $PEER start sioserver $SIO_PORT"
  "$PEER" start sioserver "$SIO_PORT" >/dev/null
  SIO_STARTED=1
  local pid i
  for ((i = 0; i < 50; i++)); do pid=$(cat "$PEERS_DIR/sioserver.pid" 2>/dev/null || true); [ -n "$pid" ] && break; sleep 0.1; done
  taskset -pc "$SERVER_CPU" "$pid" >/dev/null
  SERVER_PID=$pid
  SERVER_NAME=sioserver
  wait_http "http://127.0.0.1:$SIO_PORT/socket.io/?EIO=4&transport=polling" 30
}

sio_stop() {
  [ -n "$SIO_STARTED" ] || return 0
  "$PEER" stop sioserver >/dev/null || true
  wait_port_free "$SIO_PORT" 20
  SIO_STARTED=""; SERVER_PID=""; SERVER_NAME=""
}

# server_start NAME [nchan mode] / server_stop: any server by name
server_start() {
  case $1 in
    switchboard) sb_start ;;
    nchan) nchan_start "${2:-peer}" ;;
    sioserver) sio_start ;;
    *) die "unknown server $1" ;;
  esac
}
server_stop() { sb_stop; nchan_stop; sio_stop; }

# Stop whatever we started when the script ends (normally or not).
cleanup() { server_stop 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the load generator ------------------------------------------------------------------------------

# bench_run DIR ARGS...: run switchboard-bench pinned to $GEN_CPU, measuring $SERVER_PID; logs the command.
bench_run() {
  local dir=$1; shift
  [ -n "$SERVER_PID" ] || die "bench_run: no server running"
  echo "# $SERVER_NAME (pid $SERVER_PID measured)" >>"$dir/commands.txt"
  run_logged "$dir" taskset -c "$GEN_CPU" "$BENCH_BIN" --server-pid "$SERVER_PID" "$@"
}

# sub_url SERVER TRANSPORT LAYOUT: the --sub-url options for a server, transport and layout.
# Prints one option per line (use: mapfile -t opts < <(sub_urls ...)).
sub_urls() {
  local server=$1 transport=$2 layout=$3 scheme=http
  [ "$transport" = ws ] && scheme=ws
  if [ "$transport" = sio ] || [ "$transport" = siopoll ]; then  # Socket.IO: the endpoint; rooms are joined
    local port=$SB_PORT t=websocket
    [ "$server" = sioserver ] && port=$SIO_PORT
    [ "$transport" = siopoll ] && { scheme=http; t=polling; } || scheme=ws
    printf '%s\n' --sub-url "$scheme://127.0.0.1:$port/socket.io/?EIO=4&transport=$t"
    return
  fi
  case $server in
    switchboard)
      local q=""
      [ "$transport" = sse ] && q="?transport=sse"
      [ "$transport" = longpoll ] && q="?transport=longpoll"
      if [ "$layout" = personal-group ]; then
        printf '%s\n' --sub-url "$scheme://127.0.0.1:$SB_PORT/sub/{ch},{group}$q"
      else
        printf '%s\n' --sub-url "$scheme://127.0.0.1:$SB_PORT/sub/{ch}$q"
      fi ;;
    nchan)
      local loc=ws
      [ "$transport" = sse ] && loc=sse
      [ "$transport" = longpoll ] && loc=lp
      if [ "$layout" = personal-group ] && [ "$NCHAN_MODE" = mux ]; then
        printf '%s\n' --sub-url "$scheme://127.0.0.1:$NCHAN_PORT/$loc/{ch}/{group}"
      elif [ "$layout" = personal-group ]; then
        printf '%s\n' --sub-url "$scheme://127.0.0.1:$NCHAN_PORT/$loc/{ch}" --sub-url "$scheme://127.0.0.1:$NCHAN_PORT/$loc/{group}"
      else
        printf '%s\n' --sub-url "$scheme://127.0.0.1:$NCHAN_PORT/$loc/{ch}"
      fi ;;
  esac
}

pub_url() { # pub_url SERVER [TRANSPORT]: Socket.IO transports publish with Socket.IO events on both servers
  case $1:${2:-} in
    switchboard:sio*) echo "ws://127.0.0.1:$SB_PORT/socket.io/?EIO=4&transport=websocket" ;;
    sioserver:*) echo "ws://127.0.0.1:$SIO_PORT/socket.io/?EIO=4&transport=websocket" ;;
    switchboard:*) echo "http://127.0.0.1:$SB_PORT/pub/{ch}" ;;
    nchan:*) echo "http://127.0.0.1:$NCHAN_PORT/pub/{ch}" ;;
  esac
}

# --- report ------------------------------------------------------------------------------------------

VENV=$OUT/venv
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV (matplotlib)"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null || "$VENV/bin/pip" install -q matplotlib
}

report() { # report DIR
  ensure_venv
  "$VENV/bin/python" "$BENCH_DIR/report.py" "$1" --results "$RESULTS" --charts "$CHARTS_DIR"
  log "report appended to $RESULTS (charts in $CHARTS_DIR)"
}

# --- one measured case -------------------------------------------------------------------------------

PY=${PY:-$(command -v /usr/bin/python3 || command -v python3)}

# run_case DIR SERVER CASE TRANSPORT LAYOUT [more switchboard-bench args...]
#   Starts SERVER (nchan in $NCHAN_START_MODE, default peer), samples it in the background
#   (bench/sampler.py), runs switchboard-bench with the subscriber/publisher URLs of that server,
#   stops the server and records the case in DIR/runs.jsonl. A failed run is recorded, not fatal.
run_case() {
  local dir=$1 server=$2 case=$3 transport=$4 layout=$5; shift 5
  CMD_DIR=$dir
  server_start "$server" "${NCHAN_START_MODE:-peer}"
  local -a sub
  mapfile -t sub < <(sub_urls "$server" "$transport" "$layout")
  local json=$dir/$server-$case.json samples=$dir/$server-$case.samples.jsonl
  local spid rc=0
  taskset -c "$GEN_CPU" "$PY" "$BENCH_DIR/sampler.py" "$SERVER_PID" "$samples" 1 &
  spid=$!
  local nconn=${#sub[@]}; nconn=$((nconn / 2))
  log "$server $case: $transport, $layout, $nconn connection(s) per subscriber"
  local -a dialect=()
  [ "$server" = sioserver ] && dialect=(--sio-dialect peer)
  bench_run "$dir" --transport "$transport" --layout "$layout" "${sub[@]}" --pub-url "$(pub_url "$server" "$transport")" \
    "${dialect[@]}" \
    --label "$server $case" --json "$json" "$@" | tee "$dir/$server-$case.log" || rc=$?
  kill -TERM "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  [ "$rc" = 0 ] || log "warning: switchboard-bench exited with $rc ($server $case)"
  local mode=""
  [ "$server" = nchan ] && mode=${NCHAN_MODE:-peer}
  server_stop
  printf '{"server":"%s","case":"%s","transport":"%s","layout":"%s","connections_per_subscriber":%d,"nchan_mode":"%s","file":"%s","samples":"%s","exit":%d}\n' \
    "$server" "$case" "$transport" "$layout" "$nconn" "$mode" "$(basename "$json")" "$(basename "$samples")" "$rc" >>"$dir/runs.jsonl"
  sleep "${SETTLE_SECONDS:-2}" # let TIME_WAIT sockets and the other core settle between runs
}

# write_params DIR KEY=VALUE...: the scenario's parameters, for the report
write_params() {
  local dir=$1; shift
  "$PY" - "$dir/params.json" "$@" <<'PYEOF'
import json, sys
json.dump(dict(a.split("=", 1) for a in sys.argv[2:]), open(sys.argv[1], "w"), indent=1)
PYEOF
}

# scale_rates "R1,R2,..." FACTOR: multiply each rate, round, at least 1, without repeats
scale_rates() {
  echo "$1" | tr ',' '\n' | awk -v f="$2" '{ r = int($1 * f + 0.5); if (r < 1) r = 1; if (!(r in seen)) { seen[r] = 1; out = out (out == "" ? "" : ",") r } } END { print out }'
}
