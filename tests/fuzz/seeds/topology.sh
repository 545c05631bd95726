#!/usr/bin/env bash
# Writes tests/fuzz/corpus/topology/: topology trees for fuzz_topology, each a list of
# records "path\0content\0": the fixture tree tests/fixtures/topology/ whole, small
# valid trees (comments, inheritance, variables, IP-only machines) and one broken tree
# per validation rule.
# Usage: bash tests/fuzz/seeds/topology.sh
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$top/tests/fuzz/corpus/topology
mkdir -p "$out"

# seed NAME PATH CONTENT [PATH CONTENT]...
seed() {
  local name=$1
  shift
  : >"$out/$name"
  while [ $# -ge 2 ]; do
    printf '%s\0%s\0' "$1" "$2" >>"$out/$name"
    shift 2
  done
}

# The fixture tree, every file.
fixture=$top/tests/fixtures/topology
: >"$out/fixture"
(cd "$fixture" && find . -type f ! -path './.*/*' | sed 's|^\./||' | sort) | while read -r f; do
  {
    printf '%s\0' "$f"
    cat "$fixture/$f"
    printf '\0'
  } >>"$out/fixture"
done

S='{"Id": "P", "IpGateway": "10.0.0.1", "IpMask": "255.255.255.0", "FirstAutoIP": "10.0.0.10", "LastAutoIP": "10.0.0.20", "ReservedIPs": ["10.0.0.15"]}'
seed small \
  tags.json '{"Type": "hv"}' \
  owners.json '{"OwnerGroups": ["ops"], "OwnerUsers": ["u"]}' \
  A/subnets.json "[$S]" \
  A/B/machines.json '[{"Hostname": "h", "HostIpAddress": "10.0.0.2", "HostMacAddress": "52:54:00:00:00:02", "GatewaySubnetId": "P", "IPMI": {"HostIpAddress": "10.9.0.2"}, "SecondaryNetworkEntries": [{"HostMacAddress": "52:54:00:00:00:03", "SubnetId": "P"}], "Tags": {"Type": "x"}}]' \
  A/install-config.json '{"StorageLayout": {"UseKexec": true}}'
seed comments \
  machines.json $'# hosts\n[\n  // one\n  {"HostIpAddress": "10.1.0.7"},\n  {"Hostname": "b"}\n]\n'
# shellcheck disable=SC2016 # the ${var} are the loader's, not the shell's
seed variables \
  variables.json '{"a": "${x}.$x-${y}", "b": "$$"}' \
  local_variables.json '{"x": "1"}' \
  N/variables.json '{"c": "${a}"}'
seed ignored \
  .git/machines.json 'garbage' \
  N/.old/tags.json '[]' \
  N/README 'x'

seed dup-hostname A/machines.json '[{"Hostname": "h"}]' B/machines.json '[{"Hostname": "h"}]'
seed dup-ip machines.json '[{"Hostname": "a", "HostIpAddress": "10.0.0.5"}, {"Hostname": "b", "SecondaryNetworkEntries": [{"HostIpAddress": "10.0.0.5"}]}]'
seed dup-mac machines.json '[{"Hostname": "a", "HostMacAddress": "52:54:00:00:00:01"}, {"Hostname": "b", "IPMI": {"HostMacAddress": "52:54:00:00:00:01"}}]'
seed dup-subnet-id subnets.json "[$S]" A/subnets.json "[$S]"
seed dup-gateway subnets.json '[{"Id": "a", "IpGateway": "10.0.0.1", "IpMask": "255.0.0.0"}, {"Id": "b", "IpGateway": "10.0.0.1", "IpMask": "255.0.0.0"}]'
seed subnetid-with-host subnets.json "[$S]" machines.json '[{"Hostname": "a", "SecondaryNetworkEntries": [{"SubnetId": "P", "Hostname": "x"}]}]'
seed subnetid-invisible A/subnets.json "[$S]" B/machines.json '[{"Hostname": "a", "SecondaryNetworkEntries": [{"SubnetId": "P"}]}]'
seed gateway-invisible A/subnets.json "[$S]" B/machines.json '[{"Hostname": "a", "GatewaySubnetId": "P"}]'
seed auto-outside subnets.json '[{"Id": "P", "IpGateway": "10.0.0.1", "IpMask": "255.255.255.0", "FirstAutoIP": "10.0.1.10", "LastAutoIP": "10.0.0.20"}]'
seed auto-order subnets.json '[{"Id": "P", "IpGateway": "10.0.0.1", "IpMask": "255.255.255.0", "FirstAutoIP": "10.0.0.30", "LastAutoIP": "10.0.0.20"}]'
seed reserved-outside subnets.json '[{"Id": "P", "IpGateway": "10.0.0.1", "IpMask": "255.255.255.0", "ReservedIPs": ["10.1.0.1"]}]'
seed unknown-key machines.json '[{"Hostname": "a", "IPMI": {"HostIpAdress": "10.0.0.1"}}]'
seed wrong-type machines.json '{"Hostname": "a"}' tags.json '{"a": 1}'
seed no-name machines.json '[{"HostMacAddress": "52:54:00:00:00:01"}]'
seed ipv6 machines.json '[{"Hostname": "a", "HostIpAddress": "fe80::1"}]'
seed syntax machines.json $'[\n{"Hostname": }\n]'
seed bad-paths /abs/tags.json '{}' 'a//tags.json' '{}'
