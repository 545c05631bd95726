#!/usr/bin/env bash
# timeout: 180
# The TFTP server under a hostile client (issue 17, point 7), in private namespaces
# with ss-netsvc: one host sends 2,000 RRQs (blksize 1468, windowsize 64) and never
# ACKs. It used to hold all 256 transfer slots for ~40 s, so netboot was refused for
# everybody, and to log a line per RRQ. Now it holds at most tftp_max_per_client (8)
# transfers and gets an ERROR for each further RRQ; meanwhile a second host (tftp-hpa)
# still fetches a file; the log lines of the burst are bounded (20 at once per kind,
# then one "suppressed" line); when the attacker goes, the server's fds come back.
set -eu
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/netsvc.sh"
. "$SS_TOP/tests/lib/hostile.sh"
t_require tftp "tftp-hpa is the victim's client"
t_require python3 "the attacker is a small python3 script"
t_require jq "reads the server's /status"

H=${SS_ID}s BR=${SS_ID}br A=${SS_ID}a V=${SS_ID}v
tmp=$(mktemp -d "/tmp/${SS_ID}tftph.XXXXXX")
t_cleanup rm -rf "$tmp"
root=$tmp/root
mkdir -p "$root"
head -c 1000000 /dev/urandom >"$root/big.bin"
head -c 100000 /dev/urandom >"$root/small.bin"

nsv_host "$H" "$BR" 10.78.1.1/24
nsv_client "$A" "$H" "$BR" "${SS_ID}pa" 52:54:00:78:01:66
nsv_client "$V" "$H" "$BR" "${SS_ID}pv" 52:54:00:78:01:12
ip -n "$A" addr add 10.78.1.66/24 dev eth0
ip -n "$V" addr add 10.78.1.12/24 dev eth0
cat >"$tmp/cfg.json" <<EOF
{"tftp_root": "$root", "interfaces": ["$BR"], "no_dhcp": true, "http_port": 8078,
 "subnets": [{"Id": "lan", "IpGateway": "10.78.1.1", "IpMask": "255.255.255.0"}]}
EOF
nsv_start "$H" "$tmp/cfg.json" "$tmp/server.log"
fds() { find "/proc/$NSV_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
counter() { nsv_counter "$V" 10.78.1.1 8078 "$1"; }


fd0=$(fds)
HOSTILE_PID=$NSV_PID
hostile_mark
rrq0=$(counter tftp_rrq)
lines0=$(wc -l <"$tmp/server.log")
ip netns exec "$A" python3 "$SS_TOP/tests/lib/tftp_flood.py" 10.78.1.1 big.bin 2000 8 >"$tmp/flood.out" 2>&1 &
flood=$!
t_cleanup nsv_kill "$flood"
sleep 1
# The victim fetches while the attacker holds its transfers.
t0=$(date +%s%N)
if ip netns exec "$V" timeout 20 tftp -m binary 10.78.1.1 -c get small.bin "$tmp/got.bin" >"$tmp/victim.out" 2>&1 &&
	cmp -s "$root/small.bin" "$tmp/got.bin"; then
	t_ok "during the burst another host fetches a file ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	t_fail "during the burst another host fetches a file" "$(cat "$tmp/victim.out")"
fi
sleep 1.5 # one sweep: the "suppressed" lines are out
lines1=$(wc -l <"$tmp/server.log")
wait "$flood" || true
out=$(cat "$tmp/flood.out")
rrq=$(($(counter tftp_rrq) - rrq0))
echo "# attacker: $out; the server received $rrq RRQs"
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$out"; }
t_check "the attacker ran ($out)" test -n "$(field transfers)"
t_check "the attacker held at most 8 transfers ($(field transfers))" \
	test "$(field transfers)" -ge 1 -a "$(field transfers)" -le 8
t_check "further RRQs got an ERROR \"too many transfers from this address\" ($(field err_too_many))" \
	test "$(field err_too_many)" -ge $((rrq > 100 ? rrq - 100 : 1))
t_check "...and none \"server busy\": the other slots stayed free ($(field err_busy))" \
	test "$(field err_busy)" -eq 0
burst=$((lines1 - lines0))
sed -n "$((lines0 + 1)),${lines1}p" "$tmp/server.log" >"$tmp/burst.log"
t_check "the burst logged $burst lines for $rrq RRQs (at most 40)" test "$burst" -le 40
t_expect "...the refusals beyond the first 20 are one \"suppressed\" line" \
	'tftpd: [0-9]+ refusal lines suppressed \(more than 20 at once or 10 a second\)' cat "$tmp/burst.log"

# The attacker is gone: its transfers end (ICMP port unreachable, or the retransmission
# limit) and their sockets are closed.
for ((i = 0; i < 100; i++)); do
	[ "$(fds)" -le "$fd0" ] && break
	sleep 0.2
done
t_check "the server's fds are back ($fd0 -> $(fds))" test "$(fds)" -le "$fd0"
t_check "the server is still running" kill -0 "$NSV_PID"
hostile_settled "after the burst"
ip netns exec "$A" tftp -m binary 10.78.1.1 -c get small.bin "$tmp/again.bin" >/dev/null 2>&1 || true
t_check "the attacker's address is served again afterwards" cmp -s "$root/small.bin" "$tmp/again.bin"
