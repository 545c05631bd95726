#!/usr/bin/env bash
# Writes tests/fuzz/corpus/image_json/: Images as Go's encoding/json writes them
# (spec/fleet-and-images.md §4) in several shapes (no file system, a flat tree, nested
# directories with hard links, symlinks, devices, FIFOs and computed files, every
# Image field), and broken ones (".." names, cycles, hard-linked directories, dangling
# entries, bad hashes, modes of the wrong type, truncated text).
# Usage: bash tests/fuzz/seeds/image_json.sh
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$top/tests/fuzz/corpus/image_json
mkdir -p "$out"
seed() { cat >"$out/$1"; }
ha=$(printf 'a%.0s' $(seq 128))
hb=$(printf 'b%.0s' $(seq 128))
hz=$(printf '0%.0s' $(seq 128))

seed minimal <<'EOF'
{}
EOF

seed no-filesystem <<'EOF'
{"BuildBranch":"main","BuildCommitId":"0123abc","BuildGitUrl":"","CreatedBy":"alice","CreatedFor":"","Filter":null,"FileSystem":null,"Triggers":null,"ReleaseNotes":null,"BuildLog":null,"CreatedOn":"2024-05-01T10:00:00.5Z","ExpiresAt":"2024-06-01T00:00:00Z","OwnerGroups":null,"OwnerUsers":null,"Packages":null,"SourceImage":"","Tags":{"arch":"x86_64"}}
EOF

seed flat <<EOF
{"FileSystem":{"InodeTable":{"1":{"Mode":33188,"Uid":0,"Gid":0,"MtimeNanoSeconds":0,"MtimeSeconds":1700000000,"Size":5,"Hash":"$ha"},"2":{"Mode":33261,"Uid":0,"Gid":0,"MtimeNanoSeconds":0,"MtimeSeconds":1700000000,"Size":0,"Hash":"$hz"}},"NumRegularInodes":2,"TotalDataBytes":5,"DirectoryCount":1,"EntryList":[{"Name":"initrd.img","InodeNumber":2},{"Name":"vmlinuz","InodeNumber":1}],"EntriesByName":null,"Mode":16877,"Uid":0,"Gid":0}}
EOF

seed every-kind <<EOF
{"BuildBranch":"","BuildCommitId":"","BuildGitUrl":"https://git/x","CreatedBy":"bob","CreatedFor":"carol","Filter":{"FilterLines":["/tmp/.*"]},"FileSystem":{"InodeTable":{"1":{"EntryList":[{"Name":"passwd","InodeNumber":2},{"Name":"passwd-link","InodeNumber":2},{"Name":"sub","InodeNumber":9}],"EntriesByName":null,"Mode":16877,"Uid":0,"Gid":0},"10":{"Mode":8630,"Uid":0,"Gid":0,"MtimeNanoSeconds":0,"MtimeSeconds":1,"Rdev":259},"11":{"Mode":4516,"Uid":0,"Gid":0,"MtimeNanoSeconds":7,"MtimeSeconds":2,"Rdev":0},"12":{"Mode":33188,"Uid":0,"Gid":0,"Source":"localhost:6969"},"2":{"Mode":33188,"Uid":0,"Gid":0,"MtimeNanoSeconds":999999999,"MtimeSeconds":-1,"Size":1234,"Hash":"$ha"},"3":{"Uid":1000,"Gid":1000,"Symlink":"../../../outside"},"4":{"Mode":35309,"Uid":0,"Gid":0,"MtimeNanoSeconds":0,"MtimeSeconds":0,"Size":1234,"Hash":"$ha"},"5":{"Mode":33188,"Uid":0,"Gid":0,"MtimeNanoSeconds":0,"MtimeSeconds":0,"Size":1,"Hash":"$hb"},"9":{"EntryList":[{"Name":"deeper","InodeNumber":13}],"EntriesByName":null,"Mode":17901,"Uid":0,"Gid":0},"13":{"EntryList":[],"EntriesByName":null,"Mode":16749,"Uid":0,"Gid":0}},"NumRegularInodes":3,"TotalDataBytes":2469,"DirectoryCount":4,"EntryList":[{"Name":"a","InodeNumber":5},{"Name":"dev-sda3","InodeNumber":10},{"Name":"etc","InodeNumber":1},{"Name":"fifo","InodeNumber":11},{"Name":"gen","InodeNumber":12},{"Name":"link","InodeNumber":3},{"Name":"suid","InodeNumber":4}],"EntriesByName":null,"Mode":16877,"Uid":0,"Gid":0},"Triggers":[{"MatchLines":["/etc/ssh/.*"],"Service":"sshd"}],"ReleaseNotes":null,"BuildLog":{"Object":null,"URL":"http://log"},"CreatedOn":"2024-05-01T10:00:00.123456789Z","ExpiresAt":"0001-01-01T00:00:00Z","OwnerGroups":["ops"],"OwnerUsers":null,"Packages":[{"Name":"bash","Size":100,"Version":"5.2"}],"SourceImage":"base/2024","Tags":{"a":"1","z":""},"Unknown":{"k":[1,2,3]}}
EOF

seed lowercase-keys <<EOF
{"buildbranch":"b","filesystem":{"inodetable":{"1":{"symlink":"t"}},"entrylist":[{"name":"l","inodenumber":1}],"mode":16877},"createdon":"2024-05-01T12:00:00+02:00"}
EOF

bad() { printf '%s' "$2" >"$out/bad-$1"; }
root() { printf '{"FileSystem":{"InodeTable":{%s},"EntryList":[%s],"Mode":16877}}' "$1" "$2"; }
reg() { printf '"%s":{"Mode":33188,"Size":%s,"Hash":"%s"}' "$1" "$2" "$3"; }
bad dotdot "$(root "$(reg 1 0 "$hz")" '{"Name":"..","InodeNumber":1}')"
bad slash "$(root "$(reg 1 0 "$hz")" '{"Name":"a/b","InodeNumber":1}')"
bad nul "$(root "$(reg 1 0 "$hz")" '{"Name":"a\u0000b","InodeNumber":1}')"
bad duplicate "$(root "$(reg 1 0 "$hz")" '{"Name":"a","InodeNumber":1},{"Name":"a","InodeNumber":1}')"
bad dangling "$(root "$(reg 1 0 "$hz")" '{"Name":"a","InodeNumber":7}')"
bad cycle "$(root '"1":{"Mode":16877,"EntryList":[{"Name":"b","InodeNumber":2}]},"2":{"Mode":16877,"EntryList":[{"Name":"a","InodeNumber":1}]}' '{"Name":"a","InodeNumber":1}')"
bad dir-hardlink "$(root '"1":{"Mode":16877,"EntryList":[]}' '{"Name":"a","InodeNumber":1},{"Name":"b","InodeNumber":1}')"
bad no-hash "$(root "$(reg 1 10 "$hz")" '{"Name":"a","InodeNumber":1}')"
bad upper-hash "$(root "$(reg 1 10 "$(printf 'A%.0s' $(seq 128))")" '{"Name":"a","InodeNumber":1}')"
bad mode-type "$(root '"1":{"Mode":16877,"Size":0,"Hash":"'"$hz"'"}' '{"Name":"a","InodeNumber":1}')"
bad socket "$(root '"1":{"Mode":49645,"Rdev":0}' '{"Name":"s","InodeNumber":1}')"
bad two-kinds "$(root '"1":{"Mode":33188,"Rdev":0,"Symlink":"x"}' '{"Name":"s","InodeNumber":1}')"
bad key-zero "$(root '"0":{"Symlink":"x"}' '')"
bad key-leading-zero "$(root '"01":{"Symlink":"x"}' '')"
bad time '{"CreatedOn":"2024-13-01T00:00:00Z"}'
bad tags '{"Tags":{"k":["v"]}}'
bad truncated '{"FileSystem":{"InodeTable":{"1":{"Mode":33'
