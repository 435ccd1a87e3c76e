#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time and prints the executions
# each made. Usage: scripts/fuzz.sh [seconds per target, default 60].
# Builds with clang into $FUZZ_BUILD_DIR (default build-fuzz). New inputs
# go to a scratch corpus, never into fuzz/corpus; a crash leaves its input
# in $FUZZ_OUT (default build-fuzz/findings) and fails the script: add it
# to fuzz/regressions/<target>/ with the fix, and CTest replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
case $secs in
'' | *[!0-9]* | 0)
	echo "usage: scripts/fuzz.sh [seconds per target, a whole number >= 1; default 60]" >&2
	exit 2
	;;
esac
dir=${FUZZ_BUILD_DIR:-build-fuzz}
out=${FUZZ_OUT:-$dir/findings}
jobs=${FUZZ_JOBS:-$(nproc)}
targets=(mappings labels values base64 vault kv kube sync)

CC=clang scripts/build.sh "$dir" -DVK_FUZZ=ON >/dev/null
rm -rf "$out"
mkdir -p "$out"

run_one() {
	local t=$1 work="$out/$1"
	mkdir -p "$work/corpus" "$work/crash"
	# -close_fd_mask=3: the helpers' log lines would drown the stats.
	if "$dir/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
		-close_fd_mask=3 -artifact_prefix="$work/crash/" \
		"$work/corpus" "fuzz/corpus/$t" >"$work/log" 2>&1; then
		echo ok >"$work/status"
	else
		echo failed >"$work/status"
	fi
}
export -f run_one
export dir out secs

echo "== fuzzing ${#targets[@]} targets, ${secs}s each, $jobs at a time"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

failed=0
total=0
printf '%-10s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
	work="$out/$t"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" |
		tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" |
		tail -1)
	n=$(find "$work/corpus" "fuzz/corpus/$t" -type f | wc -l)
	result=$(cat "$work/status")
	crashes=$(find "$work/crash" -type f | wc -l)
	if [ "$result" != ok ] || [ "$crashes" -gt 0 ]; then
		failed=1
		result="FAILED: $(find "$work/crash" -type f | head -1) (log $work/log)"
	fi
	total=$((total + ${execs:-0}))
	printf '%-10s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" \
		"$n" "$result"
done
echo "total executions: $total"
if [ "$failed" -ne 0 ]; then
	echo "fuzz: a target crashed or failed; its log and input are above"
	exit 1
fi
