#!/usr/bin/env bash
# timeout: 300
# Replays every fuzz seed and regression input through its harness under the
# sanitizer build: a crash found by `make fuzz` stays fixed.
. "$SS_TOP/tests/lib/tap.sh"
shopt -s nullglob
bins=("$SS_BUILD"/fuzz/fuzz_*)
[ "${#bins[@]}" -gt 0 ] || { t_skip "fuzz corpus replay" "no fuzz harnesses built yet"; exit 0; }
# The harnesses are the sources (a build directory may still hold merged ones).
for src in "$SS_TOP"/tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  bin=$SS_BUILD/fuzz/fuzz_$name
  [ -x "$bin" ] || { t_fail "fuzz_$name replay" "$bin not built (make ASAN=1 tests)"; continue; }
  out=$("$bin" "$SS_TOP/tests/fuzz/corpus/$name" "$SS_TOP/tests/fuzz/regress/$name" 2>&1)
  rc=$?
  n=$(grep -c '^ok' <<<"$out")
  if [ "$rc" -eq 0 ] && ! grep -q '^not ok' <<<"$out"; then
    t_ok "fuzz_$name replays $n inputs cleanly"
  else
    t_fail "fuzz_$name replay" "$(grep -vE '^ok' <<<"$out" | tail -8 | tr '\n' ' ')"
  fi
done
