#!/usr/bin/env bash
# timeout: 150
# What the hypervisor's RPCs change reaches its network services at once, against
# libvirt's test driver: fixes of weaknesses of the original (docs/weaknesses.md; each
# case name starts with its item number). A new hostname reaches the VM's DHCP lease
# and the DHCP status page (#12; a namespace with the VM's MAC on the bridge runs
# busybox udhcpc as its guest); added and deleted subnets reach the routes of the
# metadata namespace (#15).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require udhcpc "busybox udhcpc stands in for a guest's DHCP client"

hv_setup "${SS_ID}br" 10.102.0.1/24 || exit 0


hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts (test driver)"

# One address: alice's VM gets 10.102.0.10 with the MAC the stand-in guest uses.
rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"w","IpGateway":"10.102.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.102.0.1"]}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.102.0.10","MacAddress":"52:54:00:66:00:0a"}]}' >/dev/null
VA=$(vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=w -vmTags=Name=alice-vm create-vm 2>&1 | tail -1)
if [ "$VA" = 10.102.0.10 ]; then
	t_ok "alice creates a VM"
else
	t_fail "alice creates a VM" "$VA"
	exit 0
fi

# ---- #12: a new hostname reaches the VM's DHCP lease ----
# A namespace with alice's VM's MAC on the bridge stands in for the guest.
hv_dhcp_machine "${SS_ID}br" 52:54:00:66:00:0a
lease() { hv_lease "$@" | sed 's/\.$//'; } # the guest's DHCP exchange: "hostname=... ip=... "
t_expect "#12 the guest's lease carries the VM's hostname" "^hostname=alice-vm ip=$VA \$" lease
t_check "#12 ChangeVmHostname of the running VM" vmc user -hostname=renamed change-vm-hostname "$VA"
t_expect "#12 the guest's next lease carries the new hostname" "^hostname=renamed ip=$VA \$" lease
hv_curl showDhcpStatus >"$HV_DIR/dhcp.html"
t_expect "#12 the DHCP status page shows the new name" 'Hostname&quot;: &quot;renamed' cat "$HV_DIR/dhcp.html"
t_check "#12 ... and not the old one" bash -c "! grep -q 'alice-vm&quot;' '$HV_DIR/dhcp.html'"

# ---- #15: subnet changes reach the metadata namespace's routes ----
. "$SS_TOP/tests/lib/metadata.sh"
mdns=$(md_ns_of "$HV_PID" || true)
md_routes() { nsenter --net="$mdns" ip -4 route show | awk '{print $1}' | sort | tr '\n' ' '; }
t_expect "#15 metadata namespace routes the VM subnet" '^10\.102\.0\.0/24 $' md_routes
rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"x","IpGateway":"10.103.0.1","IpMask":"255.255.255.0"},{"Id":"y","IpGateway":"10.104.0.1","IpMask":"255.255.0.0","DisableMetadata":true}]}' >/dev/null
t_expect "#15 an added subnet is routed at once (not one with DisableMetadata)" \
	'^10\.102\.0\.0/24 10\.103\.0\.0/24 $' md_routes
rpc admin Hypervisor.UpdateSubnets '{"Delete":["x","y"]}' >/dev/null
t_expect "#15 deleted subnets leave the routes" '^10\.102\.0\.0/24 $' md_routes

t_check "daemon stops cleanly" hv_daemon_stop
t_check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$HV_LOG'"
