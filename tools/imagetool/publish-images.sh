#!/bin/bash
# publish-images.sh IMAGETOOL HOST:PORT IMAGES_DIR PREFIX [IMAGETOOL FLAGS...]
# Adds IMAGES_DIR/{installer,hypervisor,pxe} (the output of `make images`) to the image
# server as PREFIX/<kind>/<leaf>, making the streams first when they are missing. The
# leaf is $IMAGE_LEAF, else the UTC time now as 2006-01-02:15:04:05 (the format of the
# original tools: sortable, and the same for the three images of one run). Run by
# `make publish-images`; docs/imagetool.md.
set -eu
if [ $# -lt 4 ]; then
  echo "usage: $0 IMAGETOOL HOST:PORT IMAGES_DIR PREFIX [IMAGETOOL FLAGS...]" >&2
  exit 2
fi
tool=$1 server=$2 images=$3 prefix=$4
shift 4
host=${server%:*} port=${server##*:}
if [ -z "$host" ] || [ "$host" = "$server" ] || ! [[ $port =~ ^[0-9]+$ ]]; then
  echo "publish-images: IMAGESERVER must be host:port, not \"$server\"" >&2
  exit 2
fi
host=${host#[}
host=${host%]}
leaf=${IMAGE_LEAF:-$(date -u +%Y-%m-%d:%H:%M:%S)}
it() { "$tool" -imageServerHostname="$host" -imageServerPortNum="$port" "$@"; }

for kind in installer hypervisor pxe; do
  if [ ! -d "$images/$kind" ]; then
    echo "publish-images: $images/$kind missing (make images builds it)" >&2
    exit 1
  fi
done
for kind in installer hypervisor pxe; do
  stream=$prefix/$kind
  if ! it "$@" check-directory "$stream" 2>/dev/null; then
    it "$@" mkdir "$stream"
  fi
  it "$@" add "$stream/$leaf" "$images/$kind"
  echo "publish-images: $stream/$leaf ($(du -sh --apparent-size "$images/$kind" | cut -f1))"
done
