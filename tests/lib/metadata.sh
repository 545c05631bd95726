# shellcheck shell=bash
# Helpers for the metadata service tests (sourced, bash, after tests/lib/tap.sh).
# A "VM" here is a network namespace whose eth0 is the peer of a veth whose host end
# stands for the VM's tap (a port of the bridge under test).

# md_vm_add HOSTNS NS TAP BRIDGE MAC IP/PREFIX GATEWAY: creates the VM namespace.
md_vm_add() {
  local host=$1 ns=$2 tap=$3 br=$4 mac=$5 cidr=$6 gw=$7
  ip netns add "$ns"
  t_cleanup ip netns del "$ns"
  ip -n "$host" link add "$tap" type veth peer name eth0 netns "$ns"
  ip -n "$host" link set "$tap" master "$br" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 address "$mac"
  ip -n "$ns" addr add "$cidr" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$gw"
}

# md_get NS PATH [curl args...]: GET http://169.254.169.254PATH from NS; sets MD_CODE
# (000 when there was no answer) and MD_BODY.
md_get() {
  local ns=$1 path=$2 tmp
  shift 2
  tmp=$(mktemp "/tmp/${SS_ID}md.XXXXXX")
  MD_CODE=$(ip netns exec "$ns" curl -sS --noproxy '*' -m 3 -o "$tmp" -w '%{http_code}' \
    "$@" "http://169.254.169.254$path" 2>/dev/null) || true
  MD_BODY=$(cat "$tmp")
  rm -f "$tmp"
}

# md_expect NAME NS PATH CODE [BODY [curl args...]]: one TAP case. BODY "=text" must
# equal the body (less trailing newlines), otherwise it is an extended regex that some
# line of the body must match.
md_expect() {
  local name=$1 ns=$2 path=$3 code=$4 re=${5:-}
  shift 4
  [ $# -gt 0 ] && shift
  md_get "$ns" "$path" "$@"
  if [ "$MD_CODE" != "$code" ]; then
    t_fail "$name" "HTTP $MD_CODE (want $code): $(head -c 200 <<<"$MD_BODY" | tr '\n' ' ')"
  elif [ "${re:0:1}" = "=" ] && [ "$MD_BODY" != "${re:1}" ]; then
    t_fail "$name" "body is not '${re:1}': $(head -c 300 <<<"$MD_BODY" | tr '\n' '|')"
  elif [ -n "$re" ] && [ "${re:0:1}" != "=" ] && ! grep -qE -- "$re" <<<"$MD_BODY"; then
    t_fail "$name" "body does not match /$re/: $(head -c 300 <<<"$MD_BODY" | tr '\n' '|')"
  else
    t_ok "$name"
  fi
}

# md_wait_ready FILE GENERATION [PID]: waits (10 s) until the ready file holds GENERATION.
md_wait_ready() {

  for _ in $(seq 100); do
    [ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# md_ns_of PID: the /proc path of the private network namespace PID holds open (the
# metadata namespace), for nsenter.
md_ns_of() {
  local own fd l
  own=$(readlink "/proc/$1/ns/net")
  for fd in /proc/"$1"/fd/*; do
    l=$(readlink "$fd" 2>/dev/null) || continue
    case $l in net:*) [ "$l" != "$own" ] && { echo "$fd"; return 0; } ;; esac
  done
  return 1
}

# md_ping NS ADDR: one ICMP echo with a 1 s deadline.
md_ping() {
  ip netns exec "$1" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1
}

# md_raw NS REQUEST: sends REQUEST (printf %b escapes: \r\n) as it is to
# 169.254.169.254:80 from NS and prints the answer (3 s at most), for requests curl
# would not send (two Host headers).
md_raw() {
  # shellcheck disable=SC2016 # $1 is the inner shell's argument
  ip netns exec "$1" timeout 3 bash -c \
    'exec 3<>/dev/tcp/169.254.169.254/80 && printf "%b" "$1" >&3 && cat <&3' _ "$2" 2>&1
}
