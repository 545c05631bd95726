#!/usr/bin/env bash
# TFTP benchmark: our server (ss-netsvc) against tftpd-hpa 5.2 (Debian's in.tftpd) and
# atftpd 0.8.0 (apt-get download into build/peers, run from there), one at a time, with
# the same client (ss-tftpc) and the same options, across a veth pair in private
# namespaces:
#   1. a 64 MiB file in lockstep (window 1) at blksize 1468;
#   2. the same with windowsize 16 and 64 where the server supports RFC 7440;
#   3. 100 concurrent clients fetching a 10 MiB file (lockstep, then window 16);
#   4. a kernel + initrd over our HTTP boot path (curl) against our TFTP (blksize
#      1432, what iPXE asks for).
# Each figure is the best of RUNS (3) runs. Usage: bench/tftp/run.sh   (root; make first)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SS_NORMAL_BIN:-$top/build/bin}
runs=${RUNS:-3}
for b in ss-netsvc ss-tftpc; do
	[ -x "$bin/$b" ] || { echo "build first: make" >&2; exit 2; }
done
command -v in.tftpd >/dev/null || { echo "tftpd-hpa missing (tools/deps.sh)" >&2; exit 2; }

peers=$top/build/peers
atftpd=$peers/atftpd/usr/sbin/atftpd
if [ ! -x "$atftpd" ]; then
	mkdir -p "$peers"
	chmod 777 "$peers" # apt's sandbox user writes the download
	(cd "$peers" && apt-get download -q atftpd >/dev/null && dpkg-deb -x atftpd_*.deb atftpd) ||
		{ echo "cannot fetch atftpd (apt-get download atftpd)" >&2; exit 2; }
fi

id=ss$(($$ % 100000))
S=${id}bs C=${id}bc
d=$(mktemp -d "/tmp/${id}tftpbench.XXXXXX")
chmod 755 "$d" # in.tftpd drops to nobody
srv=""
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	ip netns del "$S" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT

ip netns add "$S"
ip netns add "$C"
ip -n "$S" link set lo up
ip -n "$C" link set lo up
ip -n "$S" link add eth0 type veth peer name eth0 netns "$C"
ip -n "$S" addr add 10.77.9.1/24 dev eth0
ip -n "$C" addr add 10.77.9.2/24 dev eth0
ip -n "$S" link set eth0 up
ip -n "$C" link set eth0 up

root=$d/root
mkdir -p "$root"
chmod 755 "$root"
head -c $((64 << 20)) /dev/urandom >"$root/big.bin"
head -c $((10 << 20)) /dev/urandom >"$root/ten.bin"
kernel=$(find /boot -name 'vmlinuz-*' | sort -V | tail -n 1)
initrd=$(find /boot -name 'initrd.img-*' | sort -V | tail -n 1)
cp "$kernel" "$root/vmlinuz"
cp "$initrd" "$root/initrd.img"
chmod 644 "$root"/*
sum_big=$(sha256sum "$root/big.bin" | cut -c1-64)
sum_ten=$(sha256sum "$root/ten.bin" | cut -c1-64)

start_ours() {
	cat >"$d/ours.json" <<EOF
{"tftp_root": "$root", "no_dhcp": true, "http_port": 8090, "tftp_max_transfers": 256,
 "tftp_max_per_client": 256, "tftp_max_window": 64}
EOF
	ip netns exec "$S" "$bin/ss-netsvc" "$d/ours.json" >"$d/ours.log" 2>&1 &
	srv=$!
}
start_hpa() {
	ip netns exec "$S" in.tftpd -L -u nobody -a 10.77.9.1:69 -s "$root" >"$d/hpa.log" 2>&1 &
	srv=$!
}
start_atftpd() {
	ip netns exec "$S" "$atftpd" --daemon --no-fork --port 69 --bind-address 10.77.9.1 \
		--user nobody --group nogroup --maxthread 256 --logfile "$d/atftpd.log" "$root" &
	srv=$!
}
stop() {
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	srv=""
}

# best MBps of $runs runs of ss-tftpc ARGS; "fail" if any run fails or mismatches
best() { # SUM FILE ARGS...
	local sum=$1 file=$2 b=0 out r i
	shift 2
	for ((i = 0; i < runs; i++)); do
		out=$(ip netns exec "$C" timeout 300 "$bin/ss-tftpc" "$@" 10.77.9.1 "$file" 2>&1 | tail -1) || true
		case "$out" in
		ok*"sha256=$sum") ;;
		*) echo fail; return ;;
		esac
		r=$(sed -n 's/.* MBps=\([0-9.]*\).*/\1/p' <<<"$out")
		b=$(echo "if ($r > $b) $r else $b" | bc)
	done
	echo "$b"
}

declare -A R
measure() { # NAME
	local n=$1
	sleep 0.5
	R[$n.lock]=$(best "$sum_big" big.bin -b 1468)
	if [ "$n" = hpa ]; then
		R[$n.w16]=n/a R[$n.w64]=n/a R[$n.c100w]=n/a
	else
		R[$n.w16]=$(best "$sum_big" big.bin -b 1468 -w 16)
		R[$n.w64]=$(best "$sum_big" big.bin -b 1468 -w 64)
		R[$n.c100w]=$(best "$sum_ten" ten.bin -n 100 -b 1468 -w 16)
	fi
	R[$n.c100]=$(best "$sum_ten" ten.bin -n 100 -b 1468)
}

echo "tftp bench: $(nproc) CPUs, veth between two namespaces, client ss-tftpc, best of $runs"
start_ours; measure ours; stop
start_hpa; measure hpa; stop
start_atftpd; measure atftpd; stop

ratio() { # A B -> A/B or n/a
	case "$1$2" in *n/a* | *fail*) echo "-" ;; *) echo "scale=2; $1 / $2" | bc ;; esac
}
printf '\n%-42s %10s %10s %10s %10s %10s\n' "MB/s (higher is better)" ours tftpd-hpa atftpd "ours/hpa" "ours/atftpd"
row() { # LABEL KEY
	printf '%-42s %10s %10s %10s %10s %10s\n' "$1" "${R[ours.$2]}" "${R[hpa.$2]}" "${R[atftpd.$2]}" \
		"$(ratio "${R[ours.$2]}" "${R[hpa.$2]}")" "$(ratio "${R[ours.$2]}" "${R[atftpd.$2]}")"
}
row "64 MiB, blksize 1468, lockstep" lock
row "64 MiB, blksize 1468, windowsize 16" w16
row "64 MiB, blksize 1468, windowsize 64" w64
row "100 clients x 10 MiB, lockstep (aggregate)" c100
row "100 clients x 10 MiB, windowsize 16 (aggr.)" c100w

# HTTP boot path against TFTP for kernel + initrd, our server.
start_ours
sleep 0.5
ksize=$(stat -c %s "$root/vmlinuz")
isize=$(stat -c %s "$root/initrd.img")
t_tftp=99999 t_http=99999
for ((i = 0; i < runs; i++)); do
	s=$(date +%s.%N)
	ip netns exec "$C" "$bin/ss-tftpc" -b 1432 10.77.9.1 vmlinuz >/dev/null
	ip netns exec "$C" "$bin/ss-tftpc" -b 1432 10.77.9.1 initrd.img >/dev/null
	e=$(date +%s.%N)
	t_tftp=$(echo "x = $e - $s; if (x < $t_tftp) x else $t_tftp" | bc)
	s=$(date +%s.%N)
	ip netns exec "$C" curl -sf -o /dev/null http://10.77.9.1:8090/boot/vmlinuz
	ip netns exec "$C" curl -sf -o /dev/null http://10.77.9.1:8090/boot/initrd.img
	e=$(date +%s.%N)
	t_http=$(echo "x = $e - $s; if (x < $t_http) x else $t_http" | bc)
done
stop
mb=$(echo "scale=1; ($ksize + $isize) / 1000000" | bc)
printf '\nkernel + initrd (%s MB) from our server: TFTP (blksize 1432, lockstep) %.3f s, HTTP (curl) %.3f s: HTTP %.1fx faster\n' \
	"$mb" "$t_tftp" "$t_http" "$(echo "scale=2; $t_tftp / $t_http" | bc)"
