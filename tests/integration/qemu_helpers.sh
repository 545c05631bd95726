#!/usr/bin/env bash
# timeout: 120
# The shared QEMU helpers themselves: the marker initramfs boots a Debian kernel
# under the probed accelerator and reaches its marker; modules load in order.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/qemu.sh"
t_require qemu-system-x86_64 "QEMU boots are what this test checks"
k=$(ss_test_kernel) || { t_skip "boot marker initrd" "no kernel in /boot (linux-image-amd64)"; exit 0; }
d=$(mktemp -d "/tmp/$SS_ID-qemu.XXXXXX"); t_cleanup rm -rf "$d"
accel=$(ss_qemu_accel)
case "$accel" in kvm|tcg) t_ok "accelerator probe answers ($accel)" ;; *) t_fail "accelerator probe" "$accel" ;; esac
echo 'grep -q virtio_net /proc/modules && echo "SS-MOD: virtio_net loaded"' >"$d/snip"
SS_INITRD_MODULES="virtio_net" ss_marker_initrd "$d/initrd" "$d/snip"
t_check "initrd written" test -s "$d/initrd"
start=$(date +%s.%N)
timeout -k 2 90 qemu-system-x86_64 -accel "$accel" -cpu "$(ss_qemu_cpu)" -m 256 -nodefaults \
	-nographic -no-reboot -serial "file:$d/log" -kernel "$k" -initrd "$d/initrd" \
	-append "console=ttyS0 quiet panic=-1" >/dev/null 2>&1 </dev/null
end=$(date +%s.%N)
echo "# boot to poweroff: $(echo "$end - $start" | bc) s ($accel)"
t_expect "kernel + marker initrd reaches its marker" 'SS-MARKER: booted' cat "$d/log"
t_expect "modules from modules.dep closure load" 'SS-MOD: virtio_net loaded' cat "$d/log"
t_expect "snippet ran and init powered off" 'SS-MARKER: done' cat "$d/log"
