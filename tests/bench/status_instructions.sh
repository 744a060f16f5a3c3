#!/usr/bin/env bash
# Instructions a sparkswarm binary spends writing N statuses (issue 15, point 3), counted
# by callgrind: repeatable whatever else the machine is doing, so two binaries can be set
# side by side on a busy machine where wall times are not comparable.
#
#   tests/bench/status_instructions.sh BIN [N]    # N: 2000 SparkJob files; prints the total
#
# The callgrind output is kept (its path is printed) for `callgrind_annotate --inclusive=yes`.
set -euo pipefail
bin="$(realpath "$1")"
n="${2:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
work="$(mktemp -d)"
mkdir -p "$work/manifests" "$work/apps"
echo "print('hi')" >"$work/apps/app.py"
for i in $(seq -f %05g 0 $((n - 1))); do
  printf '# benchmark job\napiVersion: sparkswarm.io/v1alpha1\nkind: SparkJob\nmetadata:\n  name: job-%s\nspec:\n  clusterRef: missing\n  mainApplicationFile: ../apps/app.py\n' \
    "$i" >"$work/manifests/job-$i.yaml"
done
out="$work/callgrind.out"
port=$((39000 + RANDOM % 1000))
cd "$work"
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" run --metrics-addr "127.0.0.1:$port" >"$work/operator.log" 2>&1 &
vg=$!
# The metrics gauge, not the files: reading the files would wake the operator's watcher.
until curl -s "127.0.0.1:$port/metrics" | grep -q "^sparkswarm_jobs{phase=\"Pending\"} $n\$"; do
  kill -0 "$vg" 2>/dev/null || { echo "the operator exited; see $work/operator.log" >&2; exit 1; }
  sleep 1
done
missing=$(grep -L '^status:' manifests/*.yaml | wc -l)
[ "$missing" -eq 0 ] || { echo "$missing files have no status" >&2; exit 1; }
kill -TERM "$vg"
wait "$vg" || true
total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {print $1}')
echo "$n statuses: $total instructions ($out)"
