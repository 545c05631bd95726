#!/usr/bin/env bash
# timeout: 180
# Watching a VM from outside, against libvirt's test driver: ListVmVirtualiserLogFiles
# and GetVmVirtualiserLogFile (the VM's QEMU log files under -virtualiserLogDirectory,
# their lengths, then the raw bytes), and TraceVmMetadata (the metadata paths the VM
# requests, until it is destroyed; a namespace on the VM's tap stands in for the
# guest). Each works for the VM's owner, is refused for another user's VM, and an
# unknown VM or a bad file name gives a clear error.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemon's /healthz is fetched with curl"
t_require openssl "test certificates are made with openssl"

BR=${SS_ID}br
hv_setup "$BR" 10.105.0.1/24 || exit 0

# raw CERT SECONDS METHOD JSON: a streaming call that prints everything the server
# sends (JSON messages and raw bytes) for SECONDS (srpc-testc only shows messages).
raw() {
	local who=$1 secs=$2
	shift 2
	hv_ns python3 - "$C/$who/$who.cert" "$C/$who/$who.key" "$HV_PORT" "$secs" "$@" <<'PY'
import socket, ssl, sys
cert, key, port, secs, method, req = sys.argv[1:7]
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(b"CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n")
head = b""
while not head.endswith(b"\n\n"):
    head += s.recv(1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
t = ctx.wrap_socket(s)
t.sendall((method + "\n").encode())
t.sendall((req + "\n").encode())
t.settimeout(float(secs))
try:
    while True:
        d = t.recv(65536)
        if not d:
            break
        sys.stdout.buffer.write(d)
        sys.stdout.buffer.flush()
except socket.timeout:
    pass
PY
}

QLOG=$HV_DIR/qemu-logs
mkdir -p "$QLOG"

hv_daemon_start -virtType=qemu -stopTimeout=2s -virtualiserLogDirectory="$QLOG" || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts with -virtualiserLogDirectory"

rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"m","IpGateway":"10.105.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.105.0.1"]}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.105.0.10","MacAddress":"52:54:00:69:00:0a"},{"IpAddress":"10.105.0.11","MacAddress":"52:54:00:69:00:0b"}]}' >/dev/null
create() { vmc "$1" -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=m -vmTags=Name="$2" create-vm 2>&1 | tail -1; }
VA=$(create user alice-vm)
VB=$(create admin admin-vm)
if [[ $VA =~ ^10\.105\.0\.1[01]$ && $VB =~ ^10\.105\.0\.1[01]$ ]]; then
	t_ok "alice and the admin each create a VM"
else
	t_fail "alice and the admin each create a VM" "alice: $VA admin: $VB"
	exit 0
fi

# ---- ListVmVirtualiserLogFiles / GetVmVirtualiserLogFile ----
DOM=hv-$(head -c 8 "$HV_STATE/uuid")
printf 'qemu started\nline two\n' >"$QLOG/$DOM-$VA.log"
printf 'older run\n' >"$QLOG/$DOM-$VA.log.1"
printf 'admin vm log\n' >"$QLOG/$DOM-$VB.log"
t_expect "ListVmVirtualiserLogFiles: alice sees her VM's logs with their lengths" \
	"^\{\"Error\":\"\",\"Filenames\":\[\"$DOM-$VA.log\",\"$DOM-$VA.log.1\"\],\"Lengths\":\[22,10\]\}$" \
	rpc user Hypervisor.ListVmVirtualiserLogFiles "{\"IpAddress\":\"$VA\"}"
t_expect "ListVmVirtualiserLogFiles of the admin's VM refused for alice" 'no access to resource' \
	rpc user Hypervisor.ListVmVirtualiserLogFiles "{\"IpAddress\":\"$VB\"}"
t_expect "ListVmVirtualiserLogFiles: the admin sees any VM's logs" "\"Filenames\":\[\"$DOM-$VB.log\"\]" \
	rpc admin Hypervisor.ListVmVirtualiserLogFiles "{\"IpAddress\":\"$VB\"}"
t_expect "ListVmVirtualiserLogFiles of an unknown VM" 'no VM with IP address: 10.105.0.99 found' \
	rpc admin Hypervisor.ListVmVirtualiserLogFiles '{"IpAddress":"10.105.0.99"}'
t_expect "GetVmVirtualiserLogFile: Length of alice's log" '^\{"Error":"","Length":22\}$' \
	first user Hypervisor.GetVmVirtualiserLogFile "{\"IpAddress\":\"$VA\",\"Filename\":\"$DOM-$VA.log\"}"
raw_flat() { raw "$@" | tr '\n' ' '; }
t_expect "GetVmVirtualiserLogFile: the log's bytes follow the Length" \
	'^ \{"Error":"","Length":22\} qemu started line two $' \
	raw_flat user 2 Hypervisor.GetVmVirtualiserLogFile "{\"IpAddress\":\"$VA\",\"Filename\":\"$DOM-$VA.log\"}"
t_expect "GetVmVirtualiserLogFile of the admin's VM refused for alice" 'no access to resource' \
	first user Hypervisor.GetVmVirtualiserLogFile "{\"IpAddress\":\"$VB\",\"Filename\":\"$DOM-$VB.log\"}"
t_expect "GetVmVirtualiserLogFile: a path is refused" 'plain basename' \
	first user Hypervisor.GetVmVirtualiserLogFile "{\"IpAddress\":\"$VA\",\"Filename\":\"../$DOM-$VB.log\"}"
t_expect "GetVmVirtualiserLogFile: another VM's log through her own VM is refused" 'not a log file of this VM' \
	first user Hypervisor.GetVmVirtualiserLogFile "{\"IpAddress\":\"$VA\",\"Filename\":\"$DOM-$VB.log\"}"
t_expect "GetVmVirtualiserLogFile: a missing file" 'No such file' \
	first user Hypervisor.GetVmVirtualiserLogFile "{\"IpAddress\":\"$VA\",\"Filename\":\"$DOM-$VA.log.7\"}"

# ---- TraceVmMetadata ----
t_expect "TraceVmMetadata: alice traces her own VM" '^\{"Error":""\}$' \
	first user Hypervisor.TraceVmMetadata "{\"IpAddress\":\"$VA\"}"
t_expect "TraceVmMetadata of the admin's VM refused for alice" 'no access to resource' \
	first user Hypervisor.TraceVmMetadata "{\"IpAddress\":\"$VB\"}"
t_expect "TraceVmMetadata of an unknown VM" 'no VM with IP address: 10.105.0.99 found' \
	first admin Hypervisor.TraceVmMetadata '{"IpAddress":"10.105.0.99"}'

# A namespace on alice's VM's tap (name, MAC, IP) stands in for the guest.
. "$SS_TOP/tests/lib/metadata.sh"
V=${SS_ID}v
IFS=. read -r a b c d <<<"$VA"
md_vm_add "$HV_NS" "$V" "$(printf 'tap%02x%02x%02x%02x' "$a" "$b" "$c" "$d")" "$BR" \
	"$(printf '52:54:00:69:00:%02x' "$d")" "$VA/24" 10.105.0.1
ip -n "$V" route replace 169.254.0.0/16 dev eth0
for ((i = 0; i < 20; i++)); do # the stand-in reaches the metadata service (before tracing)
	md_get "$V" /latest/meta-data/instance-id
	[ "$MD_CODE" = 200 ] && break
	sleep 0.5
done
t_expect "the stand-in on alice's tap reaches the metadata service" '^200$' echo "$MD_CODE"
raw user 6 Hypervisor.TraceVmMetadata "{\"IpAddress\":\"$VA\"}" >"$HV_DIR/trace.out" 2>&1 &
TRACE=$!
for ((i = 0; i < 50; i++)); do # the trace is registered once its {Error} came
	grep -q Error "$HV_DIR/trace.out" 2>/dev/null && break
	sleep 0.1
done
md_get "$V" /latest/user-data
md_get "$V" /latest/meta-data/hostname
sleep 0.5
rpc user Hypervisor.DestroyVm "{\"IpAddress\":\"$VA\"}" >"$HV_DIR/destroy.out" 2>&1
wait "$TRACE"
t_expect "TraceVmMetadata: {Error}, the VM's metadata paths, then 'VM destroyed'" \
	'^ \{"Error":""\} /latest/user-data /latest/meta-data/hostname VM destroyed  $' \
	bash -c "tr '\n' ' ' <'$HV_DIR/trace.out'"
t_expect "... alice destroyed her VM meanwhile" '"Error":""' cat "$HV_DIR/destroy.out"
