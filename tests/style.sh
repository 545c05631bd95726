#!/usr/bin/env bash
# timeout: 300
# The suite's first group: STYLE.md's checks, one TAP line each (make fmt-check, make
# lint, make shellcheck, and tools/layers.sh: no circle between units and the folder
# rules of docs/ARCHITECTURE.md, on the normal build's objects). A failure shows what
# the check printed, as TAP comments.
. "$(dirname "$0")/lib/tap.sh"
top=${SS_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
for check in fmt-check:clang-format lint:cppcheck shellcheck:shellcheck; do
	target=${check%%:*} tool=${check#*:}
	if ! command -v "$tool" >/dev/null 2>&1; then
		t_fail "make $target" "$tool not installed (bash tools/deps.sh)"
		continue
	fi
	if out=$(make -s --no-print-directory -C "$top" "$target" 2>&1); then
		t_ok "make $target"
	else
		t_fail "make $target" "its output follows"
		printf '%s\n' "$out" | head -200 | sed 's/^/# /'
	fi
done
if [ ! -d "$top/build/obj" ]; then
	t_fail "tools/layers.sh" "no objects in build/obj: run make first"
elif out=$(bash "$top/tools/layers.sh" "$top/build" 2>&1); then
	t_ok "tools/layers.sh: no circle between units, folder rules kept"
else
	t_fail "tools/layers.sh" "its output follows"
	printf '%s\n' "$out" | head -200 | sed 's/^/# /'
fi
