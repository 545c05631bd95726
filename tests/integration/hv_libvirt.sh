#!/usr/bin/env bash
# timeout: 180
# The hypervisor's test harness and its domain XML under a real, private libvirt:
# the golden domain XML boots a test disk to its serial marker (logged by virtlogd to
# bootlog), the domain survives a libvirtd restart, and nothing is left behind.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VMs"
t_require qemu-system-x86_64 "VMs are QEMU processes"
t_require syslinux "the test disk boots with syslinux"
ss_test_kernel >/dev/null || { t_skip "libvirt harness" "no kernel in /boot"; exit 0; }

if ! hv_libvirt_start; then t_fail "private libvirtd starts"; exit 0; fi
t_ok "private libvirtd starts in its own namespaces"
t_expect "virsh talks to the private libvirtd" 'QEMU' hv_virsh version
t_check "host /etc/libvirt untouched" \
	bash -c "! grep -rqs '$HV_DIR' /etc/libvirt"

hv_bridge "${SS_ID}br" 10.99.0.1/24
echo 'while :; do sleep 60; done' >"$HV_DIR/snippet"
t_check "test disk builds" hv_test_disk "$HV_DIR/disk.img" "$HV_DIR/snippet"

mkdir -p "$HV_DIR/vm"
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
sed -e "s|hv1234abcd-10.2.3.4|${SS_ID}-10.2.3.4|" -e "s|/data/hyper-volumes/10.2.3.4/root|$HV_DIR/disk.img|" \
	-e "s|br@prod|${SS_ID}br|" -e "s|/var/lib/hypervisor/VMs/10.2.3.4|$HV_DIR/vm|g" \
	-e "s|>1024<|>256<|" -e "s|domain type='qemu'|domain type='$vt'|" \
	"$SS_TOP/tests/unit/golden/domxml/minimal.xml" >"$HV_DIR/dom.xml"
t_check "golden XML (bridge renamed) validates against libvirt's schema" virt-xml-validate "$HV_DIR/dom.xml" domain
t_check "golden kernel-boot XML validates" virt-xml-validate "$SS_TOP/tests/unit/golden/domxml/kernel-e1000-ide.xml" domain
t_check "transient domain from the golden XML starts" hv_virsh create "$HV_DIR/dom.xml"
if ss_wait_for "$HV_DIR/vm/bootlog" 'SS-MARKER: booted' 90; then
	t_ok "serial marker reaches bootlog"
else
	t_fail "serial marker reaches bootlog" "$(tail -3 "$HV_DIR/vm/bootlog" 2>&1)"
fi
t_check "serial socket exists" test -S "$HV_DIR/vm/serial0.sock"
t_expect "tap named as the XML says is on the bridge" "tap0a020304" hv_ns ip -o link show master "${SS_ID}br"
t_check "libvirtd restarts" hv_libvirt_restart
t_expect "domain survives a libvirtd restart" "${SS_ID}-10.2.3.4" hv_virsh list --name
t_check "domain destroys" hv_virsh destroy "${SS_ID}-10.2.3.4"
t_expect "no domain left" '^$' hv_virsh list --name
