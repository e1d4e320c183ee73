#!/usr/bin/env bash
# The kernel floor: CPU per send() of one small message to each of N loopback TCP sockets, on this
# machine (bench/probe/send_floor.c; see its header for what exactly is measured).
#
#   bench/probe/run.sh            # N = 1,000 and 10,000; 1 and 8 messages per send(); 3 repeats each
#   QUICK=1 bench/probe/run.sh    # 1 repeat of 200,000 sends each (about 10 s)
# Env: NS="1000 10000" COALESCE="1 8" SIZE=64 SENDS=1000000 REPEAT=3, SERVER_CPU / GEN_CPU (sender on
#      SERVER_CPU like a server, receiver on GEN_CPU like the load generator), RESULTS, CHARTS_DIR.
. "$(dirname "$0")/../lib.sh"
trap - EXIT

NS=${NS:-1000 10000}
COALESCE=${COALESCE:-1 8}
SIZE=${SIZE:-64}
if [ "$QUICK" = 1 ]; then SENDS=${SENDS:-200000}; REPEAT=${REPEAT:-1}; else SENDS=${SENDS:-1000000}; REPEAT=${REPEAT:-3}; fi

gcc -O2 -Wall -Wextra -o "$OUT/send_floor" "$BENCH_DIR/probe/send_floor.c"
dir=$(new_run_dir probe)
write_meta "$dir" probe
write_params "$dir" ns="$NS" coalesce="$COALESCE" size="$SIZE" sends="$SENDS" repeat="$REPEAT"
log "probe -> $dir"
for n in $NS; do
  for k in $COALESCE; do
    for ((r = 1; r <= REPEAT; r++)); do
      run_logged "$dir" "$OUT/send_floor" --n "$n" --coalesce "$k" --size "$SIZE" --sends "$SENDS" \
        --sender-cpu "$SERVER_CPU" --receiver-cpu "$GEN_CPU" --label "n=$n coalesce=$k" --json "$dir/n$n-k$k-r$r.json"
    done
  done
done
ln -sfn "$(basename "$dir")" "$OUT/probe-latest"
report "$dir"
