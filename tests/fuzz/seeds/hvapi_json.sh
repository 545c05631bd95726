#!/usr/bin/env bash
# Writes tests/fuzz/corpus/hvapi_json/: hypervisor state files in the shapes of
# spec/hypervisor.md §3.1 and §6.1 (as the Go hypervisor writes them: 4-space indent,
# comment lines allowed when read), the DHCP server's dynamic-leases.json and lease
# journal, Hypervisor.* RPC messages of spec/rpc.md §5 in
# Go's compact encoding, and samples of the scalar encodings.
# Usage: bash tests/fuzz/seeds/hvapi_json.sh
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$top/tests/fuzz/corpus/hvapi_json
mkdir -p "$out"
seed() { { printf '%s' "$2"; cat; } >"$out/$1"; }

seed info-full i <<'EOF'
{
    "Address": {
        "IpAddress": "10.2.3.4",
        "MacAddress": "52:54:00:aa:bb:cc"
    },
    "ArchitectureType": "amd64",
    "ChangedStateOn": "2024-05-01T10:00:00.123456789Z",
    "ConsoleType": "vnc",
    "CreatedOn": "2024-05-01T09:59:50Z",
    "CpuPriority": -5,
    "DestroyProtection": true,
    "FirmwareType": "uefi",
    "Hostname": "myvm",
    "IdentityExpires": "0001-01-01T00:00:00Z",
    "ImageName": "stream/2024-05-01:09:00:00",
    "MachineType": "q35",
    "MemoryInMiB": 1024,
    "MilliCPUs": 1000,
    "NetworkEntries": [
        {
            "NumQueues": 4
        },
        {}
    ],
    "OwnerGroups": [
        "team"
    ],
    "OwnerUsers": [
        "alice",
        "bob"
    ],
    "State": "running",
    "SecondaryAddresses": [
        {
            "IpAddress": "10.3.0.9",
            "MacAddress": "52:54:0a:03:00:09"
        },
        {
            "MacAddress": "52:54:0a:03:00:0a"
        }
    ],
    "SecondarySubnetIDs": [
        "sub2",
        ""
    ],
    "SubnetId": "prod",
    "Tags": {
        "Name": "web1",
        "Required:Image": "\u003cstream\u003e \u0026 co"
    },
    "VirtualCPUs": 2,
    "Volumes": [
        {
            "DFM": {},
            "Format": "qcow2",
            "Interface": "nvme",
            "Size": 123,
            "Snapshots": {
                "": 123,
                "daily": 456
            },
            "Type": "memory",
            "VirtualSize": 789
        },
        {
            "DFM": {
                "NvramSize": 65536,
                "Profile": "p1"
            },
            "Interface": "dfm",
            "Size": 10737418240
        }
    ],
    "WatchdogAction": "reset",
    "WatchdogModel": "i6300esb",
    "VolumeLocations": [
        {
            "DirectoryToCleanup": "/data/hyper-volumes/10.2.3.4",
            "Filename": "/data/hyper-volumes/10.2.3.4/root"
        },
        {
            "DirectoryToCleanup": "/data/hyper-volumes/10.2.3.4",
            "Filename": "/data/hyper-volumes/10.2.3.4/secondary-volume.0"
        }
    ]
}
EOF

seed info-minimal i <<'EOF'
# written by an older hypervisor
{
    "Address": {"IpAddress": "", "MacAddress": "52-54-00-AA-BB-CD"},
    "ChangedStateOn": "2024-05-01T12:00:00+02:00",
    "CreatedOn": "0001-01-01T00:00:00Z",
    "IdentityExpires": "0001-01-01T00:00:00Z",
    "MemoryInMiB": 512,
    "MilliCPUs": 500,
    "State": "failed to start",
    "VolumeLocations": null
}
EOF

seed info-stopped i <<'EOF'
{"address":{"ipaddress":"10.2.3.5"},"state":"stopped","CreatedOn":"2023-12-31T23:59:59.5Z","Uncommitted":true,"DisableVirtIO":true,"Volumes":[{"Size":1}],"VolumeLocations":[{"Filename":"/v/10.2.3.5/root"}]}
EOF

seed pool p <<'EOF'
{
    "Free": [
        {
            "IpAddress": "10.2.3.10",
            "MacAddress": "52:54:0a:02:03:0a"
        }
    ],
    "Registered": [
        {
            "IpAddress": "10.2.3.10",
            "MacAddress": "52:54:0a:02:03:0a"
        },
        {
            "IpAddress": "10.2.3.4",
            "MacAddress": "52:54:00:11:22:33"
        },
        {
            "MacAddress": "52:54:00:11:22:34"
        }
    ]
}
EOF
seed pool-empty p <<'EOF'
// nothing registered yet
{"Free": null, "Registered": []}
EOF

seed subnets s <<'EOF'
[
    {
        "Id": "prod",
        "IpGateway": "10.2.0.1",
        "IpMask": "255.255.0.0",
        "DomainName": "prod.example.com",
        "DomainNameServers": [
            "10.0.0.53",
            "10.0.0.54"
        ],
        "Manage": true,
        "VlanId": 120,
        "AllowedGroups": [
            "g"
        ],
        "AllowedUsers": [
            "u"
        ],
        "FirstDynamicIP": "10.2.9.1",
        "LastDynamicIP": "10.2.9.200",
        "Tags": {
            "k": "v"
        }
    },
    {
        "Id": "lab",
        "IpGateway": "192.168.7.1",
        "IpMask": "255.255.255.0",
        "DomainNameServers": null,
        "DisableMetadata": true
    }
]
EOF
seed subnets-null s <<'EOF'
null
EOF

seed create-request c <<'EOF'
{
    "DhcpTimeout": 30000000000,
    "EnableNetboot": true,
    "IdentityCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
    "ImageDataSize": 1048576,
    "ImageTimeout": 600000000000,
    "MinimumFreeBytes": 268435456,
    "OverlayDirectories": [
        "/etc/ssh"
    ],
    "OverlayFiles": {
        "/etc/motd": "aGVsbG8K",
        "/etc/hostname": "bXl2bQ=="
    },
    "RoundupPower": 28,
    "SecondaryVolumes": [
        {
            "DFM": {},
            "Size": 1073741824
        }
    ],
    "SecondaryVolumesData": false,
    "SecondaryVolumesInit": [
        {
            "BytesPerInode": 16384,
            "Label": "data",
            "ReservedBlocksPercentage": 5,
            "RootGroupId": 1000,
            "RootUserId": 1000
        }
    ],
    "SkipMemoryCheck": true,
    "StorageIndices": [
        0,
        1
    ],
    "UserDataSize": 42,
    "Address": {
        "IpAddress": "",
        "MacAddress": ""
    },
    "ChangedStateOn": "0001-01-01T00:00:00Z",
    "CreatedOn": "0001-01-01T00:00:00Z",
    "Hostname": "newvm",
    "IdentityExpires": "2025-01-01T00:00:00Z",
    "ImageName": "debian/12",
    "MemoryInMiB": 2048,
    "MilliCPUs": 2000,
    "State": "starting",
    "SubnetId": "prod",
    "Tags": {
        "Name": "newvm"
    }
}
EOF

seed dynamic-leases l <<'EOF'
[
    {
        "ClientHostName": "laptop",
        "Expires": "2026-11-23T14:07:11.123Z",
        "IpAddress": "10.78.0.100",
        "MacAddress": "52:54:00:78:00:01"
    },
    {
        "Expires": "2026-11-23T12:00:00Z",
        "IpAddress": "10.78.0.101",
        "MacAddress": "52:54:00:78:00:02"
    }
]
EOF
# The journal as dhcp_journal_add writes it, ending in a torn line.
seed lease-journal j <<'EOF'
{"ClientHostName":"laptop","Expires":"2026-11-23T14:07:11.123Z","IpAddress":"10.78.0.102","MacAddress":"52:54:00:78:00:03","Op":"set"}
{"Expires":"2026-11-23T14:07:11Z","IpAddress":"10.78.0.100","MacAddress":"52:54:00:78:00:01","Op":"del"}
{"Expires":"2026-11-23T14:08:00Z","IpAddress":"10.78.0.101","MacAddress":"52:54:00:78:00:09","Op":"set"}
{"Expires":"2026-11-23T14:0
EOF

msg() { printf 'm%s\n%s' "$2" "$3" >"$out/msg-$1"; }
msg create CreateVmRequest '{"DoNotStart":true,"ImageURL":"http://images/x.raw","MemoryInMiB":256,"MilliCPUs":250,"SkipBootloader":true,"Volumes":[{"Size":1,"Type":"memory"}],"ConsoleType":"dummy"}'
msg create-resp CreateVmResponse '{"DhcpTimedOut":false,"Final":true,"IpAddress":"10.2.3.11","ProgressMessage":"","Error":""}'
msg pool ChangeAddressPoolRequest '{"AddressesToAdd":[{"IpAddress":"10.2.3.20","MacAddress":"52:54:0a:02:03:14"}],"AddressesToRemove":null,"MaximumFreeAddresses":{"":24,"prod":16}}'
msg listvms ListVMsRequest '{"IgnoreStateMask":18,"OwnerGroups":["team"],"OwnerUsers":null,"Sort":true,"VmTagsToMatch":{"Name":["web1","web2"]}}'
msg update Update '{"HaveAddressPool":true,"AddressPool":[{"IpAddress":"10.2.3.10","MacAddress":"52:54:0a:02:03:0a"}],"ArchitectureType":"amd64","AvailableMemoryInMiB":4096,"MemoryInMiB":8192,"NumCPUs":4,"NumFreeAddresses":{"prod":1},"HealthStatus":"healthy","HaveSubnets":true,"Subnets":[{"Id":"prod","IpGateway":"10.2.0.1","IpMask":"255.255.0.0","DomainNameServers":null}],"TotalVolumeBytes":1099511627776,"HaveVMs":true,"VMs":{"10.2.3.4":{"Address":{"IpAddress":"10.2.3.4","MacAddress":"52:54:00:aa:bb:cc"},"State":"running","MemoryInMiB":1024,"MilliCPUs":1000,"ChangedStateOn":"2024-05-01T10:00:00Z","CreatedOn":"2024-05-01T09:00:00Z","IdentityExpires":"0001-01-01T00:00:00Z"},"10.2.3.5":{}}}'
msg tags ChangeVmTagsRequest '{"IpAddress":"10.2.3.4","Tags":{"Name":"web1","Env":"prod"}}'
msg subnets UpdateSubnetsRequest '{"Add":[{"Id":"new","IpGateway":"10.9.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.9.0.1"]}],"Change":null,"Delete":["old"]}'
msg dhcp WatchDhcpResponse '{"Error":"","Interface":"br@eth0","Packet":"AQEGAAAAPQ0AAAAAAAAAAAAAAAAAAAAAAAAAAFJUAKq7zA=="}'
msg infos GetVmInfosRequest '{"IgnoreStateMask":0,"OwnerGroups":null,"OwnerUsers":["alice"],"VmTagsToMatch":null}'
msg migrate MigrateVmRequest '{"AccessToken":"c2VjcmV0","DhcpTimeout":-1,"IpAddress":"10.2.3.4","SkipMemoryCheck":false,"SourceHypervisor":"hyper1.example:6976"}'
msg leases RegisterExternalLeasesRequest '{"Addresses":[{"IpAddress":"10.5.0.7","MacAddress":"52:54:00:00:05:07"}],"Hostnames":["ext1"]}'
msg volsize ChangeVmVolumeSizeRequest '{"IpAddress":"10.2.3.4","VolumeIndex":1,"VolumeSize":2147483648}'
msg getinfo GetVmInfoResponse "{\"Error\":\"\",\"VmInfo\":$(tr -d '\n ' <"$out/info-stopped" | cut -c2-)}"
msg capacity GetCapacityResponse '{"MemoryInMiB":16384,"NumCPUs":8,"TotalVolumeBytes":5000000000000}'
msg nul ChangeVmHostnameRequest '{"Hostname":"a\u0000b","IpAddress":"10.2.3.4"}'

printf 'F%s\n%s' '{"IgnoreStateMask":16,"OwnerUsers":["alice"],"VmTagsToMatch":{"Name":["web1"]}}' \
  "$(tr -d '\n' <"$out/info-full" | cut -c2-)" >"$out/filter"
printf 'T2024-05-01T10:00:00.123456789Z' >"$out/time-utc"
printf 'T1999-12-31T23:59:59.5-08:30' >"$out/time-offset"
printf 'T0001-01-01T00:00:00Z' >"$out/time-zero"
printf 'BaGVsbG8gd29ybGQ=\n' >"$out/b64"
printf 'M52:54:00:AA:bb:0c' >"$out/mac"
printf 'V10.0.0.9\00010.0.0.10' >"$out/verstr"
printf 'D{"a":1}\n[true]\n{"b":"\\u00e9"}{}' >"$out/stream"
find "$out" -type f | wc -l
