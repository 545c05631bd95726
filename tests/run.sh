#!/usr/bin/env bash
# Runs every test and prints, as its last line, "N passed, N failed, N skipped".
# Usage: tests/run.sh BUILD_DIR [style|unit|integration|e2e|PATTERN]
#   PATTERN is one test's name (unit/test_dhcp_packet, integration/hv_logic,
#   e2e/hv_vms) or part of several names (hv_, unit/test_dhcp).
# Unit tests are cmocka binaries (TAP output); integration and e2e tests are shell
# scripts that print TAP lines through tests/lib/tap.sh. A script that dies without
# reporting, or runs past its timeout, counts as one failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/${1:-build/asan}"
build=$(cd "$top/${1:-build/asan}" && pwd)
filter=${2:-}
export SS_TOP=$top SS_BUILD=$build SS_BIN=$build/bin SS_NORMAL_BIN=$top/build/bin
logs=$top/build/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0
failures=()
# What matches the test prefix before any test runs was left by something else (an
# earlier run that was killed): tests/leftovers.sh names it but does not blame this run.
{ ip netns list 2>/dev/null | awk '{print $1}'; ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'; } |
  grep -E '^ss[0-9]' >"$logs/leftovers.before" || true
export SS_LEFTOVERS_BEFORE=$logs/leftovers.before

count() { # $1 = log file, $2 = test group name; adds its TAP lines to the totals
  # cmocka prints a skip as "not ok N # SKIP name", shell tests as "ok N - name # SKIP why".
  local p f s
  s=$(grep -cE '^(not )?ok .*# ?SKIP' "$1")
  p=$(grep -E '^ok( |$)' "$1" | grep -cvE '# ?SKIP')
  f=$(grep -E '^not ok( |$)' "$1" | grep -cvE '# ?SKIP')
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  grep -E '^not ok' "$1" | grep -vE '# ?SKIP' | sed "s|^|  $2: |"
  grep -E '^(not )?ok .*# ?SKIP' "$1" | sed "s|^|  $2: |"
  [ "$f" -eq 0 ] || failures+=("$2")
  printf '%-40s %3d passed %3d failed %3d skipped\n' "$2" "$p" "$f" "$s"
}

run_one() { # $1 = name, rest = command
  local name=$1; shift
  local log="$logs/$name.log" rc limit
  limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "${TEST_SCRIPT:-/dev/null}" 2>/dev/null | head -1)
  limit=$((${limit:-900} * ${SS_TIMEOUT_SCALE:-1}))
  timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null
  rc=$?
  if ! grep -qE '^(not )?ok' "$log"; then
    echo "not ok - $name produced no test result (exit $rc)" >>"$log"
  elif [ "$rc" -ne 0 ] && ! grep -E '^not ok' "$log" | grep -qvE '# ?SKIP'; then
    echo "not ok - $name exited $rc after its results" >>"$log"
  fi
  [ "$rc" -eq 124 ] && echo "not ok - $name timed out after ${limit}s" >>"$log"
  count "$log" "$name"
}

# A filter that names one test runs just that one (e2e/images, not images_repro too).
exact=0
case $filter in
unit/*) [ -x "$build/tests/$filter" ] && exact=1 ;;
integration/* | e2e/*) [ -f "$top/tests/$filter.sh" ] && exact=1 ;;
esac
want() { [ -z "$filter" ] || [ "$1" = "$filter" ] || { [ "$exact" = 0 ] && [[ "$1" == *"$filter"* ]]; }; }

wrap=()
vgopts="-q --suppressions=$top/tests/valgrind.supp --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect"
# shellcheck disable=SC2206 # vgopts holds separate words without spaces inside
[ "${MEMCHECK:-0}" = 1 ] && wrap=(valgrind $vgopts --error-exitcode=99)

# First the style checks (seconds): clang-format, cppcheck, shellcheck, a TAP line each.
if [ "${MEMCHECK:-0}" != 1 ] && want style; then
  TEST_SCRIPT=$top/tests/style.sh run_one style bash "$top/tests/style.sh"
fi

for t in "$build"/tests/unit/*; do
  [ -x "$t" ] || continue
  n=unit/$(basename "$t")
  want "$n" || continue
  CMOCKA_MESSAGE_OUTPUT=TAP TEST_SCRIPT='' run_one "${n//\//_}" "${wrap[@]}" "$t"
done

# make memcheck: the integration tests of lib/ and the servers too, every program they
# start wrapped in valgrind (a log per process; -q prints only errors and leaks, so a
# non-empty log fails). A process killed with SIGKILL gets no leak check, only the
# error check while it ran.
if [ "${MEMCHECK:-0}" = 1 ]; then
  vgbin=$build/memcheck-bin vglogs=$logs/memcheck
  rm -rf "$vgbin" "$vglogs"
  mkdir -p "$vgbin" "$vglogs"
  for p in "$build"/bin/*; do
    [ -x "$p" ] || continue
    printf '#!/bin/sh\nexec valgrind %s --log-file=%s/%s-%%p.vg %s "$@"\n' \
      "$vgopts" "$vglogs" "$(basename "$p")" "$p" >"$vgbin/$(basename "$p")"
    chmod 755 "$vgbin/$(basename "$p")"
  done
  for n in ${MEMCHECK_TESTS:-srpc server netsvc_tftp netsvc_dhcp metadata vm_control_cli hv_logic}; do
    t=$top/tests/integration/$n.sh
    [ -f "$t" ] || continue
    want "integration/$n" || continue
    rm -f "$vglogs"/*.vg
    SS_TIMEOUT_SCALE=4 SS_BIN=$vgbin TEST_SCRIPT=$t run_one "memcheck_integration_$n" bash "$t"
    vlog=$logs/memcheck_valgrind_$n.log
    : >"$vlog"
    i=0
    for f in "$vglogs"/*.vg; do
      [ -e "$f" ] || continue
      i=$((i + 1))
      # Errors and leaks are "==PID==" lines; "--PID--" lines are valgrind's own notes
      # (e.g. openat2, which it does not know: fsutil falls back to its portable walk).
      if grep -q '^==[0-9]*==' "$f"; then
        echo "not ok $i - valgrind: $(basename "$f" .vg)" >>"$vlog"
        grep '^==[0-9]*==' "$f" | sed 's/^/# /' | head -60 >>"$vlog"
        cp "$f" "$logs/"
      else
        echo "ok $i - valgrind: $(basename "$f" .vg) clean" >>"$vlog"
      fi
    done
    [ "$i" -gt 0 ] || echo "not ok 1 - valgrind: no process of $n ran under valgrind" >>"$vlog"
    count "$vlog" "memcheck_valgrind_$n"
  done
fi

# Tests with a `# parallel: GROUP` line (QEMU boots under TCG: each keeps one core
# busy) run together when the first of their group comes up, at most SS_PARALLEL
# (default 2, one per core here) at once; their results are counted in name order.
parallel_group() { sed -n 's/^# parallel: *\([a-z0-9_-]*\).*/\1/p' "$1" | head -1; }
run_group() { # $1 = group, $2 = kind: every wanted test of the group, in parallel
  local t n names=() running=0
  for t in "$top/tests/$2"/*.sh; do
    [ "$(parallel_group "$t")" = "$1" ] || continue
    n=$2/$(basename "$t" .sh)
    want "$n" || continue
    names+=("${n//\//_}")
    TEST_SCRIPT=$t run_one "${n//\//_}" bash "$t" >"$logs/${n//\//_}.count" &
    running=$((running + 1))
    if [ "$running" -ge "${SS_PARALLEL:-2}" ]; then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
  for n in "${names[@]}"; do
    cat "$logs/$n.count"
    count "$logs/$n.log" "$n" >/dev/null
  done
}

# The other integration and e2e tests run two at a time as well (most wait on sockets,
# timers or one QEMU), in name order as slots free up, and are counted as they end; a
# test with a `# serial` line runs alone, once the tests before it have ended (the tests
# that attach loop devices: one's partitions must not meet another's drive scan).
pool_pids=() pool_names=()
pool_reap() { # waits for one test of the pool (any, or $1 = all) and counts it
  local i keep_pids=() keep_names=()
  if [ "${1:-}" = all ]; then wait; else wait -n; fi
  for i in "${!pool_pids[@]}"; do
    if kill -0 "${pool_pids[$i]}" 2>/dev/null; then
      keep_pids+=("${pool_pids[$i]}") keep_names+=("${pool_names[$i]}")
    else
      cat "$logs/${pool_names[$i]}.count"
      count "$logs/${pool_names[$i]}.log" "${pool_names[$i]}" >/dev/null
    fi
  done
  pool_pids=("${keep_pids[@]}") pool_names=("${keep_names[@]}")
}
pool_drain() { while [ "${#pool_pids[@]}" -gt 0 ]; do pool_reap all; done; }
pool_run() { # $1 = test script, $2 = name
  while [ "${#pool_pids[@]}" -ge "${SS_PARALLEL:-2}" ]; do pool_reap; done
  TEST_SCRIPT=$1 run_one "$2" bash "$1" >"$logs/$2.count" &
  pool_pids+=("$!") pool_names+=("$2")
}

if [ "${MEMCHECK:-0}" != 1 ]; then
  groups_done=" "
  for kind in integration e2e; do
    for t in "$top/tests/$kind"/*.sh; do
      [ -f "$t" ] || continue
      n=$kind/$(basename "$t" .sh)
      want "$n" || continue
      g=$(parallel_group "$t")
      if [ -n "$g" ]; then
        pool_drain
        [[ $groups_done == *" $g "* ]] || run_group "$g" "$kind"
        groups_done="$groups_done$g "
        continue
      fi
      if grep -q '^# serial$' "$t"; then
        pool_drain
        TEST_SCRIPT=$t run_one "${n//\//_}" bash "$t"
      else
        pool_run "$t" "${n//\//_}"
      fi
    done
  done
  pool_drain
  if [ -z "$filter" ]; then
    TEST_SCRIPT=$top/tests/leftovers.sh run_one leftovers bash "$top/tests/leftovers.sh"
  fi
fi

echo "logs: $logs"
[ "${#failures[@]}" -eq 0 ] || echo "failed groups: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
