#!/usr/bin/env bash
# Birth benchmark: seconds from power-on (QEMU start; for kexec: the command typed on
# the appliance's console) to the installed hypervisor answering RPC, per path (ISO
# as a CD, USB stick, PXE through our hypervisor daemon, kexec reinstall), with the
# time of each stage read from the serial markers (tests/lib/birth.sh birth_stages).
# It runs the birth e2e tests (tests/e2e/birth_{iso,usb,pxe,kexec}.sh) on the normal
# (not sanitized) build and collects their "# birth-bench" lines. TCG here; KVM when
# tests/lib/qemu.sh's probe proves that it works (the accel column).
# Usage: bench/birth/run.sh [iso] [usb] [pxe] [kexec] [uefi] [luks]   (default: the four)
#        bench/birth/run.sh --logs TEST_LOG...   the table from logs of earlier runs
#        (build/test-logs/e2e_birth_*.log of tests/run.sh)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(iso usb pxe kexec)
export SS_TOP=$top SS_BUILD=$top/build SS_BIN=$top/build/bin SS_NORMAL_BIN=$top/build/bin
out=$(mktemp -d /tmp/bench-birth.XXXXXX)
trap 'rm -rf "$out"' EXIT
: >"$out/lines"
if [ "${1:-}" = --logs ]; then
	shift
	for f in "$@"; do grep -h -m1 '^# birth-bench ' "$f" >>"$out/lines"; done
	paths=()
else
	make -s --no-print-directory -j2 all tests >/dev/null || { echo "bench: build failed" >&2; exit 1; }
	[ -f build/images/hypervisor/initrd.img ] || make -s --no-print-directory images >/dev/null
fi

for p in "${paths[@]}"; do
	t=tests/e2e/birth_$p.sh
	[ -f "$t" ] || { echo "bench: no test for path $p" >&2; continue; }
	echo "bench: $p ..." >&2
	bash "$t" >"$out/$p.log" 2>&1
	grep -E '^not ok|# SKIP' "$out/$p.log" | sed "s/^/bench: $p: /" >&2
	grep -m1 '^# birth-bench ' "$out/$p.log" >>"$out/lines" ||
		echo "# birth-bench $p failed" >>"$out/lines"
	cp "$out/$p.log" "$top/build/test-logs/bench-birth-$p.log" 2>/dev/null
done

# The table: one row per path, seconds.
#   fw      firmware: power-on to the kernel's first line (kexec: the command to it)
#   kernel  kernel start to the installer's first line
#   net, enrol, valid(ate), fetch, part(ition), write, conf(igure): the installer's steps
#   reboot  "install complete" to the machine going down (QEMU exits)
#   boot    disk boot: power-on to "hypervisor-appliance: ready"
#   rpc     ready to the first answered Hypervisor.ListSubnets
#   total   power-on to the RPC answer (install run + disk run)
awk '
function g(k) { return (k in v) ? v[k] : "-" }
function n(k) { return (k in v) ? v[k] + 0 : 0 }
BEGIN {
	printf "%-6s %-5s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %7s\n",
		"path", "accel", "fw", "kernel", "net", "enrol", "valid", "fetch", "part", "write",
		"conf", "reboot", "boot", "rpc", "total"
}
$4 == "failed" { printf "%-6s failed (see build/test-logs/bench-birth-%s.log)\n", $3, $3; next }
{
	delete v
	for (i = 5; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	fw = ("firmware" in v) ? v["firmware"] : g("kexec")
	reboot = ("installed" in v && "install_total" in v) ? sprintf("%.1f", n("install_total") - n("installed")) : "-"
	rpc = ("boot_rpc" in v && "disk_ready" in v) ? sprintf("%.1f", n("boot_rpc") - n("disk_ready")) : "-"
	total = ("boot_rpc" in v) ? sprintf("%.1f", n("install_total") + n("boot_rpc")) : "-"
	split($4, a, "=")
	printf "%-6s %-5s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %7s\n", $3, a[2], fw,
		g("kernel"), g("network"), g("enrol"), g("validate"), g("fetch"), g("partition"),
		g("write"), g("configure"), reboot, g("disk_ready"), rpc, total
}' "$out/lines"
