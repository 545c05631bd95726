#!/usr/bin/env bash
# timeout: 420
# PowerOnMachine (daemon/fleet-manager/power.c), end to end without hardware:
# (a) IPMI: OpenIPMI's ipmi_sim on a 127.x address, port 623, whose chassis_control
#     hook starts and stops a QEMU VM (shared/research/ipmi.md, approach b); power-on
#     starts the VM, whose first line reaches its serial log, and the status reads on;
#     a wrong password is a clear error and starts no VM; an ipmitool that exits 0
#     while the status stays off, or hangs, is an error (fake tools).
# (b) Wake-on-LAN: a listener (wol-listen) in a second namespace, across a veth, gets
#     exactly the magic packet for the machine's MAC at the subnet's directed
#     broadcast; a subnet that is not on a link is refused (never sent via a gateway).
# (c) neither IPMI nor a MAC: the original's error.
# Each part runs first through the helper fm-power-testc (power_on_machine for a machine
# given on the command line, with fake ipmitools too), then through the real program:
# FleetManager.PowerOnMachine of a fleet-manager (tests/lib/fleet.sh) whose topology
# has a machine of each kind. The BMC, its VM and the fleet-manager share the
# fleet-manager's namespace; the Wake-on-LAN listener sits across a veth from it.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/qemu.sh"
. "$SS_TOP/tests/lib/fleet.sh"
. "$SS_TOP/tests/lib/bmc.sh"
t_require ipmi_sim "the BMC simulator comes from the openipmi package (tools/deps.sh)"
t_require ipmitool "PowerOnMachine runs ipmitool (tools/deps.sh)"
t_require qemu-system-x86_64 "the BMC's machine is a QEMU VM"

TESTC=$SS_BIN/fm-power-testc
WOL=$SS_BIN/wol-listen
fm_setup || exit 0
W=$FM_DIR/power
mkdir -p "$W"

# ---- (a) IPMI --------------------------------------------------------------------
# ipmitool has no port in PowerOnMachine's command line: the BMC listens on 623 of a
# loopback address of its own (everything in 127.0.0.0/8 is loopback).
BMC=$(bmc_addr)
ACCEL=$(ss_qemu_accel)
# The BMC and its machine (tests/lib/bmc.sh): user fmadmin, files in $W.
if bmc_start "$FM_NS" "$W" "$BMC" fmadmin fm-secret-1; then
	SIM=$BMC_PID
	echo not-the-password >"$W/badpw"
	chmod 600 "$W/badpw"
else
	SIM=
	echo "# $BMC_WHY"
fi

IPMI=(fm_ns ipmitool -I lanplus -C 3 -H "$BMC" -U fmadmin -f "$W/pw")
power() { fm_ns "$TESTC" -u fmadmin -C 3 -t 20000 "$@"; }

if [ -n "${SIM:-}" ] && kill -0 "$SIM" 2>/dev/null; then
	t_expect "BMC simulator: status off at start" "Chassis Power is off" "${IPMI[@]}" chassis power status

	t_expect_fail "a wrong IPMI password is a clear error" \
		"IPMI $BMC: chassis power on: exit 1: .*(RMCP|session|password)" \
		power -f "$W/badpw" -I "$BMC" hyper-a
	sleep 1
	if bmc_vm_alive || [ -e "$W/serial.log" ]; then
		t_fail "no VM after the refused power-on" "$(cat "$W/vm/chassis.log" 2>/dev/null)"
	else
		t_ok "no VM after the refused power-on"
	fi
	t_expect_fail "a missing password file is named" "password file $W/nopw: No such file" \
		power -f "$W/nopw" -I "$BMC" hyper-a

	t0=$(date +%s%N)
	t_expect "PowerOnMachine over IPMI: the status is read back on" \
		"^ok: IPMI $BMC: chassis power is on" power -f "$W/pw" -I "$BMC" hyper-a
	if ss_wait_for "$W/serial.log" "SS-MARKER: up after power-on" 120; then
		t_ok "the VM prints its first line after $((($(date +%s%N) - t0) / 1000000)) ms ($ACCEL)"
	else
		t_fail "the VM prints its first line" "$(tail -3 "$W/serial.log" "$W/vm/qemu.log" 2>&1)"
	fi
	t_expect "the BMC says the chassis is on" "Chassis Power is on" "${IPMI[@]}" chassis power status
	t_expect "powering on a machine that is on succeeds (no second VM)" "^ok: IPMI" \
		power -f "$W/pw" -I "$BMC" hyper-a
	t_check "still one QEMU for the machine" test "$(grep -c 'set power 1' "$W/vm/chassis.log")" = 2
	"$W/chassis-ctl.sh" "$W/vm" set power 0
else
	t_skip "IPMI power-on through ipmi_sim" "${BMC_WHY:-ipmi_sim stopped}"
fi

# ipmitool's exit status is not trusted: a tool that accepts "on" but leaves the status
# off, one that prints something unexpected, one that hangs.
cat >"$W/fake-ipmitool" <<'EOF'
#!/bin/sh
for last; do :; done
case "$last" in
on) echo "Chassis Power Control: Up/On"; exit 0 ;;
status) echo "Chassis Power is ${FAKE_STATUS:-off}"; exit 0 ;;
esac
exit 1
EOF
cat >"$W/slow-ipmitool" <<'EOF'
#!/bin/sh
exec sleep 30
EOF
chmod +x "$W/fake-ipmitool" "$W/slow-ipmitool"
t_expect_fail "exit 0 but the status stays off is an error" "status says: Chassis Power is off" \
	power -T "$W/fake-ipmitool" -f "$W/pw" -I 192.0.2.1 hyper-a
t_expect_fail "an unreadable status is an error" "status says: Chassis Power is unknown" \
	env FAKE_STATUS=unknown "$TESTC" -T "$W/fake-ipmitool" -u u -f "$W/pw" -I 192.0.2.1 hyper-a
t0=$(date +%s%N)
t_expect_fail "a hanging ipmitool is killed at the timeout" "no answer within 700 ms" \
	"$TESTC" -T "$W/slow-ipmitool" -u u -f "$W/pw" -t 700 -I bmc-a.example hyper-a
el=$((($(date +%s%N) - t0) / 1000000))
if [ "$el" -lt 3000 ]; then t_ok "the timeout held (${el} ms)"; else t_fail "the timeout held" "${el} ms"; fi
t_expect_fail "no -ipmiUsername: refused before running anything" "no -ipmiUsername" \
	"$TESTC" -f "$W/pw" -I 192.0.2.1 hyper-a

# ---- (b) Wake-on-LAN ---------------------------------------------------------------
# The fleet-manager's namespace A (10.77.0.1/24, default route via B) and the listener's
# namespace B (10.77.0.2/24) joined by a veth: the broadcast stays on that link.
NSA=$FM_NS NSB=${SS_ID}wb
WPORT=40009
ip netns add "$NSB" && t_cleanup ip netns del "$NSB"
ip -n "$NSA" link add "${SS_ID}wa0" type veth peer name "${SS_ID}wb0" netns "$NSB"
ip -n "$NSA" addr add 10.77.0.1/24 dev "${SS_ID}wa0"
ip -n "$NSB" addr add 10.77.0.2/24 dev "${SS_ID}wb0"
ip -n "$NSB" link set lo up
ip -n "$NSA" link set "${SS_ID}wa0" up
ip -n "$NSB" link set "${SS_ID}wb0" up
ip -n "$NSA" route add default via 10.77.0.2

# listen MAC SECONDS [DEST]: starts wol-listen in B, waits until it is bound.
listen() {
	rm -f "$W/wol.out"
	ip netns exec "$NSB" "$WOL" "$WPORT" "$@" >"$W/wol.out" 2>&1 &
	LPID=$!
	ss_wait_for "$W/wol.out" listening 5
}
# heard: waits for the listener (its exit status in HRC: 0 right, 1 wrong, 2 none).
heard() {
	HRC=0
	wait "$LPID" || HRC=$?
}
inA() { ip netns exec "$NSA" "$@"; }

MAC=52:54:00:77:00:0a
listen "$MAC" 10 10.77.0.255
t_expect "Wake-on-LAN: the magic packet is sent to the directed broadcast" \
	"^ok: Wake-on-LAN: magic packet for $MAC sent to 10.77.0.255:$WPORT" \
	inA "$TESTC" -p "$WPORT" -a 10.77.0.10 -m "$MAC" -s far=10.98.0.1/24 -s near=10.77.0.1/24 hyper-w
heard
t_expect "the listener gets exactly the magic packet for the MAC" \
	"^WOL ok: 102 bytes from 10.77.0.1:[0-9]+ to 10.77.0.255" cat "$W/wol.out"

MAC2=52:54:00:77:00:0b
listen "$MAC2" 10 10.77.0.255
t_expect "no primary MAC: the first secondary entry with one" "magic packet for $MAC2" \
	inA "$TESTC" -p "$WPORT" -a 10.98.0.5 -e "$MAC2/10.77.0.11" -s near=10.77.0.1/24 hyper-w2
heard
t_expect "the listener gets the secondary MAC's packet" "^WOL ok: 102 " cat "$W/wol.out"

listen "$MAC" 3
t_expect_fail "a subnet not on a link is refused, not sent through the gateway" \
	"no topology subnet|not on a link of this host" \
	inA "$TESTC" -p "$WPORT" -a 10.88.0.10 -m "$MAC" -s far=10.88.0.1/24 hyper-far
heard
t_check "nothing reached the listener" test "$HRC:$(cat "$W/wol.out")" = "2:listening on 0.0.0.0:$WPORT
WOL none within 3 s"

# ---- (c) neither -----------------------------------------------------------------
t_expect_fail "no IPMI and no MAC: the original's error" \
	"^error: no IPMI address for: hyper-none .*no MAC" \
	inA "$TESTC" -a 10.77.0.12 -s near=10.77.0.1/24 hyper-none
t_expect_fail "a MAC but no subnet containing the address" \
	"^error: no IPMI address for: hyper-nosub .*no topology subnet contains 10.66.0.3" \
	inA "$TESTC" -a 10.66.0.3 -m "$MAC" -s near=10.77.0.1/24 hyper-nosub

# ---- through the fleet-manager ---------------------------------------------------------
# A location with one machine of each kind; the password file starts wrong.
mkdir -p "$FM_DIR/topology/POWER"
cat >"$FM_DIR/topology/POWER/subnets.json" <<'EOF2'
[{"Id": "PowerNet", "IpGateway": "10.77.0.1", "IpMask": "255.255.255.0",
  "DomainNameServers": ["10.77.0.1"]}]
EOF2
cat >"$FM_DIR/topology/POWER/machines.json" <<EOF2
[
    {"Hostname": "pw-ipmi", "HostIpAddress": "10.78.0.10", "IPMI": {"HostIpAddress": "$BMC"}},
    {"Hostname": "pw-wol", "HostIpAddress": "10.77.0.10", "HostMacAddress": "$MAC"},
    {"Hostname": "pw-none", "HostIpAddress": "10.78.0.12"}
]
EOF2
cp "$W/badpw" "$W/fmpw"
if ! fm_start -ipmiUsername=fmadmin -ipmiPasswordFile="$W/fmpw" -ipmiCipherSuite=3 \
	-wakeOnLanPort="$WPORT"; then
	t_fail "the fleet-manager starts" "$(tail -5 "$FM_LOG")"
	exit 0
fi
pon() { fm_rpc "$1" FleetManager.PowerOnMachine "{\"Hostname\":\"$2\"}"; }

if [ -n "${SIM:-}" ] && kill -0 "$SIM" 2>/dev/null; then
	rm -f "$W/serial.log"
	starts=$(grep -c 'set power 1' "$W/vm/chassis.log")
	t_expect "fleet-manager: a wrong IPMI password is a clear error" \
		"\"Error\":\"IPMI $BMC: chassis power on: exit 1: Error: Unable to establish" pon admin pw-ipmi
	t_expect "fleet-manager: PowerOnMachine by a non-owner is refused" \
		'"Error":"no access to resource"' pon user pw-ipmi
	sleep 1
	if bmc_vm_alive || [ -e "$W/serial.log" ] ||
		[ "$(grep -c 'set power 1' "$W/vm/chassis.log")" != "$starts" ]; then
		t_fail "fleet-manager: no VM after the refusals" "$(tail -3 "$W/vm/chassis.log")"
	else
		t_ok "fleet-manager: no VM after the refusals"
	fi
	cp "$W/pw" "$W/fmpw"
	t0=$(date +%s%N)
	t_expect "fleet-manager: PowerOnMachine over IPMI" '"Error":""' pon admin pw-ipmi
	if ss_wait_for "$W/serial.log" "SS-MARKER: up after power-on" 120; then
		t_ok "fleet-manager: the VM prints its first line after $((($(date +%s%N) - t0) / 1000000)) ms"
	else
		t_fail "fleet-manager: the VM prints its first line" "$(tail -3 "$W/serial.log" "$W/vm/qemu.log" 2>&1)"
	fi
	t_expect "fleet-manager: the BMC says on" "Chassis Power is on" "${IPMI[@]}" chassis power status
	t_expect "fleet-manager: the log says what was done" \
		"PowerOnMachine\\(pw-ipmi\\) by admin: IPMI $BMC: chassis power is on" cat "$FM_LOG"
	"$W/chassis-ctl.sh" "$W/vm" set power 0
else
	t_skip "fleet-manager: IPMI power-on" "ipmi_sim did not start"
fi

listen "$MAC" 10 10.77.0.255
t_expect "fleet-manager: PowerOnMachine by Wake-on-LAN" '"Error":""' pon admin pw-wol
heard
t_expect "fleet-manager: the listener gets exactly the magic packet for pw-wol's MAC" \
	"^WOL ok: 102 bytes from 10.77.0.1:[0-9]+ to 10.77.0.255" cat "$W/wol.out"
t_expect "fleet-manager: neither IPMI nor a MAC: the original's error" \
	'"Error":"no IPMI address for: pw-none' pon admin pw-none
