#!/usr/bin/env bash
# The main job, until the machine-birthing demo exists: start a hypervisor with an
# embedded default configuration and run one VM on it, all self-contained:
#   - a private libvirt daemon and a network namespace with bridge ssdemo-br
#     (10.123.0.1/24), so nothing of the host's libvirt or network is touched;
#   - a test CA, the hypervisor's certificate and an admin certificate
#     (build/demo/certs/admin) granting Hypervisor.*;
#   - subnet "demo" and eight addresses in the pool;
#   - one VM booted from a small disk (syslinux + Debian kernel + busybox initramfs)
#     whose serial console prints a marker and a tick every second.
# The status page is relayed to http://127.0.0.1:${DEMO_PORT:-6976}/ on the host.
# Ctrl-C stops everything and removes what the demo created.
#
# Usage: tools/demo.sh [--once]   (--once: stop as soon as the VM has booted)
set -u
once=0
case "${1:-}" in
--once) once=1 ;;
-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "usage: $0 [--once]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (network namespaces, libvirt)" >&2; exit 1; }

SS_TOP=$(cd "$(dirname "$0")/.." && pwd)
export SS_TOP
export SS_ID=ss$(( $$ % 100000 ))
export SS_BUILD=$SS_TOP/build SS_BIN=$SS_TOP/build/bin
HV_BIN=$SS_BIN
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

for p in hypervisor vm-control srpc-testc; do
	[ -x "$SS_BIN/$p" ] || die "$SS_BIN/$p missing: run 'make' first"
done
port=${DEMO_PORT:-6976}

step "private libvirt + network namespace"
hv_libvirt_start || die "libvirtd did not start"
hv_bridge ssdemo-br 10.123.0.1/24 || die "bridge"
echo "libvirt: $HV_URI"

step "certificates (test CA, hypervisor, admin)"
hv_certs || die "openssl failed"
C=$HV_DIR/certs
mkdir -p "$SS_TOP/build/demo"
rm -rf "$SS_TOP/build/demo/certs" && cp -r "$C" "$SS_TOP/build/demo/certs"
echo "admin certificate: build/demo/certs/admin (CA: build/demo/certs/ca/ca.pem)"

step "hypervisor"
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
mkdir -p "$HV_DIR/images"
hv_daemon_start -virtType="$vt" || die "hypervisor did not start: $(tail -5 "$HV_LOG")"
echo "hypervisor pid $HV_PID, state in $HV_STATE, virtualisation: $vt"

rpc() {
	hv_ns "$SS_BIN/srpc-testc" -certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" \
		-CAfile="$C/ca/ca.pem" call "$@"
}
vmc() {
	hv_ns "$SS_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 "$@"
}

step "default configuration: subnet demo, eight addresses"
rpc Hypervisor.UpdateSubnets '{"Add":[{"Id":"demo","IpGateway":"10.123.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.123.0.1"]}]}' |
	grep -q '"Error":""' || die "UpdateSubnets failed"
addrs=$(for i in $(seq 10 17); do printf '{"IpAddress":"10.123.0.%d","MacAddress":"52:54:00:7b:00:%02x"},' "$i" "$i"; done)
rpc Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}" | grep -q '"Error":""' ||
	die "ChangeAddressPool failed"
vmc list-subnets 2>/dev/null | head -5

step "a VM (streamed disk image)"
# The guest asks the daemon's DHCP server for its address, then reads its user data
# from the metadata service at 169.254.169.254 (nc: busybox-static's wget crashes in NSS).
cat >"$HV_DIR/ticks.sh" <<'SNIPPET'
ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 2>/dev/null | grep SS-DHCP
printf 'GET /latest/user-data HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' | nc -w 10 169.254.169.254 80 >/tmp/ud
echo "SS-USERDATA: $(sed '1,/^\r*$/d' /tmp/ud)"
i=0; while :; do echo "demo VM tick $i"; i=$((i + 1)); sleep 1; done
SNIPPET
echo "hello from the metadata service" >"$HV_DIR/user-data"
SS_INITRD_MODULES="virtio_pci virtio_net" hv_test_disk "$HV_DIR/images/demo.img" "$HV_DIR/ticks.sh" ||
	die "test disk"
echo "creating the VM; create-vm returns once the guest has its DHCP lease (TCG boots take ~10 s)"
VM=$(vmc -memory=256M -milliCPUs=500 -vmTags=Name=demo -hostname=demo -dhcpTimeout=120s \
	-userDataFile="$HV_DIR/user-data" -imageFile="$HV_DIR/images/demo.img" create-vm) ||
	die "create-vm failed"
echo "VM $VM created"
if ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-USERDATA' 120; then
	echo "VM $VM console:"
	grep -aE 'SS-|tick' "$HV_STATE/VMs/$VM/bootlog" | head -4 | sed 's/^/    /'
else
	die "the VM did not boot; bootlog: $(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"
fi
vmc get-vm-info "$VM" | grep -E '"(State|Hostname|IpAddress)"'

if [ "$once" = 1 ]; then
	step "done (--once): cleaning up"
	exit 0
fi

step "status page"
socat TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr \
	EXEC:"ip netns exec $HV_NS socat STDIO TCP\:127.0.0.1\:$HV_PORT" &
relay=$!
t_cleanup kill "$relay"
cat <<EOT
Status page:   http://127.0.0.1:$port/          (VMs: /listVMs, metrics: /metrics)
VM commands:   ip netns exec $HV_NS $SS_BIN/vm-control -certDirectory=$C/admin \\
                 -CAfile=$C/ca/ca.pem -hypervisorHostname=127.0.0.1 list-vms
Serial port:   ... connect-to-vm-serial-port $VM   (~. to leave)
Press Ctrl-C to stop the hypervisor, the VM and the private libvirt.
EOT
trap 'exit 0' INT TERM
wait "$HV_PID"
