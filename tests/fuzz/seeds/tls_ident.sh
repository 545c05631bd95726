#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/tls_ident/ with certificates made by the openssl command
# through the SRPC test helpers (tests/lib/srpc.sh), converted to DER: leaf + CA
# chains with grant and group extensions in several ASN.1 string types, the bare
# extension values, and grant globs. Usage: bash tests/fuzz/seeds/tls_ident.sh
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$top/tests/fuzz/corpus/tls_ident
tmp=$(mktemp -d /tmp/fuzzseed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/lib/srpc.sh"
mkdir -p "$out"
cd "$tmp"

srpc_ca . ca
srpc_cert . admin ca admin 'grants=*.*'
srpc_cert . owner ca alice 'grants=Hypervisor.ListVMs,Hypervisor.Get*,Test.[a-eE]cho' \
  groups=ops,dev
srpc_cert . printable ca bob grants=Test.Echo groups=ops type=PRINTABLE
srpc_cert . ia5 ca carol 'grants=Test.E?ho,Test.\*' type=IA5
srpc_cert . bmp ca dave 'grants=Test.E*' groups=grp type=BMP
srpc_cert . t61 ca erin groups=a,b,c type=T61
srpc_cert . bad ca mallory grants=NoDotHere
srpc_cert . plain ca nobody san=DNS:localhost,IP:127.0.0.1

der() { openssl x509 -in "$1" -outform DER; }
for c in admin owner printable ia5 bmp t61 bad plain; do
  { der "$c.cert"; der ca.pem; } >"$out/chain-$c"
done
der ca.pem >"$out/ca"

# Bare extension values: the DER after the OCTET STRING header of each extension.
extval() { # CERT OID -> hex of the extension value
  openssl asn1parse -in "$1" | awk -v oid="$2" '
    index($0, oid) { found = 1; next }
    found && /OCTET STRING/ { sub(/.*\[HEX DUMP\]:/, ""); print; exit }'
}
n=0
for c in owner printable ia5 bmp t61; do
  for oid in 1.3.6.1.4.1.9586.100.7.1 1.3.6.1.4.1.9586.100.7.2; do
    hex=$(extval "$c.cert" "$oid")
    [ -n "$hex" ] || continue
    flags=$([ "${oid##*.}" = 1 ] && echo 05 || echo 02)
    { printf E; printf '%s%s' "$flags" "$hex" | xxd -r -p; } >"$out/ext-$c-${oid##*.}"
    n=$((n + 1))
  done
done

printf 'GTest.E*\0Test.Echo' >"$out/glob-star"
printf 'G*.*\0Hypervisor.ListVMs' >"$out/glob-all"
printf 'G[a-z]?st.\\*\0Test.*' >"$out/glob-class"
printf 'G[^\xc3\xa9-\xc3\xbf]bc.d\0\xc3\xa0bc.d' >"$out/glob-utf8"
printf 'GHypervisor.ListVMs\0Hypervisor.ListVMs' >"$out/glob-literal"
find "$out" -type f | wc -l
