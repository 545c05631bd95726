#!/usr/bin/env bash
# timeout: 30
# The documentation of hyper-control matches the program (docs/hyper-control.md,
# "Documentation convention"): every command `hyper-control -h` lists has exactly one
# section headed "## <command>" in docs/hyper-control/*.md, every such heading names a
# command that exists, and every flag -h lists appears in docs/hyper-control.md.
set -u
. "$SS_TOP/tests/lib/tap.sh"

hc=$SS_BIN/hyper-control
docs=$SS_TOP/docs
help=$(HOME=/nonexistent HYPER_CONTROL_SYSCONFDIR=/nonexistent "$hc" -h 2>&1)
cmds=$(sed -n '/^Commands:$/,$p' <<<"$help" | sed -n 's/^  \([a-z][a-z0-9-]*\)\( .*\)\{0,1\}$/\1/p' | sort)
heads=$(cat "$docs"/hyper-control/*.md | sed -n 's/^## \([a-z][a-z0-9-]*\)$/\1/p' | sort)

if [ "$(wc -l <<<"$cmds")" -ge 18 ]; then
  t_ok "-h lists the commands ($(wc -l <<<"$cmds"))"
else
  t_fail "-h lists the commands" "$cmds"
fi
undocumented=$(comm -23 <(uniq <<<"$cmds") <(uniq <<<"$heads") | tr '\n' ' ')
if [ -z "$undocumented" ]; then
  t_ok "every command has a '## name' section in docs/hyper-control/"
else
  t_fail "every command has a '## name' section in docs/hyper-control/" "undocumented: $undocumented"
fi
unknown=$(comm -13 <(uniq <<<"$cmds") <(uniq <<<"$heads") | tr '\n' ' ')
if [ -z "$unknown" ]; then
  t_ok "every '## name' section names a command of -h"
else
  t_fail "every '## name' section names a command of -h" "not commands: $unknown"
fi
twice=$(uniq -d <<<"$heads" | tr '\n' ' ')
if [ -z "$twice" ]; then t_ok "no command is documented twice"; else t_fail "no command is documented twice" "$twice"; fi
flags=$(sed -n 's/^  -\([A-Za-z]*\).*/\1/p' <<<"$help")
missing=
for f in $flags; do grep -qE -- "^  -$f( |\$)" "$docs/hyper-control.md" || missing="$missing $f"; done
if [ -n "$flags" ] && [ -z "$missing" ]; then
  t_ok "every flag of -h is in docs/hyper-control.md"
else
  t_fail "every flag of -h is in docs/hyper-control.md" "missing:$missing"
fi
for p in host term fleet netboot install rollout; do
  if grep -q "(hyper-control/$p.md)" "$docs/hyper-control.md" && [ -f "$docs/hyper-control/$p.md" ]; then
    t_ok "docs/hyper-control.md links docs/hyper-control/$p.md, which exists"
  else
    t_fail "docs/hyper-control.md links docs/hyper-control/$p.md, which exists"
  fi
done
