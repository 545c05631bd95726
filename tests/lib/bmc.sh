# shellcheck shell=bash
# A machine with a BMC for power-on tests (sourced, bash, after tests/lib/tap.sh and
# tests/lib/qemu.sh): OpenIPMI's ipmi_sim on ADDR:623 (UDP, a 127.x address of its
# own: everything in 127.0.0.0/8 is loopback) whose chassis_control hook starts and
# stops a QEMU VM (shared/research/ipmi.md, approach b). The VM prints
# "SS-MARKER: up after power-on" on its serial console ($BMC_DIR/serial.log). The same
# set-up as tests/integration/fm_power.sh's.
#
#   bmc_addr                   prints a 127.x address derived from $$
#   bmc_start NS DIR ADDR USER PASSWORD
#                              the BMC (user USER, admin, md5) in namespace NS, its
#                              files in DIR (BMC_DIR), password file $BMC_DIR/pw;
#                              registers its cleanup. Returns 1 with the reason in
#                              BMC_WHY when it cannot run (no kernel, ipmi_sim failed).
#   bmc_vm_alive               is the machine's VM running?

bmc_addr() {
	local n=$(($$ % 60000 + 1000))
	echo "127.$((100 + n / 65536)).$((n / 256 % 256)).$((n % 256 == 0 ? 1 : n % 256))"
}

bmc_vm_alive() {
	local p
	p=$(cat "$BMC_DIR/vm/qemu.pid" 2>/dev/null) || return 1
	[ -r "/proc/$p/stat" ] && [ "$(sed 's/^.*) //' "/proc/$p/stat" | cut -d' ' -f1)" != Z ]
}

# shellcheck disable=SC2034 # BMC_WHY and BMC_PID are the caller's
bmc_start() { # NS DIR ADDR USER PASSWORD
	local ns=$1 addr=$3 user=$4 pw=$5 k
	BMC_DIR=$2 BMC_WHY=
	mkdir -p "$BMC_DIR/vm" "$BMC_DIR/state"
	k=$(ss_test_kernel) || { BMC_WHY="no kernel in /boot for the BMC's VM"; return 1; }
	printf '%s\n' 'echo "SS-MARKER: up after power-on"' 'while true; do sleep 3600; done' \
		>"$BMC_DIR/snippet"
	ss_marker_initrd "$BMC_DIR/initrd.gz" "$BMC_DIR/snippet" ||
		{ BMC_WHY="the VM's initrd"; return 1; }
	cat >"$BMC_DIR/vm/vm.env" <<EOF
QEMU_ARGS="-accel $(ss_qemu_accel) -cpu $(ss_qemu_cpu) -m 256 -nodefaults -display none -monitor none -serial file:$BMC_DIR/serial.log -kernel $k -initrd $BMC_DIR/initrd.gz -append 'console=ttyS0 quiet panic=-1'"
EOF
	# The chassis_control hook (ipmi_sim runs it through popen and reads stdout to EOF):
	# "get power" -> power:1|0, "set power 1|0", "set reset 1", "set shutdown 1".
	cat >"$BMC_DIR/chassis-ctl.sh" <<'EOF'
#!/bin/bash
D=$1; shift
. "$D/vm.env"
op=$1; shift
echo "$(date +%T.%N) $op $*" >>"$D/chassis.log"
alive() {
	local p st
	p=$(cat "$D/qemu.pid" 2>/dev/null) || return 1
	[ -r "/proc/$p/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$p/stat" | cut -d' ' -f1)
	[ "$st" != Z ]
}
start_vm() {
	alive && return 0
	(	# ipmi_sim's sockets are not close-on-exec: QEMU must not keep the BMC's port
		for fd in $(ls "/proc/$BASHPID/fd"); do [ "$fd" -gt 2 ] && exec {fd}>&-; done
		eval exec qemu-system-x86_64 $QEMU_ARGS -daemonize -pidfile "$D/qemu.pid" \
			</dev/null >>"$D/qemu.log" 2>&1
	)
}
stop_vm() {
	local p i=0
	alive || { rm -f "$D/qemu.pid"; return 0; }
	p=$(cat "$D/qemu.pid")
	kill -TERM "$p"
	while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	alive && kill -KILL "$p"
	rm -f "$D/qemu.pid"
}
case "$op" in
get) for name in "$@"; do case "$name" in
	power) if alive; then echo "power:1"; else echo "power:0"; fi ;;
	boot) echo "boot:none" ;;
	*) echo "$name:0" ;;
	esac; done ;;
set) while [ $# -ge 2 ]; do name=$1 val=$2; shift 2; case "$name" in
	power) if [ "$val" = 1 ]; then start_vm; else stop_vm; fi ;;
	reset) stop_vm; start_vm ;;
	shutdown) stop_vm ;;
	esac; done ;;
esac
exit 0
EOF
	chmod +x "$BMC_DIR/chassis-ctl.sh"
	cat >"$BMC_DIR/bmc.emu" <<'EOF'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
EOF
	cat >"$BMC_DIR/lan.conf" <<EOF
name "bmc"
set_working_mc 0x20
  startlan 1
    addr $addr 623
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$BMC_DIR/chassis-ctl.sh $BMC_DIR/vm"
  user 2 true "$user" "$pw" admin 10 md5
EOF
	echo "$pw" >"$BMC_DIR/pw"
	chmod 600 "$BMC_DIR/pw"
	# Not in a function's subshell: $! must be ipmi_sim itself.
	ip netns exec "$ns" ipmi_sim -n -c "$BMC_DIR/lan.conf" -f "$BMC_DIR/bmc.emu" \
		-s "$BMC_DIR/state" >"$BMC_DIR/ipmi_sim.log" 2>&1 &
	BMC_PID=$!
	# The VM first (the hook), then the BMC.
	t_cleanup kill "$BMC_PID"
	t_cleanup "$BMC_DIR/chassis-ctl.sh" "$BMC_DIR/vm" set power 0
	for _ in $(seq 50); do
		ip netns exec "$ns" ss -uln | grep -q "$addr:623 " && return 0
		kill -0 "$BMC_PID" 2>/dev/null || break
		sleep 0.1
	done
	BMC_WHY="ipmi_sim did not start: $(tail -3 "$BMC_DIR/ipmi_sim.log" 2>/dev/null)"
	return 1
}
