# shellcheck shell=bash
# Hypervisor test harness (sourced, bash, after tests/lib/tap.sh).
# A private libvirt: libvirtd + virtlogd in their own network namespace ($HV_NS) and
# mount namespace, with /etc/libvirt, /run/libvirt, /var/lib/libvirt and
# /var/log/libvirt bind-mounted from $HV_DIR, so nothing of a host libvirt is touched
# and several tests can run side by side. Clients reach it through $HV_URI (socket in
# $HV_DIR); the hypervisor daemon runs in the same network namespace (bridges, taps).
# Everything is removed by t_cleanup, even on failure.
#
#   hv_env_start              private directory and network namespace only, with
#                             libvirt's in-process test driver (HV_URI=test:///default)
#   hv_libvirt_start          the same plus the private libvirt (HV_URI points at it)
#   hv_libvirt_restart        kill and restart libvirtd (domains keep running)
#   hv_virsh ARGS...          virsh against the private libvirt
#   hv_ns CMD...              run CMD in the test network namespace
#   hv_bridge NAME CIDR       create a bridge with an address in the namespace
#   hv_certs                  CA, identity CA, server and client certificates in
#                             $HV_DIR/certs (admin/, user/, idonly/, stranger/)
#   hv_daemon_start FLAGS...  start the hypervisor (state in $HV_DIR/state, volumes in
#                             $HV_DIR/volumes, logs in $HV_DIR/log), wait for /healthz
#   hv_daemon_kill9 / hv_daemon_stop
#   hv_curl PATH [CURL ARGS]  GET http://127.0.0.1:$HV_PORT/PATH from inside the namespace
#   hv_test_disk OUT [SNIPPET]  a bootable raw disk (FAT + syslinux, kernel + marker
#                             initramfs from tests/lib/qemu.sh) printing SS-MARKER lines

. "$SS_TOP/tests/lib/qemu.sh"

HV_PORT=${HV_PORT:-6976}
HV_BIN=${HV_BIN:-$SS_BIN}

hv_ns() { ip netns exec "$HV_NS" "$@"; }
hv_virsh() { virsh -q -c "$HV_URI" "$@"; }

_hv_libvirtd_run() { # starts libvirtd inside the existing private namespaces
	nsenter -t "$(cat "$HV_DIR/virtlogd.pid")" -m -n \
		libvirtd -d -f "$HV_DIR/etc/libvirtd.conf" -p "$HV_DIR/libvirtd.pid"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$HV_DIR/sock/libvirt-sock" ] && virsh -q -c "$HV_URI" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "libvirtd did not come up; log:" >&2
	tail -20 "$HV_DIR/libvirtd.log" >&2
	return 1
}

hv_env_start() {
	HV_DIR=$(mktemp -d "/tmp/${SS_ID}-hv.XXXXXX") || return 1
	HV_NS=${SS_ID}hv
	HV_URI="test:///default"
	t_cleanup hv_cleanup
	mkdir -p "$HV_DIR"/{etc,run,lib,log,sock,state,volumes,daemon-log}
	ip netns add "$HV_NS" || return 1
	hv_ns ip link set lo up
}

hv_libvirt_start() {
	hv_env_start || return 1
	HV_URI="qemu:///system?socket=$HV_DIR/sock/libvirt-sock"
	cat >"$HV_DIR/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$HV_DIR/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$HV_DIR/libvirtd.log"
EOF
	cat >"$HV_DIR/etc/qemu.conf" <<EOF
user = "root"
group = "root"
security_driver = "none"
namespaces = []
remember_owner = 0
EOF
	cat >"$HV_DIR/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:$HV_DIR/virtlogd.log"
EOF
	# The mount points must exist; creating an empty directory is all we do outside.
	mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt
	ip netns exec "$HV_NS" unshare -m --propagation private sh -c "
		mount --bind '$HV_DIR/etc' /etc/libvirt &&
		mount --bind '$HV_DIR/run' /run/libvirt &&
		mount --bind '$HV_DIR/lib' /var/lib/libvirt &&
		mount --bind '$HV_DIR/log' /var/log/libvirt &&
		exec virtlogd -d -f '$HV_DIR/etc/virtlogd.conf' -p '$HV_DIR/virtlogd.pid'" || return 1
	local i
	for ((i = 0; i < 50; i++)); do [ -s "$HV_DIR/virtlogd.pid" ] && break; sleep 0.1; done
	_hv_libvirtd_run
}

hv_libvirt_restart() {
	local pid
	pid=$(cat "$HV_DIR/libvirtd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$HV_DIR/libvirtd.pid"
	_hv_libvirtd_run
}

_hv_kill_pidfile() {
	local pid i
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}

hv_cleanup() {
	[ -n "${HV_DIR:-}" ] || return 0
	hv_daemon_kill9
	# Keep the daemon's output (sanitizer reports included) beside the test log.
	mkdir -p "$SS_TOP/build/test-logs"
	cp "$HV_DIR/daemon.out" "$SS_TOP/build/test-logs/$(basename "$0" .sh)-hypervisor.out" 2>/dev/null ||
		rm -f "$SS_TOP/build/test-logs/$(basename "$0" .sh)-hypervisor.out"
	if [ -S "$HV_DIR/sock/libvirt-sock" ]; then
		local d
		for d in $(timeout 10 virsh -q -c "$HV_URI" list --name 2>/dev/null); do
			timeout 10 virsh -q -c "$HV_URI" destroy "$d" >/dev/null 2>&1
		done
	fi
	_hv_kill_pidfile "$HV_DIR/libvirtd.pid"
	_hv_kill_pidfile "$HV_DIR/virtlogd.pid"
	# QEMUs that escaped (libvirtd died before destroying them): ours by their paths.
	local p
	for p in $(pgrep -f "qemu-system.*$HV_DIR" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	# A daemon whose pid the test lost (started in a subshell): ours by its state dir.
	for p in $(pgrep -f "hypervisor .*-stateDir=$HV_DIR/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$HV_NS" 2>/dev/null
	rm -rf "$HV_DIR"
}

hv_bridge() { # NAME CIDR
	hv_ns ip link add "$1" type bridge && hv_ns ip addr add "$2" dev "$1" && hv_ns ip link set "$1" up
}

# openssl helpers for hv_certs
_hv_cert() { # DIR NAME CN ISSUER_DIR [GRANTS...]
	local dir=$1 name=$2 cn=$3 issuer=$4 cfg g i=0
	shift 4
	cfg=$dir/$name.cnf
	{
		echo "[req]"; echo "distinguished_name = dn"; echo "prompt = no"
		echo "[dn]"; echo "CN = $cn"
		echo "[ext]"; echo "basicConstraints = CA:FALSE"
		echo "keyUsage = digitalSignature, keyEncipherment"
		echo "extendedKeyUsage = clientAuth, serverAuth"
		echo "subjectAltName = ${HV_CERT_SAN:-DNS:localhost, IP:127.0.0.1}"
		if [ $# -gt 0 ]; then
			echo "1.3.6.1.4.1.9586.100.7.1 = ASN1:SEQUENCE:grants"
			echo "[grants]"
			for g in "$@"; do echo "m$i = UTF8:$g"; i=$((i + 1)); done
		fi
	} >"$cfg"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
		-config "$cfg" 2>/dev/null &&
		openssl x509 -req -in "$dir/$name.csr" -CA "$issuer/ca.pem" -CAkey "$issuer/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$cfg" -extensions ext \
			-out "$dir/$name.cert" 2>/dev/null
}

_hv_ca() { # DIR CN
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 \
		-subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

hv_certs() {
	local c=$HV_DIR/certs
	mkdir -p "$c"/{admin,user,idonly,stranger,server}
	_hv_ca "$c/ca" "SmallStack test CA" || return 1
	_hv_ca "$c/idca" "SmallStack test identity CA" || return 1
	_hv_ca "$c/otherca" "Somebody else's CA" || return 1
	_hv_cert "$c/server" cert hypervisor "$c/ca" || return 1
	# admin: granted every Hypervisor method; user: a CA.pem cert granting nothing;
	# idonly: IdentityCA.pem cert whose grants must be ignored; stranger: unknown CA.
	_hv_cert "$c/admin" admin admin "$c/ca" 'Hypervisor.*' || return 1
	_hv_cert "$c/user" user alice "$c/ca" || return 1
	_hv_cert "$c/idonly" idonly bob "$c/idca" 'Hypervisor.*' || return 1
	_hv_cert "$c/stranger" stranger mallory "$c/otherca" 'Hypervisor.*' || return 1
	mv "$c/server/cert.cert" "$c/server/cert.pem"
	mv "$c/server/cert.key" "$c/server/key.pem"
}

# The usual start of a test: environment, a bridge NAME with CIDR in the namespace, the
# certificates (C=their directory). Reports and returns 1 on failure.
hv_setup() { # NAME CIDR
	hv_env_start || { t_fail "test environment"; return 1; }
	hv_bridge "$1" "$2"
	hv_certs || { t_fail "test certificates"; return 1; }
	C=$HV_DIR/certs
}

# Clients as one of hv_certs' identities (admin, user, idonly, stranger), from inside
# the namespace. A test may redefine them after sourcing this file.
#   rpc CERT METHOD [JSON]         srpc-testc call to the daemon (30 s per call)
#   rpc_at ADDR CERT METHOD [JSON] the same to ADDR (server name localhost)
#   first CERT METHOD [JSON]       the first message of a streaming method
#   vmc CERT ARGS...               vm-control; no DHCP wait (no guest runs under the
#                                  test driver)
rpc_at() {
	local addr=$1 who=$2
	shift 2
	hv_ns "$SS_BIN/srpc-testc" -addr="$addr" -serverName=localhost -certFile="$C/$who/$who.cert" \
		-keyFile="$C/$who/$who.key" -CAfile="$C/ca/ca.pem" -timeout=30s call "$@"
}
rpc() { rpc_at "127.0.0.1:$HV_PORT" "$@"; }
first() {
	local who=$1
	shift
	hv_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -certFile="$C/$who/$who.cert" \
		-keyFile="$C/$who/$who.key" -CAfile="$C/ca/ca.pem" -timeout=30s first "$@"
}
vmc() {
	local who=$1
	shift
	hv_ns "$SS_BIN/vm-control" -certDirectory="$C/$who" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 -dhcpTimeout=0 "$@"
}

hv_daemon_start() {
	local i
	HV_STATE=$HV_DIR/state
	HV_LOG=$HV_DIR/daemon.out
	# Not through the hv_ns function: $! must be the daemon itself (ip execs it).
	ip netns exec "$HV_NS" "$HV_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
		-logDir="$HV_DIR/daemon-log" -libvirtURI="$HV_URI" -portNum="$HV_PORT" \
		-CAfile="$HV_DIR/certs/ca/ca.pem" -identityCAfile="$HV_DIR/certs/idca/ca.pem" \
		-certFile="$HV_DIR/certs/server/cert.pem" -keyFile="$HV_DIR/certs/server/key.pem" \
		"$@" >>"$HV_LOG" 2>&1 &
	HV_PID=$!
	for ((i = 0; i < 300 * ${SS_TIMEOUT_SCALE:-1}; i++)); do
		if ! kill -0 "$HV_PID" 2>/dev/null; then
			echo "hypervisor exited; output:" >&2
			tail -20 "$HV_LOG" >&2
			return 1
		fi
		hv_curl healthz -f >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "hypervisor did not answer /healthz" >&2
	return 1
}

hv_daemon_kill9() {
	[ -n "${HV_PID:-}" ] || return 0
	kill -9 "$HV_PID" 2>/dev/null
	wait "$HV_PID" 2>/dev/null
	HV_PID=
}

hv_daemon_stop() { # "hypervisor stop" through the control socket, then wait
	[ -n "${HV_PID:-}" ] || return 0
	"$HV_BIN/hypervisor" -stateDir="$HV_STATE" stop || return 1
	for ((i = 0; i < 100; i++)); do kill -0 "$HV_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$HV_PID" 2>/dev/null
	HV_PID=
}

# A machine on a bridge of the daemon's namespace: namespace $G (removed at the end)
# with eth0 of MAC, a veth into BRIDGE. hv_lease runs its DHCP exchange (busybox
# udhcpc, 3 tries) and prints "bootfile=... hostname=... ip=... ." (just "." without
# a lease); with HV_MACHINE_CONFIGURE=1 the leased address is put on eth0.
hv_dhcp_machine() { # BRIDGE MAC
	G=${SS_ID}g
	ip netns add "$G" && t_cleanup ip netns del "$G"
	hv_ns ip link add "${SS_ID}gt" type veth peer name eth0 netns "$G"
	hv_ns ip link set "${SS_ID}gt" master "$1" up
	ip -n "$G" link set lo up
	ip -n "$G" link set eth0 address "$2" up
	cat >"$HV_DIR/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] || exit 0
if [ -n "$CONFIGURE" ]; then
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
fi
env | grep -E '^(ip|hostname|bootfile)=' | sort >"$UDHCPC_OUT"
EOF
	chmod +x "$HV_DIR/udhcpc.sh"
}
hv_lease() { # [UDHCPC ARGS]
	rm -f "$HV_DIR/lease.env"
	CONFIGURE=${HV_MACHINE_CONFIGURE:-} UDHCPC_OUT=$HV_DIR/lease.env ip netns exec "$G" \
		udhcpc -i eth0 -f -q -n -t 3 -T 1 -s "$HV_DIR/udhcpc.sh" "$@" >/dev/null 2>&1
	tr '\n' ' ' <"$HV_DIR/lease.env" 2>/dev/null
	echo "."
}

hv_curl() { # PATH [CURL ARGS]
	local path=$1
	shift
	hv_ns curl -sS --max-time 10 "$@" "http://127.0.0.1:$HV_PORT/$path"
}

hv_test_disk() { # OUT [SNIPPET]
	local out=$1 snippet=${2:-} tmp kernel
	kernel=$(ss_test_kernel) || return 1
	tmp=$(mktemp -d "/tmp/${SS_ID}-disk.XXXXXX") || return 1
	ss_marker_initrd "$tmp/initrd" "$snippet" || { rm -rf "$tmp"; return 1; }
	printf 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd\n  APPEND console=ttyS0 quiet panic=-1\n' \
		>"$tmp/syslinux.cfg"
	rm -f "$out"
	# A FAT "superfloppy" with syslinux in its boot sector: SeaBIOS boots it as a disk.
	mkfs.vfat -C -n SSBOOT "$out" 32768 >/dev/null &&
		syslinux --install "$out" &&
		mcopy -i "$out" "$kernel" ::vmlinuz &&
		mcopy -i "$out" "$tmp/initrd" ::initrd &&
		mcopy -i "$out" "$tmp/syslinux.cfg" ::syslinux.cfg
	local rc=$?
	rm -rf "$tmp"
	return $rc
}
