#!/usr/bin/env bash
# timeout: 300
# The README's main-job command: tools/demo.sh --once starts a hypervisor with the
# embedded default configuration, boots a VM whose console shows its marker, and
# removes everything it created.
. "$SS_TOP/tests/lib/tap.sh"
t_require libvirtd "the demo runs VMs under a private libvirtd"
t_require socat "the demo relays the status page with socat"
out=$(bash "$SS_TOP/tools/demo.sh" --once 2>&1)
rc=$?
# shellcheck disable=SC2001 # a prefix on every line, not one substitution
sed 's/^/# /' <<<"$out"
if [ "$rc" -eq 0 ]; then t_ok "tools/demo.sh --once succeeds"; else t_fail "tools/demo.sh --once" "exit $rc"; fi
t_expect "the VM's console shows the marker" 'SS-MARKER: booted' echo "$out"
t_expect "the VM got its lease from the daemon's DHCP server" 'SS-DHCP: eth0 10\.123\.0\.1[0-7] router=10\.123\.0\.1' echo "$out"
t_expect "the VM read its user data from the metadata service" 'SS-USERDATA: hello from the metadata service' echo "$out"
t_expect "the VM is running" '"State": "running"' echo "$out"
id=$(sed -n 's|.*/tmp/\(ss[0-9]*\)-hv\..*|\1|p' <<<"$out" | head -1)
t_check "the demo's namespace is gone" bash -c "! ip netns list | grep -q '^${id:-none}hv'"
t_check "the demo's state directory is gone" bash -c "! ls -d /tmp/${id:-none}-hv.* 2>/dev/null"
t_expect "demo -h explains itself" 'embedded default configuration' bash "$SS_TOP/tools/demo.sh" -h
