#!/usr/bin/env bash
# The suite's last test: nothing that a test created may be left behind
# (namespaces, bridges, taps, veths, libvirt domains, processes, mounts).
# Test resources are named with the "ss" prefix of tests/lib/tap.sh (SS_ID).
. "$(dirname "$0")/lib/tap.sh"
before=${SS_LEFTOVERS_BEFORE:-/dev/null}
[ -s "$before" ] && echo "# present before this run started (not counted): $(tr '\n' ' ' <"$before")"
new_only() { if [ -s "$before" ]; then grep -vxF -f "$before" || true; else cat; fi; }
none_left() { if [ -z "$2" ]; then t_ok "$1"; else t_fail "$1" "$2"; fi; } # NAME WHAT_IS_LEFT
left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^ss[0-9]' | new_only || true)
none_left "no network namespaces left" "$left"
left=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^ss[0-9]' | new_only || true)
none_left "no links left" "$left"
left=$(pgrep -af "$SS_TOP/build/(asan/)?bin/|qemu-system.*ss[0-9]" | grep -v pgrep || true)
none_left "no test processes left" "$left"
left=$(grep -E " $SS_TOP/build| /tmp/ss[0-9]" /proc/mounts || true)
none_left "no mounts left" "$left"
