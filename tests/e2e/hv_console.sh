#!/usr/bin/env bash
# timeout: 420
# A real VM with ConsoleType vnc under a private libvirt: ConnectToVmConsole relays
# QEMU's own VNC server (the RFB 3.8 greeting as the first raw bytes after {Error}; a
# full RFB handshake and a framebuffer update through vm-control connect-to-vm-console's
# local port), ConnectToVmManager sends a CR-terminated QMP command to QEMU and streams
# its answer ("running"), then "VM manager closed" when the VM stops;
# ReplaceVmCredentials seen by the guest itself through 169.254.169.254. Refusals for
# each: another user, a VM without VNC, a stopped VM, no method grant.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VMs"
t_require qemu-system-x86_64 "VMs are QEMU processes"
t_require syslinux "the test disk boots with syslinux"
t_require curl "status pages are fetched with curl"
t_require python3 "the RFB client and tests/lib/srpc_raw.py are python"
ss_test_kernel >/dev/null || { t_skip "console of a VM" "no kernel in /boot"; exit 0; }

BR=${SS_ID}br
hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "$BR" 10.108.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
mkdir -p "$HV_DIR/images" "$HV_DIR/ids"
_hv_cert "$HV_DIR/ids" role vm-role "$C/otherca" || t_fail "identity certificate"

# The guest prints the MD5 of the certificate the metadata server gives it, every 2 s.
cat >"$HV_DIR/id.sh" <<'SNIPPET'
ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 >/dev/null 2>&1
while :; do
	printf 'GET /latest/dynamic/instance-identity/X.509-certificate HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' |
		nc -w 5 169.254.169.254 80 >/tmp/id
	echo "SS-ID: $(sed '1,/^\r*$/d' /tmp/id | md5sum | cut -d' ' -f1)"
	sleep 2
done
SNIPPET
SS_INITRD_MODULES="virtio_pci virtio_net" hv_test_disk "$HV_DIR/images/id.img" "$HV_DIR/id.sh" ||
	{ t_fail "test disk"; exit 0; }

hv_daemon_start -virtType="$vt" -stopTimeout=3s -acknowledgeTimeout=60s \
	-localImagesDirectory="$HV_DIR/images" || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts against the private libvirt"
rpc admin Hypervisor.UpdateSubnets '{"Add":[{"Id":"c","IpGateway":"10.108.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.108.0.1"]}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool '{"AddressesToAdd":[{"IpAddress":"10.108.0.10","MacAddress":"52:54:00:6c:00:0a"},{"IpAddress":"10.108.0.11","MacAddress":"52:54:00:6c:00:0b"}]}' >/dev/null

# alice's VM with a VNC console (booted, with its DHCP lease), and one without.
VM=$(vmc user -memory=256M -milliCPUs=500 -vmTags=Name=vnc -consoleType=vnc -dhcpTimeout=120s \
	-imageFile="$HV_DIR/images/id.img" create-vm 2>"$HV_DIR/create.err")
t_expect "alice creates a VM with -consoleType=vnc" '^10\.108\.0\.1[01]$' echo "$VM"
NOVNC=$(vmc user -memory=64M -milliCPUs=100 -vmTags=Name=novnc -imageFile="$HV_DIR/images/id.img" \
	create-vm 2>>"$HV_DIR/create.err")
t_expect "... and one without" '^10\.108\.0\.1[01]$' echo "$NOVNC"
t_expect "the domain has a VNC graphics device on the VM's socket" "<graphics type='vnc'.*socket='$HV_STATE/VMs/$VM/vnc'" \
	hv_virsh dumpxml "hv-$(cut -c1-8 "$HV_STATE/uuid")-$VM"
ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-ID: ' 120 || true
t_expect "the guest runs and asks the metadata server for its certificate" 'SS-ID: [0-9a-f]{32}' \
	cat "$HV_STATE/VMs/$VM/bootlog"

session() { # CERT SECONDS METHOD JSON [ARGS...]
	local who=$1 secs=$2
	shift 2
	hv_ns python3 "$SS_TOP/tests/lib/srpc_raw.py" -c "$C/$who/$who.cert" -k "$C/$who/$who.key" \
		--ca "$C/ca/ca.pem" --timeout "$secs" "127.0.0.1:$HV_PORT" session "$@"
}

# ---- ConnectToVmConsole ----
greet=$(session user 10 Hypervisor.ConnectToVmConsole "{\"IpAddress\":\"$VM\"}" --until 'RFB 003.008\n' |
	tr '\n' '|')
t_expect "ConnectToVmConsole: {Error:\"\"}, then QEMU's RFB greeting (exact bytes)" \
	'^\{"Error":""\}\|RFB 003\.008\|$' echo "$greet"
vmc user connect-to-vm-console "$VM" >"$HV_DIR/console.out" 2>&1 &
CONSOLE=$!
ss_wait_for "$HV_DIR/console.out" 'listening on port [0-9]+ for VNC connection' 30 || true
port=$(sed -n 's/^listening on port \([0-9]*\) for VNC connection$/\1/p' "$HV_DIR/console.out")
t_expect "vm-control connect-to-vm-console listens on a local port" '^[0-9]+$' echo "$port"
rfb=$(hv_ns python3 - "${port:-1}" <<'PY' 2>&1
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
def read(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise SystemExit("closed after %r" % b)
        b += d
    return b
version = read(12)
s.sendall(b"RFB 003.008\n")
types = read(read(1)[0])
if 1 not in types:
    raise SystemExit("no None security type: %r" % types)
s.sendall(b"\x01")
result = struct.unpack(">I", read(4))[0]
s.sendall(b"\x01")  # ClientInit, shared
w, h = struct.unpack(">HH", read(4))
read(16)  # pixel format
name = read(struct.unpack(">I", read(4))[0]).decode(errors="replace")
s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))  # FramebufferUpdateRequest, full
kind, _, nrects = struct.unpack(">BBH", read(4))
x, y, rw, rh, enc = struct.unpack(">HHHHi", read(12))
pixels = read(rw * rh * 4) if enc == 0 else b""
print("version=%r security=%d size=%dx%d update=%d rects=%d rect=%dx%d enc=%d pixels=%d name=%s"
      % (version, result, w, h, kind, nrects, rw, rh, enc, len(pixels), name))
PY
)
echo "# RFB: $rfb"
t_expect "RFB through the local port: greeting, no-auth, ServerInit" \
	"^version=b'RFB 003.008\\\\n' security=0 size=[1-9][0-9]*x[1-9][0-9]* " echo "$rfb"
t_expect "... and a FramebufferUpdate with pixel data" 'update=0 rects=[1-9][0-9]* rect=[1-9][0-9]*x[1-9][0-9]* enc=0 pixels=[1-9]' \
	echo "$rfb"
wait "$CONSOLE"
rc=$?
t_expect "vm-control ends when the viewer leaves" '^0$' echo "$rc"
t_expect "ConnectToVmConsole of a VM without VNC" '^\{"Error":"VNC console is not enabled"\}$' \
	first user Hypervisor.ConnectToVmConsole "{\"IpAddress\":\"$NOVNC\"}"
t_expect "ConnectToVmConsole of alice's VM refused for bob" 'no access to resource' \
	first idonly Hypervisor.ConnectToVmConsole "{\"IpAddress\":\"$VM\"}"
t_expect_fail "vm-control reports the refusal" 'Error connecting to VM console: VNC console is not enabled' \
	vmc user connect-to-vm-console "$NOVNC"

# ---- ConnectToVmManager (admin) ----
mgr=$(session admin 30 Hypervisor.ConnectToVmManager "{\"IpAddress\":\"$VM\"}" \
	'{"execute":"query-status"}\r' --until '"status": ?"running"' | tr '\r\n' '<|')
t_expect "ConnectToVmManager: {Error:\"\"}, the command echoed, QMP's answer: running" \
	'^\{"Error":""\}\|\{"execute":"query-status"\}<\|\{"return": ?\{.*"status": ?"running"' echo "$mgr"
t_expect_fail "ConnectToVmManager refused for alice (admin only)" 'access to method denied' \
	first user Hypervisor.ConnectToVmManager "{\"IpAddress\":\"$VM\"}"
t_expect "ConnectToVmManager of an unknown VM" '"Error":"no VM with IP address: 10.108.0.99 found"' \
	first admin Hypervisor.ConnectToVmManager '{"IpAddress":"10.108.0.99"}'

# ---- ReplaceVmCredentials, seen from inside the guest ----
want=$(md5sum <"$HV_DIR/ids/role.cert" | cut -d' ' -f1)
t_check "alice replaces her VM's credentials" vmc user -identityCertFile="$HV_DIR/ids/role.cert" \
	-identityKeyFile="$HV_DIR/ids/role.key" replace-vm-credentials "$VM"
if ss_wait_for "$HV_STATE/VMs/$VM/bootlog" "SS-ID: $want" 30; then
	t_ok "the guest reads the new certificate from 169.254.169.254"
else
	t_fail "the guest reads the new certificate from 169.254.169.254" "$(grep -a SS-ID "$HV_STATE/VMs/$VM/bootlog" | tail -2)"
fi

# ---- the manager session ends with the VM ----
session admin 60 Hypervisor.ConnectToVmManager "{\"IpAddress\":\"$VM\"}" --until 'VM manager closed' \
	>"$HV_DIR/mgr.out" 2>&1 &
MGR=$!
ss_wait_for "$HV_DIR/mgr.out" Error 20 || true
t_check "stop-vm" vmc user stop-vm "$VM"
wait "$MGR"
t_expect "the manager session ends with 'VM manager closed'" 'VM manager closed$' cat "$HV_DIR/mgr.out"
t_expect "ConnectToVmConsole of a stopped VM" '^\{"Error":"VM is not running"\}$' \
	first user Hypervisor.ConnectToVmConsole "{\"IpAddress\":\"$VM\"}"
t_expect "ConnectToVmManager of a stopped VM" '^\{"Error":"VM is not running"\}$' \
	first admin Hypervisor.ConnectToVmManager "{\"IpAddress\":\"$VM\"}"

vmc user destroy-vm "$VM" >/dev/null 2>&1
vmc user destroy-vm "$NOVNC" >/dev/null 2>&1
hv_daemon_stop
