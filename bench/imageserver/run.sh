#!/usr/bin/env bash
# imageserver throughput and memory on loopback (plain build, build/bin), side by side
# with nginx serving the same bytes over HTTPS:
#   - a 200 MiB image (random data in 4 files) is added with `imagetool add`;
#   - `imagetool get` (SRPC over mutual TLS, every object's SHA-512 verified while
#     written, then unpacked into a new directory) against `curl` downloading the same
#     4 files from nginx (TLS 1.3, its own certificate, configured here in a temp dir;
#     the system's nginx configuration is not used); ROUNDS alternating rounds, the
#     median of each reported, and the ratio (goal: imagetool >= 0.9x nginx);
#   - the imageserver's RSS: idle (after the upload, peak reset through clear_refs), and
#     peak (VmHWM) while receiving the upload and while serving;
#   - CLIENTS concurrent `imagetool get` of the image: time to the last one, every tree
#     checked identical.
# It runs in a private network namespace (root): its own loopback, where client i
# reaches the server at 127.0.1.i from source address 127.0.1.i, as a fleet's clients
# come from many addresses (the server admits at most 40 connections from one).
# Usage: bench/imageserver/run.sh [MIB] [CLIENTS] [ROUNDS]   (make first; not in make check)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SS_NORMAL_BIN:-$top/build/bin}
mib=${1:-200}
clients=${2:-50}
rounds=${3:-3}
nfiles=4
if [ "$clients" -lt 1 ] || [ "$clients" -gt 250 ]; then echo "CLIENTS: 1..250" >&2; exit 2; fi
if [ -z "${IMGBENCH_NS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "run as root (the bench makes a network namespace)" >&2; exit 2; }
  ns=ss$$imgbench
  ip netns add "$ns"
  rc=0
  ip netns exec "$ns" env IMGBENCH_NS="$ns" bash "$0" "$@" || rc=$?
  ip netns del "$ns"
  exit "$rc"
fi
ip link set lo up
sans=DNS:localhost,IP:127.0.0.1
for i in $(seq 1 "$clients"); do
  ip route add local "127.0.1.$i/32" dev lo table local src "127.0.1.$i"
  sans=$sans,IP:127.0.1.$i
done
. "$top/tests/lib/srpc.sh"
for p in imageserver imagetool; do
  [ -x "$bin/$p" ] || { echo "build first: make ($bin/$p missing)" >&2; exit 2; }
done
command -v nginx >/dev/null || { echo "nginx is not installed (bash tools/deps.sh)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed (bash tools/deps.sh)" >&2; exit 2; }

d=$(mktemp -d "/tmp/ss$$-imgbench.XXXXXX")
spid="" npid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  [ -n "$npid" ] && kill "$npid" 2>/dev/null
  rm -rf "$d"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; } # MB/s
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
kib() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }

srpc_ca "$d" CA
srpc_cert "$d" server CA imageserver san="$sans"
srpc_cert "$d" nginx CA nginx san=DNS:localhost,IP:127.0.0.1
srpc_cert "$d" admin CA bench grants='ImageServer.*,ObjectServer.*'
mkdir -p "$d/ssl" "$d/src" "$d/srv"
cp "$d/admin.cert" "$d/admin.key" "$d/ssl/"

# --- the data: MIB of random bytes in nfiles files ---
per=$((mib * 1024 * 1024 / nfiles))
for i in $(seq 1 "$nfiles"); do
  openssl rand -out "$d/src/part$i.bin" "$per"
done
bytes=$((per * nfiles))
(cd "$d/src" && sha512sum part*.bin) >"$d/src.sha512"

# --- the imageserver ---
port=$(free_port)
"$bin/imageserver" -portNum="$port" -imageDir="$d/srv/images" -objectDir="$d/srv/objects" \
  -CAfile="$d/CA.pem" -identityCAfile="$d/CA.pem" -certFile="$d/server.cert" \
  -keyFile="$d/server.key" -logDir="$d/srv/log" >"$d/srv.stderr" 2>&1 &
spid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
it=("$bin/imagetool" -imageServerPortNum="$port" -CAfile="$d/CA.pem" -certDirectory="$d/ssl" -quiet)
echo "imageserver bench: $(nproc) CPUs, $(openssl version | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3), $mib MiB in $nfiles files"
echo "imageserver RSS at start: $(kib "$spid" VmRSS) kB"
"${it[@]}" mkdir bench
t0=$(now)
"${it[@]}" add bench/img "$d/src"
t1=$(now)
add_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
echo "imagetool add: $(printf '%.2f' "$add_s") s, $(rate "$bytes" "$add_s") MB/s (hashing + upload); server VmHWM while receiving: $(kib "$spid" VmHWM) kB"
echo 5 >"/proc/$spid/clear_refs" # resets VmHWM to the current RSS
sleep 0.5
idle=$(kib "$spid" VmRSS)
echo "imageserver idle RSS before serving: $idle kB"

# --- nginx on the same loopback, its own certificate ---
nport=$(free_port)
mkdir -p "$d/nginx/logs" "$d/nginx/tmp"
# Workers run as the invoking user (as root nginx would switch to nobody, who cannot
# read the private temp dir).
cat >"$d/nginx/nginx.conf" <<EOF
$([ "$(id -u)" -eq 0 ] && echo "user root;")
worker_processes 2;
pid $d/nginx/nginx.pid;
error_log $d/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $d/nginx/tmp/body;
  proxy_temp_path $d/nginx/tmp/proxy;
  fastcgi_temp_path $d/nginx/tmp/fastcgi;
  uwsgi_temp_path $d/nginx/tmp/uwsgi;
  scgi_temp_path $d/nginx/tmp/scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_certificate $d/nginx.cert;
    ssl_certificate_key $d/nginx.key;
    ssl_protocols TLSv1.3;
    root $d/src;
  }
}
EOF
nginx -e "$d/nginx/logs/error.log" -p "$d/nginx" -c "$d/nginx/nginx.conf" -g 'daemon off;' &
npid=$!
for _ in $(seq 50); do curl -sf -o /dev/null --cacert "$d/CA.pem" "https://localhost:$nport/part1.bin" -r 0-0 && break; sleep 0.1; done
urls=()
for i in $(seq 1 "$nfiles"); do urls+=(-o "part$i.bin" "https://localhost:$nport/part$i.bin"); done

# --- side by side: ROUNDS x (curl, imagetool get) ---
: >"$d/curl.s" && : >"$d/curlsum.s" && : >"$d/get.s"
hwm=0
for r in $(seq 1 "$rounds"); do
  rm -rf "$d/curl-out" "$d/get-out"
  mkdir "$d/curl-out"
  t0=$(now)
  (cd "$d/curl-out" && curl -sf --cacert "$d/CA.pem" "${urls[@]}")
  t1=$(now)
  (cd "$d/curl-out" && sha512sum --quiet -c "$d/src.sha512")
  t2=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' >>"$d/curl.s"
  awk -v a="$t0" -v b="$t2" 'BEGIN { print b - a }' >>"$d/curlsum.s"
  echo 5 >"/proc/$spid/clear_refs"
  t0=$(now)
  "${it[@]}" get bench/img "$d/get-out"
  t1=$(now)
  h=$(kib "$spid" VmHWM)
  [ "$h" -gt "$hwm" ] && hwm=$h
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' >>"$d/get.s"
  (cd "$d/get-out" && sha512sum --quiet -c "$d/src.sha512") # the tool verified; so do we
  echo "round $r: curl $(tail -n1 "$d/curl.s") s (+ sha512sum: $(tail -n1 "$d/curlsum.s") s), imagetool get $(tail -n1 "$d/get.s") s"
done
c=$(median <"$d/curl.s") cs=$(median <"$d/curlsum.s") g=$(median <"$d/get.s")
echo "nginx + curl (HTTPS, TLS 1.3):            $(rate "$bytes" "$c") MB/s  (median of $rounds)"
echo "nginx + curl + sha512sum afterwards:      $(rate "$bytes" "$cs") MB/s"
echo "imageserver + imagetool get (verified):   $(rate "$bytes" "$g") MB/s"
echo "ratio imagetool/nginx: $(awk -v c="$c" -v g="$g" 'BEGIN { printf "%.2f", c / g }')x of curl alone, $(awk -v c="$cs" -v g="$g" 'BEGIN { printf "%.2f", c / g }')x of curl + sha512sum (goal >= 0.9x)"
echo "imageserver RSS: idle $idle kB, peak while serving (VmHWM) $hwm kB"

# --- CLIENTS concurrent gets ---
rm -rf "$d/curl-out" "$d/get-out"
mkdir "$d/many"
echo 5 >"/proc/$spid/clear_refs"
t0=$(now)
pids=()
for i in $(seq 1 "$clients"); do
  "${it[@]}" -imageServerHostname="127.0.1.$i" get bench/img "$d/many/$i" >"$d/many/$i.log" 2>&1 &
  pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=$((fail + 1)); done
t1=$(now)
many_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
echo "$clients concurrent gets: last done after $(printf '%.2f' "$many_s") s ($(rate $((bytes * clients)) "$many_s") MB/s in all), $fail failed; server VmHWM $(kib "$spid" VmHWM) kB"
bad=0
for i in $(seq 1 "$clients"); do
  [ -d "$d/many/$i" ] && (cd "$d/many/$i" && sha512sum --quiet -c "$d/src.sha512" >/dev/null 2>&1) || bad=$((bad + 1))
  rm -rf "$d/many/$i"
done
echo "$clients concurrent gets: $((clients - bad)) of $clients trees identical"
[ "$fail" -eq 0 ] || sed -n 1,3p "$d"/many/*.log | head -5
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare figures from one run only)"
