#!/usr/bin/env bash
# Hypervisor daemon figures (issue 4), under the private libvirt of tests/lib/hyper.sh
# (libvirtd + virtlogd in their own namespaces, QEMU with TCG unless KVM works):
#  1. CreateVM-to-running latency: vm-control create-vm (TLS connect, 1 MiB image
#     streamed, volume written, state saved, domain started) against `virsh create` of
#     the same domain XML (the daemon's own domain, dumped with virsh dumpxml, renamed,
#     its paths pointed at copies). Runs alternate, N each; median, min and max.
#  2. Idle VmRSS (and its anonymous part), VmHWM, open fds and threads of the daemon with 0 VMs and with NVMS VMs
#     defined (created with -doNotStart: the daemon's own records, no libvirt domain).
# Plain build (build/bin): sanitizers would inflate the memory figures. Figures are
# printed, never asserted.
# Usage: bench/hypervisor/run.sh [N=5] [NVMS=50]    (make first)
set -u
SS_TOP=$(cd "$(dirname "$0")/../.." && pwd)
SS_BIN=${SS_BIN:-$SS_TOP/build/bin}
export SS_TOP SS_BIN
n=${1:-5}
nvms=${2:-50}
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
for p in libvirtd virsh qemu-system-x86_64 curl; do
	command -v "$p" >/dev/null || { echo "bench: $p not installed" >&2; exit 2; }
done
for p in hypervisor vm-control; do
	[ -x "$SS_BIN/$p" ] || { echo "bench: $SS_BIN/$p missing: make first" >&2; exit 2; }
done

hv_libvirt_start || { echo "bench: private libvirt did not start" >&2; exit 2; }
hv_bridge "${SS_ID}br" 10.103.0.1/24
hv_certs || { echo "bench: certificates failed" >&2; exit 2; }
C=$HV_DIR/certs
accel=$(ss_qemu_accel)
vt=qemu
[ "$accel" = kvm ] && vt=kvm
hv_daemon_start -virtType="$vt" -stopTimeout=2s || { echo "bench: daemon did not start" >&2; exit 2; }
pid=$HV_PID
uuid=$(cut -c1-8 "$HV_STATE/uuid")

vmc() { hv_ns "$SS_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" -hypervisorHostname=127.0.0.1 "$@"; }
rpc() {
	hv_ns "$SS_BIN/srpc-testc" -certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" \
		-CAfile="$C/ca/ca.pem" call "$@"
}
now() { date +%s.%N; }
status_line() { awk -v f="$1" '$1 == f ":" {print $2}' "/proc/$pid/status"; }
nfds() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
idle_figures() { # LABEL: after a quiet moment
	sleep 5
	printf '%-34s %9s %9s %9s %5s %7s\n' "$1" "$(status_line VmRSS)" "$(status_line RssAnon)" \
		"$(status_line VmHWM)" "$(nfds)" "$(status_line Threads)" >>"$HV_DIR/idle"
}
stats() { # values on stdin (seconds) -> "median min max" in ms
	sort -g | awk '{ v[NR] = $1 * 1000 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%8.0f %8.0f %8.0f", m, v[1], v[NR] }'
}

rpc Hypervisor.UpdateSubnets '{"Add":[{"Id":"bench","IpGateway":"10.103.0.1","IpMask":"255.255.255.0"}]}' >/dev/null
addrs=$(for i in $(seq 10 $((10 + nvms + 5))); do printf '{"IpAddress":"10.103.0.%d","MacAddress":"52:54:00:67:00:%02x"},' "$i" "$i"; done)
resp=$(rpc Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}")
grep -q '"Error":""' <<<"$resp" || { echo "bench: ChangeAddressPool: $resp" >&2; exit 2; }
printf '%-34s %9s %9s %9s %5s %7s\n' "daemon, idle (KiB)" VmRSS RssAnon VmHWM fds threads >"$HV_DIR/idle"
idle_figures "0 VMs"

# ---- 1. CreateVM to running: ours against virsh create of the same XML ----
truncate -s 1M "$HV_DIR/tiny.img"
create_ours() { # prints the IP; the call returns once the domain runs
	vmc -memory=128M -milliCPUs=100 -dhcpTimeout=0 -vmTags=Name=bench \
		-imageFile="$HV_DIR/tiny.img" create-vm 2>>"$HV_DIR/create.err"
}
ip=$(create_ours) || { echo "bench: create-vm failed: $(tail -3 "$HV_DIR/create.err")" >&2; exit 2; }
hv_virsh dumpxml "hv-$uuid-$ip" >"$HV_DIR/ours.xml" || { echo "bench: dumpxml failed" >&2; exit 2; }
vmc destroy-vm "$ip" >/dev/null
xip=$ip
# The same domain for virsh: another name, no uuid/id, its own disk, serial socket,
# boot log and tap (the daemon's are removed with its VM).
mkdir -p "$HV_DIR/virsh"
tap=$(grep -o "<target dev='tap[^']*'" "$HV_DIR/ours.xml" | head -1 | cut -d"'" -f2)
virsh_xml() { # I
	sed -e "s|<name>[^<]*</name>|<name>${SS_ID}-virsh-$1</name>|" -e '/<uuid>/d' \
		-e "s|^<domain \(.*\) id='[0-9]*'|<domain \1|" -e "s|$HV_STATE/VMs/$xip|$HV_DIR/virsh/$1|g" \
		-e "s|$HV_DIR/volumes/$xip|$HV_DIR/virsh/$1|g" -e "s|'$tap'|'${SS_ID}t$1'|" \
		"$HV_DIR/ours.xml" >"$HV_DIR/virsh/$1.xml"
	mkdir -p "$HV_DIR/virsh/$1"
	cp "$HV_DIR/tiny.img" "$HV_DIR/virsh/$1/root"
}
: >"$HV_DIR/ours.t"
: >"$HV_DIR/virsh.t"
for i in $(seq 1 "$n"); do
	t0=$(now)
	ip=$(create_ours) || { echo "bench: create-vm $i failed: $(tail -3 "$HV_DIR/create.err")" >&2; exit 2; }
	t1=$(now)
	state=$(vmc get-vm-info "$ip" | sed -n 's/.*"State": "\(.*\)".*/\1/p')
	[ "$state" = running ] || { echo "bench: our VM $ip is $state, not running" >&2; exit 2; }
	echo "$t1 - $t0" | bc >>"$HV_DIR/ours.t"
	vmc destroy-vm "$ip" >/dev/null

	virsh_xml "$i"
	t0=$(now)
	hv_virsh create "$HV_DIR/virsh/$i.xml" >/dev/null || { echo "bench: virsh create $i failed" >&2; exit 2; }
	t1=$(now)
	state=$(hv_virsh domstate "${SS_ID}-virsh-$i")
	[ "$state" = running ] || { echo "bench: virsh domain $i is $state" >&2; exit 2; }
	echo "$t1 - $t0" | bc >>"$HV_DIR/virsh.t"
	hv_virsh destroy "${SS_ID}-virsh-$i" >/dev/null
done

# ---- 2. idle with NVMS defined VMs ----
for i in $(seq 1 "$nvms"); do
	vmc -memory=64M -milliCPUs=20 -minFreeBytes=1M -doNotStart -vmTags=Name="idle$i" create-vm \
		>/dev/null 2>>"$HV_DIR/create.err" || { echo "bench: create-vm (defined) $i failed" >&2; exit 2; }
done
idle_figures "$nvms VMs defined (stopped)"
echo "bench: $nvms VMs defined, $(vmc list-vms | wc -l) listed"
for p in "" listVMs metrics; do hv_curl "$p" -o /dev/null -f || echo "bench: /$p failed" >&2; done
idle_figures "$nvms VMs, after / listVMs metrics"

echo
echo "hypervisor bench: $(nproc) CPUs, QEMU $accel ($(qemu-system-x86_64 --version | head -1 | awk '{print $4}')), libvirt $(libvirtd --version | awk '{print $NF}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %8s %8s\n' "CreateVM to running (N=$n, ms)" median min max
printf '%-44s %s\n' "daemon: vm-control create-vm (1 MiB image)" "$(stats <"$HV_DIR/ours.t")"
printf '%-44s %s\n' "virsh create, same domain XML" "$(stats <"$HV_DIR/virsh.t")"
echo
cat "$HV_DIR/idle"
echo "(libvirt: the private libvirtd over its Unix socket; idle = 5 s after the last call)"
