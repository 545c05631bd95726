# shellcheck shell=bash
# TAP helpers for integration and e2e test scripts (sourced, bash).
#   t_ok NAME / t_fail NAME [WHY] / t_skip NAME WHY
#   t_check NAME CMD...   runs CMD; ok if it exits 0, else not ok with its output
#   t_expect NAME PATTERN CMD...
#                         ok if CMD exits 0 and its output matches PATTERN (grep -E)
#   t_expect_fail [--exit=N] NAME PATTERN CMD...
#                         ok if CMD refuses: exits non-zero (N if given), not crashed,
#                         and its output matches PATTERN
#   t_cleanup CMD...      runs CMD at exit (last registered first), even on failure
#   SS_ID                 a short unique prefix for names of namespaces, bridges...
SS_ID=${SS_ID:-ss$(( $$ % 100000 ))}
_t_n=0
_t_cleanups=()

t_ok() { _t_n=$((_t_n + 1)); echo "ok $_t_n - $1"; }
t_fail() { _t_n=$((_t_n + 1)); echo "not ok $_t_n - $1${2:+: $2}"; }
t_skip() { _t_n=$((_t_n + 1)); echo "ok $_t_n - $1 # SKIP ${2:-no reason given}"; }
t_check() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then t_ok "$name"; else t_fail "$name" "$(printf '%s' "$out" | tail -5 | tr '\n' ' ')"; fi
}
_t_tail() { printf '%s' "$1" | tail -5 | tr '\n' ' '; }
# A sanitizer report or a segfault in the output is a crash, whatever the exit status.
_t_crash() { grep -m1 -E 'ERROR: [A-Za-z]*Sanitizer|runtime error:|Segmentation fault' <<<"$1"; }
# t_expect NAME PATTERN CMD...: ok if CMD exits 0, without a crash, and its output
# (stdout and stderr) matches the extended regex PATTERN
t_expect() {
  local name=$1 pat=$2 out rc crash; shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ]; then
    t_fail "$name" "exit $rc (expected 0), got: $(_t_tail "$out")"
  elif crash=$(_t_crash "$out"); then
    t_fail "$name" "crashed: $crash"
  elif grep -qE -- "$pat" <<<"$out"; then t_ok "$name"; else t_fail "$name" "expected /$pat/, got: $(_t_tail "$out")"; fi
}
# t_expect_fail [--exit=N] NAME PATTERN CMD...: ok if CMD refuses: it exits non-zero
# (N if given), but not by a signal or a crash (exit 126 or more, a sanitizer report,
# "Segmentation fault"), and its output matches PATTERN (the refusal's error text)
t_expect_fail() {
  local want='' name pat out rc crash
  case $1 in --exit=*) want=${1#--exit=}; shift ;; esac
  name=$1 pat=$2
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    t_fail "$name" "exit 0 (expected a refusal), got: $(_t_tail "$out")"
  elif [ "$rc" -ge 126 ]; then
    t_fail "$name" "exit $rc (a signal, or not run), got: $(_t_tail "$out")"
  elif crash=$(_t_crash "$out"); then
    t_fail "$name" "crashed (exit $rc): $crash"
  elif [ -n "$want" ] && [ "$rc" -ne "$want" ]; then
    t_fail "$name" "exit $rc (expected $want), got: $(_t_tail "$out")"
  elif grep -qE -- "$pat" <<<"$out"; then t_ok "$name"; else t_fail "$name" "expected /$pat/, got: $(_t_tail "$out")"; fi
}
t_cleanup() { _t_cleanups=("$(printf '%q ' "$@")" "${_t_cleanups[@]}"); }
_t_run_cleanups() {
  local c
  for c in "${_t_cleanups[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  _t_cleanups=()
}
trap _t_run_cleanups EXIT
trap 'exit 130' INT TERM
# Ends the script with every remaining case marked skipped when a prerequisite is absent.
t_require() { # t_require CMD WHY
  command -v "$1" >/dev/null 2>&1 && return 0
  t_skip "${SS_TEST_NAME:-$(basename "$0")}" "$1 not installed: $2"
  exit 0
}
