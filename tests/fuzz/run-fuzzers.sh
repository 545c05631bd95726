#!/usr/bin/env bash
# make fuzz: runs each libFuzzer harness for SECONDS on a scratch copy of its corpus,
# then reports executions and crashes. New crash inputs are left in build/fuzz/crashes/
# <name>/: minimise them into tests/fuzz/regress/<name>/ together with the fix.
set -u
secs=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
status=0
# UBSan findings count as crashes (the fuzz build compiles with recovery on).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
for name in "$@"; do
  bin=$top/build/fuzz/fuzz/fuzz_$name
  work=$top/build/fuzz/corpus/$name crashes=$top/build/fuzz/crashes/$name
  mkdir -p "$work" "$crashes"
  [ -d "$top/tests/fuzz/corpus/$name" ] && cp -n "$top/tests/fuzz/corpus/$name"/* "$work"/ 2>/dev/null
  dict=(); [ -f "$top/tests/fuzz/$name.dict" ] && dict=(-dict="$top/tests/fuzz/$name.dict")
  log=$top/build/fuzz/$name.log
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${dict[@]}" "$work" "$top/tests/fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  ncrash=$(find "$crashes" -type f | wc -l)
  printf '%-24s %12s execs  %3d crash inputs  exit %d\n' "$name" "${execs:-?}" "$ncrash" "$rc"
  [ "$rc" -eq 0 ] && [ "$ncrash" -eq 0 ] || status=1
done
exit $status
