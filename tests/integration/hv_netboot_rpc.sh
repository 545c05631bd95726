#!/usr/bin/env bash
# timeout: 180
# Hypervisor.NetbootMachine against libvirt's test driver (no VM boots): a machine on
# the test bridge (a namespace running busybox udhcpc, tftp and curl) stands in for a
# PXE ROM and the installer. The call holds a netboot lease with the boot file and the
# per-IP files, returns once the requested ACKs were sent, removes the lease at once
# and the files after FilesExpiration; a timeout gives the original's error after
# WaitTimeout and leaves nothing; a kill -9 mid-wait and a restart leave nothing
# either (nothing of it is persisted). Refusals: no grant, no IP, no subnet, a MAC
# that already holds a lease. Boot files on the daemon's own port under /boot/, and
# the boot.ipxe URL handed to iPXE.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "HTTP boot files are fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require udhcpc "busybox udhcpc stands in for the PXE ROM and the installer"
t_require jq "the DHCP status is read with jq"

BR=${SS_ID}br SRV=10.106.0.1 IP=10.106.0.50 MAC=52:54:00:6a:00:32
hv_setup "$BR" "$SRV/24" || exit 0
root=$HV_DIR/tftpboot
mkdir -p "$root/pxelinux.cfg"
echo "pxelinux-bytes" >"$root/pxelinux.0"
printf 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND console=ttyS0\n' \
	>"$root/pxelinux.cfg/default"

start_daemon() {
	hv_daemon_start -virtType=qemu -stopTimeout=2s -tftpbootDirectory="$root"
}
start_daemon || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts with -tftpbootDirectory"
t_expect "subnet m" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	"{\"Add\":[{\"Id\":\"m\",\"IpGateway\":\"$SRV\",\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"$SRV\"]}]}"

# The machine: eth0 with MAC in namespace G, plugged into the bridge.
HV_MACHINE_CONFIGURE=1
hv_dhcp_machine "$BR" "$MAC"
lease() { hv_lease -O bootfile "$@"; } # "bootfile=... hostname=... ip=... ."
# The DHCP status page (loopback only) holds netsvc's status JSON in a <pre>.
dhcp_status() {
	hv_curl showDhcpStatus | sed -n '/<pre>/,/<\/pre>/p' |
		sed 's/.*<pre>//; s/<\/pre>.*//; s/&quot;/"/g; s/&#34;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}
netboot_leases() { dhcp_status | jq -r '[.Leases[] | select(.Kind == "netboot") | .IpAddress] | sort | join(",")'; }
file_sets() { dhcp_status | jq -r .NetbootFileSets; }
both() { echo "$(netboot_leases) $(file_sets)"; }
in_g() { ip netns exec "$G" "$@"; }
b64() { printf %s "$1" | base64 -w0; }

t_expect "the status page is readable" '^0$' file_sets

# ---- nothing to wait for (#17): the lease lasts OfferExpiration, not removed at once ----
IP0=10.106.0.60 MAC0=52:54:00:6a:00:3c
t_expect "NumAcknowledgementsToWaitFor 0: success at once" '^\{"Error":""\}$' rpc admin Hypervisor.NetbootMachine \
	"{\"Address\":{\"IpAddress\":\"$IP0\",\"MacAddress\":\"$MAC0\"},\"Files\":{\"a\":\"eA==\"},\"WaitTimeout\":1000000000}"
t_expect "...its lease and files stay (the original removed the lease at once)" "^$IP0 1\$" both
for ((i = 0; i < 60; i++)); do [ "$(both)" = " 0" ] && break; sleep 0.1; done
t_expect "...until OfferExpiration and FilesExpiration (raised to WaitTimeout + 1 s = 2 s)" '^ 0$' both

# ---- refusals ----
t_expect_fail "NetbootMachine refused without the grant" 'access to method denied' \
	rpc user Hypervisor.NetbootMachine "{\"Address\":{\"IpAddress\":\"$IP\",\"MacAddress\":\"$MAC\"}}"
t_expect "an address without IP" '^\{"Error":"no IP address"\}$' \
	rpc admin Hypervisor.NetbootMachine "{\"Address\":{\"MacAddress\":\"$MAC\"}}"
t_expect "an address outside every subnet" '^\{"Error":"no subnet found for 10\.9\.9\.9"\}$' \
	rpc admin Hypervisor.NetbootMachine "{\"Address\":{\"IpAddress\":\"10.9.9.9\",\"MacAddress\":\"$MAC\"}}"
many=$(for i in $(seq 257); do printf '"f%d":"eA==",' "$i"; done)
t_expect "more than 256 files" '^\{"Error":"too many files: 257 \(at most 256\)"\}$' \
	rpc admin Hypervisor.NetbootMachine "{\"Address\":{\"IpAddress\":\"$IP\",\"MacAddress\":\"$MAC\"},\"Files\":{${many%,}}}"
t_expect "...nothing registered by the refusals" '^ 0$' both

# ---- timeout: nothing boots ----
req="{\"Address\":{\"IpAddress\":\"$IP\",\"MacAddress\":\"$MAC\"},\"Files\":{\"config.json\":\"$(b64 '{"Hostname":"nb"}')\"},\"Hostname\":\"nb\",\"NumAcknowledgementsToWaitFor\":1,\"WaitTimeout\":2000000000}"
t0=$(date +%s.%N)
t_expect "no client: the original's error" '^\{"Error":"timed out receiving lease acknowledgement"\}$' \
	rpc admin Hypervisor.NetbootMachine "$req"
secs=$(echo "$(date +%s.%N) - $t0" | bc)
t_check "...after WaitTimeout (2 s; took $secs s)" bash -c "echo '$secs >= 1.9 && $secs < 6' | bc | grep -qx 1"
t_expect "...and nothing is left: no netboot lease, no file set" '^ 0$' \
	both
t_expect "...the machine gets no lease afterwards" '^\.$' lease

# ---- an explicit Subnet is used as given (one the hypervisor does not manage) ----
t_expect "Subnet given: no subnet lookup (times out instead of 'no subnet found')" \
	'timed out receiving lease acknowledgement' rpc admin Hypervisor.NetbootMachine \
	'{"Address":{"IpAddress":"10.107.0.5","MacAddress":"52:54:00:6a:00:33"},"Subnet":{"Id":"x","IpGateway":"10.107.0.1","IpMask":"255.255.255.0"},"NumAcknowledgementsToWaitFor":1,"WaitTimeout":500000000}'

# ---- success: two ACKs (PXE ROM + installer), files, then cleanup ----
req="{\"Address\":{\"IpAddress\":\"$IP\",\"MacAddress\":\"$MAC\"},\"Files\":{\"config.json\":\"$(b64 '{"Hostname":"nb"}')\"},\"Hostname\":\"nb\",\"NumAcknowledgementsToWaitFor\":2,\"WaitTimeout\":8000000000,\"FilesExpiration\":1000000000}"
rpc admin Hypervisor.NetbootMachine "$req" >"$HV_DIR/nb.out" 2>&1 &
NB=$!
for ((i = 0; i < 50; i++)); do [ "$(netboot_leases)" = "$IP" ] && break; sleep 0.1; done
t_expect "while waiting: the netboot lease and one file set" "^$IP 1\$" \
	both
t_check "...the call is still waiting" kill -0 "$NB"
t_expect "...a second netboot for the same MAC is refused" "already have lease for: $MAC" \
	rpc admin Hypervisor.NetbootMachine "{\"Address\":{\"IpAddress\":\"10.106.0.51\",\"MacAddress\":\"$MAC\"},\"WaitTimeout\":500000000}"
t_expect "ACK #1 (the PXE ROM): lease, hostname and boot file pxelinux.0" \
	"^bootfile=pxelinux\\.0 hostname=nb ip=$IP \\.\$" lease
t_check "...one ACK is not enough: still waiting" kill -0 "$NB"
t_expect "the per-IP config.json over TFTP (after the ACK, from its MAC)" '^\{"Hostname":"nb"\}$' \
	in_g sh -c "cd /tmp && busybox tftp -g -r config.json -l - $SRV"
t_expect "...and over HTTP on the daemon's port" '^\{"Hostname":"nb"\}$' \
	in_g curl -sS --max-time 5 "http://$SRV:$HV_PORT/boot/config.json"
# iPXE announces itself with option 175: it gets the script URL on the daemon's port.
t_expect "ACK #2 (iPXE this time): boot.ipxe URL on the daemon's port" \
	"^bootfile=http://$SRV:$HV_PORT/boot/boot\\.ipxe hostname=nb ip=$IP \\.\$" lease -x 0xaf:0101
wait "$NB"
t_expect "the call returns success after the second ACK" '^\{"Error":""\}$' cat "$HV_DIR/nb.out"
t_expect "the lease is gone at once, the files stay (FilesExpiration)" '^ 1$' \
	both
t_expect "...so the machine gets no lease any more" '^\.$' lease
sleep 2
t_expect "...FilesExpiration 1 s was raised to WaitTimeout + 1 s: still there 2 s later" '^1$' file_sets
# FilesExpiration 1 s is raised to WaitTimeout + 1 s = 9 s from the last ACK.
for ((i = 0; i < 150; i++)); do [ "$(file_sets)" = 0 ] && break; sleep 0.1; done
t_expect "the files are gone after FilesExpiration (raised to 9 s)" '^0$' file_sets
t_expect "...config.json is no longer served" '404' \
	in_g curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$SRV:$HV_PORT/boot/config.json"
t_expect "the log names both acknowledgements" "netboot $IP: 2 acknowledgements" bash -c "cat '$HV_DIR'/daemon-log/*"

# ---- boot files from -tftpbootDirectory on the daemon's port ----
t_expect "GET /boot/pxelinux.0 from the machine" '^pxelinux-bytes$' \
	in_g curl -sS --max-time 5 "http://$SRV:$HV_PORT/boot/pxelinux.0"
t_expect "GET /boot/boot.ipxe: a script generated from pxelinux.cfg/default" '^#!ipxe' \
	in_g curl -sS --max-time 5 "http://$SRV:$HV_PORT/boot/boot.ipxe"
t_expect "a path out of the root is refused" '^(403|404)$' \
	in_g curl -s --path-as-is -o /dev/null -w '%{http_code}' --max-time 5 "http://$SRV:$HV_PORT/boot/../../etc/passwd"
t_expect "the status pages are still there for other paths" '^403$' \
	in_g curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$SRV:$HV_PORT/listVMs"

# ---- daemon killed mid-wait: nothing comes back after the restart ----
# A netboot without waiting (WaitTimeout 0: the default minute, its lease 61 s) and
# one waiting for ACKs.
t_expect "NumAcknowledgementsToWaitFor 0, WaitTimeout 0" '^\{"Error":""\}$' rpc admin Hypervisor.NetbootMachine \
	"{\"Address\":{\"IpAddress\":\"$IP0\",\"MacAddress\":\"$MAC0\"},\"WaitTimeout\":0}"
t_expect "...WaitTimeout 0 is the default minute: the lease lasts 61 s" "netboot $IP0: 0 files, lease for 61 s, no wait" \
	bash -c "cat '$HV_DIR'/daemon-log/*"
rpc admin Hypervisor.NetbootMachine "${req/8000000000/60000000000}" >"$HV_DIR/nb2.out" 2>&1 &
NB=$!
for ((i = 0; i < 50; i++)); do [ "$(netboot_leases)" = "$IP,$IP0" ] && break; sleep 0.1; done
t_expect "two netboot leases, one file set (a call waiting)" "^$IP,$IP0 1\$" both
# A dynamic lease file must not carry it either.
hv_daemon_kill9
wait "$NB" 2>/dev/null
t_check "dynamic-leases.json does not hold the netboot address" \
	bash -c "! grep -qs '$IP' '$HV_STATE/dynamic-leases.json'"
start_daemon || { t_fail "daemon restarts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_expect "after kill -9 and restart: no netboot lease, no file set" '^ 0$' \
	both
t_expect "...and the machine gets no lease" '^\.$' lease
hv_daemon_stop
