#!/usr/bin/env bash
# timeout: 420
# The hypervisor daemon with real VMs under a private libvirt (QEMU, TCG unless KVM
# works): create from a streamed image, from file:// and http:// URLs; the serial
# marker in the boot log and on the serial port; stop, start, destroy (address and
# volumes freed); a guest power-off and an external kill seen through libvirt's
# events; kill -9 of the daemon with three VMs running, restart, nothing lost and
# check-vms clean; a volume deleted behind the daemon's back reported by check-vms;
# a headless Chromium screenshot of the overview page.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VMs"
t_require qemu-system-x86_64 "VMs are QEMU processes"
t_require syslinux "the test disk boots with syslinux"
t_require curl "status pages are fetched with curl"
ss_test_kernel >/dev/null || { t_skip "hypervisor VMs" "no kernel in /boot"; exit 0; }

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "${SS_ID}br" 10.102.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
mkdir -p "$HV_DIR/images"

cat >"$HV_DIR/ticks.sh" <<'SNIPPET'
ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 2>&1 | grep -v '^udhcpc: \(started\|broadcasting\)'
# busybox-static's wget dies in glibc's NSS (getservbyname); nc does not.
printf 'GET /latest/user-data HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' | nc -w 10 169.254.169.254 80 >/tmp/ud
echo "SS-USERDATA: $(sed '1,/^\r*$/d' /tmp/ud)"
i=0; while :; do echo "SS-TICK $i"; i=$((i + 1)); sleep 1; done
SNIPPET
SS_INITRD_MODULES="virtio_pci virtio_net" hv_test_disk "$HV_DIR/images/ticks.img" "$HV_DIR/ticks.sh" || { t_fail "test disk"; exit 0; }
hv_test_disk "$HV_DIR/images/poweroff.img" || { t_fail "power-off disk"; exit 0; }
t_ok "test disks built (FAT + syslinux + kernel + marker initramfs)"

hv_daemon_start -virtType="$vt" -stopTimeout=3s -acknowledgeTimeout=30s \
	-localImagesDirectory="$HV_DIR/images" || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts against the private libvirt"

rpc() {
	hv_ns "$SS_BIN/srpc-testc" -certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" \
		-CAfile="$C/ca/ca.pem" call "$@"
}
vmc() {
	hv_ns "$SS_BIN/vm-control" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 -dhcpTimeout=0 "$@"
}
state_of() { vmc get-vm-info "$1" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }
wait_state() { # IP STATE SECONDS
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
uuid=$(cut -c1-8 "$HV_STATE/uuid")
dom() { echo "hv-$uuid-$1"; }
check_vms() { "$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
	-libvirtURI="$HV_URI" check-vms; }

rpc Hypervisor.UpdateSubnets '{"Add":[{"Id":"vms","IpGateway":"10.102.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.102.0.1"]}]}' >/dev/null
addrs=$(for i in 10 11 12 13 14 15; do printf '{"IpAddress":"10.102.0.%d","MacAddress":"52:54:00:66:00:%02x"},' "$i" "$i"; done)
t_expect "pool of six addresses" '"Error":""' rpc Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}"

# ---- one VM from a streamed image ----
echo "hello-from-user-data" >"$HV_DIR/user-data"
start=$(date +%s.%N)
VM=$(vmc -memory=256M -milliCPUs=500 -vmTags=Name=ticks -imageFile="$HV_DIR/images/ticks.img" \
	-userDataFile="$HV_DIR/user-data" -dhcpTimeout=90s create-vm 2>"$HV_DIR/create.err")
t_expect "create-vm streams image + user data, returns after the VM's DHCP ACK" '^10\.102\.0\.1[0-5]$' echo "$VM"
echo "# create-vm (image streamed, boot, DHCP ACK): $(echo "$(date +%s.%N) - $start" | bc) s ($vt)"
t_check "...and the ACK did not time out" bash -c "! grep -qi 'timed out' '$HV_DIR/create.err'"
if ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-MARKER: booted' 120; then
	t_ok "serial marker in VMs/$VM/bootlog"
	echo "# create-vm to marker: $(echo "$(date +%s.%N) - $start" | bc) s ($vt)"
else
	t_fail "serial marker in bootlog" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1; tail -3 "$HV_DIR/create.err")"
fi
t_expect "VM is running" '^running$' state_of "$VM"
# create-vm returns at the daemon's ACK; the guest's script prints its line just after.
ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-DHCP: ' 30 || true
t_expect "the guest got its address from our DHCP server" "SS-DHCP: eth0 $VM router=10.102.0.1" \
	cat "$HV_STATE/VMs/$VM/bootlog"
if ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-USERDATA' 30; then
	t_expect "the guest read its user data from 169.254.169.254" 'SS-USERDATA: hello-from-user-data' \
		cat "$HV_STATE/VMs/$VM/bootlog"
else
	t_fail "the guest read its user data from 169.254.169.254" "$(grep -a SS- "$HV_STATE/VMs/$VM/bootlog" | tail -3)"
fi
t_expect "GetVmUserData returns it" '^hello-from-user-data$' vmc get-vm-user-data "$VM"
t_expect "its libvirt domain runs" "$(dom "$VM")" hv_virsh list --name
# shellcheck disable=SC2086 # the IP's four numbers
tap=$(printf 'tap%02x%02x%02x%02x' ${VM//./ })
t_expect "its tap ($tap) is a port of the bridge" "master ${SS_ID}br" hv_ns ip -o link show "$tap"
t_expect "/showVmBootLog shows the marker" 'SS-MARKER: booted' hv_curl "showVmBootLog?$VM"
serial=$(sleep 3 | timeout 15 ip netns exec "$HV_NS" "$SS_BIN/vm-control" -certDirectory="$C/admin" \
	-CAfile="$C/ca/ca.pem" -hypervisorHostname=127.0.0.1 connect-to-vm-serial-port "$VM" 2>&1)
t_expect "the serial port relays the guest's output" 'SS-TICK' echo "$serial"
t_expect "the root volume is the image" '^$' cmp "$HV_DIR/images/ticks.img" "$HV_DIR/volumes/$VM/root"

t_check "stop-vm" vmc stop-vm "$VM"
t_expect "stopped" '^stopped$' state_of "$VM"
t_check "no domain while stopped" bash -c "! virsh -q -c '$HV_URI' list --name | grep -q '$(dom "$VM")'"
t_check "start-vm" vmc start-vm "$VM"
if ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-MARKER: booted' 120; then
	t_ok "marker again after start (bootlog rewritten)"
else
	t_fail "marker again after start"
fi
t_check "destroy-vm" vmc destroy-vm "$VM"
t_check "domain gone" bash -c "! virsh -q -c '$HV_URI' list --name | grep -q '$(dom "$VM")'"
t_check "VM directory gone" test ! -e "$HV_STATE/VMs/$VM"
t_check "volume directory gone" test ! -e "$HV_DIR/volumes/$VM"
t_expect "address back in the free pool" "$VM" hv_curl listAvailableAddresses

# ---- images by URL; a guest that powers off by itself ----
U1=$(vmc -memory=256M -milliCPUs=200 -vmTags=Name=url -imageURL="file://$HV_DIR/images/poweroff.img" create-vm)
t_expect "create from file:// URL" '^10\.102\.0\.' echo "$U1"
if wait_state "$U1" stopped 120; then
	t_ok "guest power-off seen through libvirt's events: stopped"
else
	t_fail "guest power-off becomes stopped" "state $(state_of "$U1")"
fi
t_expect "...after it printed its marker" 'SS-MARKER: done' cat "$HV_STATE/VMs/$U1/bootlog"
t_expect_fail "file:// outside -localImagesDirectory refused" 'not beneath' \
	vmc -memory=64M -milliCPUs=100 -vmTags=Name=bad -imageURL="file://$HV_DIR/certs/ca/ca.key" create-vm
hv_ns busybox httpd -f -p 127.0.0.1:8080 -h "$HV_DIR/images" &
httpd=$!
t_cleanup kill "$httpd"
sleep 0.3
U2=$(vmc -memory=64M -milliCPUs=100 -vmTags=Name=http -doNotStart -imageURL="http://127.0.0.1:8080/ticks.img" create-vm)
t_expect "create from http:// URL (not started)" '^10\.102\.0\.' echo "$U2"
t_expect "...the volume is the image" '^$' cmp "$HV_DIR/images/ticks.img" "$HV_DIR/volumes/$U2/root"
t_expect "...and it is stopped" '^stopped$' state_of "$U2"
t_expect_fail "a missing http:// image is refused" 'HTTP status 404' \
	vmc -memory=64M -milliCPUs=100 -vmTags=Name=nf -imageURL="http://127.0.0.1:8080/nope.img" create-vm
t_expect_fail "ImageName without image server: clear error" 'image server not available' \
	vmc -memory=64M -milliCPUs=100 -vmTags=Name=in -imageName=some/image create-vm
vmc destroy-vm "$U1" >/dev/null
vmc destroy-vm "$U2" >/dev/null

# ---- kill -9 with three VMs running ----
V=()
for n in 1 2 3; do
	V+=("$(vmc -memory=192M -milliCPUs=300 -vmTags=Name=k$n -imageFile="$HV_DIR/images/ticks.img" create-vm)")
done
ok=1
for v in "${V[@]}"; do ss_wait_for "$HV_STATE/VMs/$v/bootlog" 'SS-TICK 1' 180 || ok=0; done
if [ $ok = 1 ]; then t_ok "three VMs booted"; else t_fail "three VMs booted" "${V[*]}"; fi
ids_before=$(hv_virsh list | sort)
hv_daemon_kill9
t_check "daemon killed; domains keep running" bash -c "[ \$(virsh -q -c '$HV_URI' list --name | grep -c 'hv-$uuid-') = 3 ]"
hv_daemon_start -virtType="$vt" -stopTimeout=3s -localImagesDirectory="$HV_DIR/images" ||
	t_fail "daemon restarts" "$(tail -5 "$HV_LOG")"
t_expect "same domains, same ids after the restart" "^$(echo "$ids_before" | md5sum | cut -c1-32)\$" \
	bash -c "virsh -q -c '$HV_URI' list | sort | md5sum | cut -c1-32"
listed=$(vmc list-vms | sort | tr '\n' ' ')
want=$(printf '%s\n' "${V[@]}" | sort | tr '\n' ' ')
t_expect "all three listed" "^$want\$" echo "$listed"
for v in "${V[@]}"; do t_expect "$v still running" '^running$' state_of "$v"; done
out=$(check_vms 2>&1)
rc=$?
t_expect "check-vms: nothing to report" '^0:$' echo "$rc:$out"

rm -f "$HV_DIR/volumes/${V[1]}/root"
t_expect_fail --exit=1 "check-vms reports the deleted volume and exits 1" "${V[1]}/root" check_vms

hv_virsh destroy "$(dom "${V[2]}")" >/dev/null
if wait_state "${V[2]}" crashed 20; then t_ok "a domain killed outside the daemon: crashed"; else
	t_fail "killed domain becomes crashed" "$(state_of "${V[2]}")"; fi

# ---- the overview page in a browser ----
if command -v chromium >/dev/null 2>&1; then
	art=$SS_TOP/build/test-artifacts
	mkdir -p "$art"
	rm -f "$art/hypervisor-overview.png"
	prof=$(mktemp -d "/tmp/${SS_ID}-chromium.XXXXXX")
	t_cleanup rm -rf "$prof"
	hv_ns timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --window-size=1100,900 --screenshot="$art/hypervisor-overview.png" \
		"http://127.0.0.1:$HV_PORT/" >"$HV_DIR/chromium.log" 2>&1
	t_expect "Chromium screenshot of the overview saved" 'PNG image data, 1100 x 900' \
		file "$art/hypervisor-overview.png"
else
	t_skip "Chromium screenshot" "chromium not installed"
fi
