# timeout: 240
# shellcheck shell=bash
# TFTP server (and the HTTP boot handler) of the network services, in private
# namespaces, with real clients: tftp-hpa (no options, netascii) and curl (blksize,
# tsize) fetch byte-identical files; ss-tftpc adds windowsize, block-number
# wraparound past 65535 and a client that duplicates every ACK (no storm); escapes
# through "..", absolute names, symlinks and overlong names fail; write requests are
# refused; per-IP files reach only their IP, and only after the DHCP exchange with
# their MAC (weakness #10); many transfers at once, with a cap (one client may hold them
# all here; netsvc_tftp_hostile.sh tests the per-client cap).
set -eu
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/netsvc.sh"
t_require tftp "tftp-hpa is a client under test"
t_require curl "curl is a TFTP and HTTP client under test"
t_require udhcpc "the per-IP files need a DHCP exchange"
t_require jq "reads the server's /status"

tftpc=$SS_BIN/ss-tftpc
H=${SS_ID}s BR=${SS_ID}br C1=${SS_ID}c1 C2=${SS_ID}c2
MAC1=52:54:00:77:01:11 MAC2=52:54:00:77:01:12
tmp=$(mktemp -d "/tmp/${SS_ID}tftp.XXXXXX")
t_cleanup rm -rf "$tmp"
root=$tmp/root
mkdir -p "$root/pxelinux.cfg" "$root/sub"

# ---- files ----
printf 'line one\nline two\r\nend\n' >"$root/text.txt"
head -c 3000000 /dev/urandom >"$root/three.bin"
head -c 1024 /dev/urandom >"$root/exact1024.bin" # a multiple of 512: empty last block
head -c 1000000 /dev/urandom >"$root/one.bin"
# 34 MB: 66,407 blocks of 512 bytes, past the 16-bit block counter.
head -c 34000000 /dev/urandom >"$root/wrap.bin"
echo secret >"$tmp/outside.txt"
echo inside >"$root/sub/file.txt"
ln -s ../outside.txt "$root/escape"
ln -s /etc/passwd "$root/passwd"
printf 'DEFAULT x\nLABEL x\nKERNEL vmlinuz\nAPPEND initrd=initrd.img quiet\n' >"$root/pxelinux.cfg/default"
echo kernel >"$root/vmlinuz"

nsv_host "$H" "$BR" 10.77.1.1/24
nsv_client "$C1" "$H" "$BR" "${SS_ID}v1" $MAC1
nsv_client "$C2" "$H" "$BR" "${SS_ID}v2" $MAC2
ip -n "$C2" addr add 10.77.1.12/24 dev eth0
cat >"$tmp/cfg.json" <<EOF
{
  "tftp_root": "$root",
  "interfaces": ["$BR"],
  "http_port": 8069,
  "tftp_max_transfers": 150,
  "tftp_max_per_client": 200,
  "subnets": [{"Id": "lan", "IpGateway": "10.77.1.1", "IpMask": "255.255.255.0"}],
  "leases": [{"mac": "$MAC1", "ip": "10.77.1.11", "hostname": "one"}],
  "files": [{"ip": "10.77.1.11", "mac": "$MAC1",
             "files": {"config.json": "{\"Hostname\": \"one\"}\n", "/tftpboot/imagename": "img-1\n"}}]
}
EOF
nsv_start "$H" "$tmp/cfg.json" "$tmp/server.log"

# c1 gets its address by DHCP later; until then it uses it statically.
ip -n "$C1" addr add 10.77.1.11/24 dev eth0

get_hpa() { # NS REMOTE LOCAL [mode]
	ip netns exec "$1" tftp -m "${4:-binary}" 10.77.1.1 -c get "$2" "$3" 2>&1
}
same() { cmp "$1" "$2" >/dev/null 2>&1; }

# ---- byte-identical fetches ----
get_hpa "$C2" three.bin "$tmp/a.bin" >/dev/null
t_check "tftp-hpa (no options, 512-byte lockstep) fetches a file byte-identically" same "$root/three.bin" "$tmp/a.bin"
get_hpa "$C2" exact1024.bin "$tmp/b.bin" >/dev/null
t_check "a file of exactly two blocks ends with an empty block" same "$root/exact1024.bin" "$tmp/b.bin"
get_hpa "$C2" text.txt "$tmp/t.txt" netascii >/dev/null
t_check "netascii mode round-trips a text file" same "$root/text.txt" "$tmp/t.txt"
ip netns exec "$C2" curl -s --max-time 30 tftp://10.77.1.1/three.bin -o "$tmp/c.bin"
t_check "curl (tsize) fetches byte-identically" same "$root/three.bin" "$tmp/c.bin"
ip netns exec "$C2" curl -s --max-time 30 --tftp-blksize 1428 tftp://10.77.1.1/three.bin -o "$tmp/d.bin"
t_check "curl with blksize 1428 fetches byte-identically" same "$root/three.bin" "$tmp/d.bin"
ip netns exec "$C2" curl -s --max-time 30 --tftp-blksize 9000 tftp://10.77.1.1/three.bin -o "$tmp/e.bin"
t_check "a blksize above the link MTU is clamped and still works" same "$root/three.bin" "$tmp/e.bin"
t_expect "the OACK clamps blksize to MTU-32 (1468)" "three.bin): 3000000 bytes sent .*blksize 1468" \
	cat "$tmp/server.log"
ip netns exec "$C2" "$tftpc" -b 1468 -w 16 -t -o "$tmp/f.bin" 10.77.1.1 /tftpboot/three.bin >"$tmp/f.out"
t_check "windowsize 16 fetches byte-identically (/tftpboot prefix stripped)" same "$root/three.bin" "$tmp/f.bin"
want=$(sha256sum "$root/wrap.bin" | cut -c1-64)
t_expect "block numbers wrap past 65535 (34 MB at 512-byte blocks, window 32)" \
	"^ok .*data_pkts=66407 .*sha256=$want" ip netns exec "$C2" "$tftpc" -b 512 -w 32 10.77.1.1 wrap.bin
t_expect "block numbers wrap in lockstep too (34 MB at 512-byte blocks, window 1)" \
	"^ok .*data_pkts=66407 .*sha256=$want" ip netns exec "$C2" "$tftpc" -b 512 10.77.1.1 wrap.bin

# ---- no storm when a client duplicates every ACK ----
out=$(ip netns exec "$C2" "$tftpc" -b 1024 -w 8 -D 10.77.1.1 three.bin)
pkts=$(sed -n 's/.* data_pkts=\([0-9]*\).*/\1/p' <<<"$out")
blocks=$((3000000 / 1024 + 1))
t_check "duplicated ACKs cost at most one extra window per timeout ($pkts packets for $blocks blocks)" \
	test "${pkts:-0}" -ge "$blocks" -a "${pkts:-999999}" -le $((blocks + 16))
out=$(ip netns exec "$C2" "$tftpc" -b 1024 -D 10.77.1.1 three.bin)
pkts=$(sed -n 's/.* data_pkts=\([0-9]*\).*/\1/p' <<<"$out")
t_check "in lockstep a duplicated ACK never causes a resend ($pkts packets)" test "${pkts:-0}" -le $((blocks + 2))

# ---- escapes, writes, bad names ----
t_expect "\"..\" is refused" "Error code 2: access violation" get_hpa "$C2" ../outside.txt "$tmp/x1"
t_expect "\"..\" behind a /tftpboot prefix is refused" "Error code 2" get_hpa "$C2" /tftpboot/../outside.txt "$tmp/x2"
t_expect "a symlink out of the root is refused" "Error code 2" get_hpa "$C2" escape "$tmp/x3"
t_expect "a symlink to an absolute path is refused" "Error code 2" get_hpa "$C2" passwd "$tmp/x4"
t_expect "an absolute name stays inside the root" "Error code 1" get_hpa "$C2" /etc/passwd "$tmp/x5"
long=$(printf 'a%.0s' $(seq 300))
t_expect "an overlong name is refused" "Error code 2: file name too long" get_hpa "$C2" "$long" "$tmp/x6"
t_expect "a directory is not served" "Error code 2" get_hpa "$C2" sub "$tmp/x7"
t_check "nothing outside the root leaked" bash -c "! grep -qs secret $tmp/x1 $tmp/x2 $tmp/x3 $tmp/x5"
get_hpa "$C2" sub/file.txt "$tmp/x8" >/dev/null
t_check "a file in a subdirectory is served" same "$root/sub/file.txt" "$tmp/x8"
echo data >"$tmp/up.txt"
t_expect "write requests are refused" "Error code 2: write requests are refused" \
	ip netns exec "$C2" tftp -m binary 10.77.1.1 -c put "$tmp/up.txt" up.txt
t_check "nothing was written" test ! -e "$root/up.txt"

# ---- per-IP files: only for their IP, only after DHCP with their MAC ----
t_expect "per-IP files are refused before the DHCP exchange with their MAC" "Error code 2" \
	get_hpa "$C1" config.json "$tmp/p0"
ip -n "$C1" addr flush dev eth0
# -s /bin/true: the default script would rewrite the host's /etc/resolv.conf.
ip netns exec "$C1" udhcpc -i eth0 -f -q -n -t 3 -T 1 -s /bin/true >"$tmp/udhcpc.log" 2>&1 || true
ip -n "$C1" addr add 10.77.1.11/24 dev eth0 2>/dev/null || true
get_hpa "$C1" config.json "$tmp/p1" >/dev/null
t_expect "after the DHCP ACK the client gets its config.json" '^\{"Hostname": "one"\}$' cat "$tmp/p1"
get_hpa "$C1" /tftpboot/imagename "$tmp/p2" >/dev/null
t_expect "registered names are normalised like requests" "^img-1$" cat "$tmp/p2"
t_expect "another IP does not see them" "Error code 1: file not found" get_hpa "$C2" config.json "$tmp/p3"
# Another host takes the IP over: the neighbour table shows a MAC that did not do DHCP.
readdress() { # NS CIDR
	ip -n "$1" addr flush dev eth0
	ip -n "$1" addr add "$2" dev eth0
	ip -n "$H" neigh flush dev "$BR"
	ip netns exec "$1" ping -c 1 -W 2 10.77.1.1 >/dev/null 2>&1 || true
}
ip -n "$C1" addr flush dev eth0
readdress "$C2" 10.77.1.11/24
t_expect "a host holding the IP with another MAC is refused" "Error code 2" get_hpa "$C2" config.json "$tmp/p4"
t_expect "... because the neighbour's MAC differs" "config.json refused: MAC differs" cat "$tmp/server.log"
readdress "$C2" 10.77.1.12/24
readdress "$C1" 10.77.1.11/24
t_expect "HTTP boot serves them to their IP too" '^\{"Hostname": "one"\}$' \
	ip netns exec "$C1" curl -s --max-time 5 http://10.77.1.1:8069/boot/config.json
t_expect "HTTP boot hides them from other IPs" "^404$" \
	ip netns exec "$C2" curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.77.1.1:8069/boot/config.json
t_expect "HTTP boot refuses traversal" "^(403|404)$" \
	ip netns exec "$C2" curl -s --path-as-is -o /dev/null -w '%{http_code}' --max-time 5 "http://10.77.1.1:8069/boot/../outside.txt"
t_expect "HTTP boot generates an iPXE script from pxelinux.cfg" \
	"^#!ipxe kernel vmlinuz initrd=initrd.img quiet initrd initrd.img boot $" \
	bash -c "ip netns exec $C2 curl -s --max-time 5 http://10.77.1.1:8069/boot/boot.ipxe | tr '\n' ' '"

# ---- many clients at once; the cap ----
t_expect "100 concurrent transfers all complete identically" "^ok n=100 done=100 .*sha256=$(sha256sum "$root/one.bin" | cut -c1-64)" \
	ip netns exec "$C2" "$tftpc" -n 100 -b 1468 -w 4 10.77.1.1 one.bin
# The requests arrive faster than tiny transfers finish: some are refused.
out=$(ip netns exec "$C2" "$tftpc" -n 200 10.77.1.1 exact1024.bin 2>&1 || true)
done_n=$(sed -n 's/.* done=\([0-9]*\) .*/\1/p' <<<"$out" | head -1)
t_check "the transfer cap (150) refuses the rest with \"server busy\" ($done_n of 200 done)" \
	bash -c "[ ${done_n:-0} -ge 150 ] && [ ${done_n:-0} -lt 200 ] && grep -q 'server busy' '$tmp/server.log'"
t_check "the server is still running" kill -0 "$NSV_PID"
