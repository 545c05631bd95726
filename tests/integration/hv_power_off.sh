#!/usr/bin/env bash
# timeout: 150
# PowerOff against libvirt's test driver, through -powerOffCommand (a script writing a
# marker, never the real thing): refused without the grant, refused while a VM runs
# (naming it) and for a malformed request, without running the command; with StopVMs
# it shuts the VMs down and runs the command exactly once.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "the daemon's /healthz is fetched with curl"
t_require openssl "test certificates are made with openssl"

BR=${SS_ID}br
hv_setup "$BR" 10.105.0.1/24 || exit 0


# PowerOff runs this instead of /sbin/poweroff.
MARK=$HV_DIR/powered-off
cat >"$HV_DIR/poweroff.sh" <<EOF
#!/bin/sh
echo "\$0" >>"$MARK"
EOF
chmod +x "$HV_DIR/poweroff.sh"

hv_daemon_start -virtType=qemu -stopTimeout=2s -powerOffCommand="$HV_DIR/poweroff.sh" || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts with -powerOffCommand"

rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"m","IpGateway":"10.105.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.105.0.1"]}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.105.0.10","MacAddress":"52:54:00:69:00:0a"},{"IpAddress":"10.105.0.11","MacAddress":"52:54:00:69:00:0b"}]}' >/dev/null
create() { vmc "$1" -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=m -vmTags=Name="$2" create-vm 2>&1 | tail -1; }
VB=$(create admin admin-vm)
if [[ $VB =~ ^10\.105\.0\.1[01]$ ]]; then
	t_ok "the admin creates a VM"
else
	t_fail "the admin creates a VM" "$VB"
	exit 0
fi

# ---- PowerOff (last: it arms the host shutdown) ----
t_expect_fail "PowerOff refused without the grant" 'access to method denied' rpc user Hypervisor.PowerOff '{}'
t_expect "PowerOff refused while VMs run" 'is not shut down' rpc admin Hypervisor.PowerOff '{}'
t_check "... and the power-off command did not run" test ! -e "$MARK"
t_expect_fail "PowerOff refuses a malformed request" 'StopVMs|bool|bad request' rpc admin Hypervisor.PowerOff '{"StopVMs":"yes"}'
t_check "... and the power-off command did not run" test ! -e "$MARK"
t_expect "PowerOff names the running VM" "$VB is not shut down" rpc admin Hypervisor.PowerOff '{}'
t_expect "PowerOff with StopVMs shuts the VMs down and powers off" '^\{"Error":""\}$' \
	rpc admin Hypervisor.PowerOff '{"StopVMs":true}'
t_expect "... the power-off command ran once" '^1$' bash -c "wc -l <'$MARK'"
t_check "the daemon is still answering (the command is only a hook in tests)" hv_curl healthz -f
