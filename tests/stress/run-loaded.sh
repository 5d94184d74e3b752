#!/usr/bin/env bash
# The test suite from a fresh clone, as CI runs it, while CPU hogs keep every core busy.
#
#   tests/stress/run-loaded.sh [RUNS]     default 3 runs in a row; stops at the first red one
#
# Each run clones the committed HEAD next to this checkout (so ../shared is beside it,
# as in CI), runs `CI=true bash .ci/run` with pytest's --durations=10, and prints its
# wall time. The hogs (`yes >/dev/null`, one per core, HOGS=N to change) are started
# and killed by this script alone, by their PIDs. Logs: $LOG_DIR (default /tmp).
set -euo pipefail

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
runs=${1:-3}
hogs=${HOGS:-$(nproc)}
log_dir=${LOG_DIR:-/tmp}
clone=$(dirname "$repo")/.rotation-loaded-run

hog_pids=()
stop_hogs() {
  for pid in "${hog_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT
for _ in $(seq "$hogs"); do
  yes >/dev/null &
  hog_pids+=("$!")
done
echo "$hogs CPU hogs running (PIDs ${hog_pids[*]}); $runs run(s) of the suite from a fresh clone"

status=0
for run in $(seq "$runs"); do
  rm -rf "$clone"
  git clone --quiet "$repo" "$clone"
  log="$log_dir/rotation-loaded-run-$run.log"
  started=$(date +%s)
  set +e
  (cd "$clone" && CI=true PYTEST_ADDOPTS="--durations=10" bash .ci/run </dev/null) >"$log" 2>&1
  status=$?
  set -e
  wall=$(($(date +%s) - started))
  echo "run $run: exit $status, wall ${wall} s, load $(cut -d' ' -f1-3 /proc/loadavg), log $log"
  sed -n '/slowest 10 durations/,$p' "$log"
  [ "$status" -eq 0 ] || break
done
rm -rf "$clone"
exit "$status"
