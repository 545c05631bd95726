#!/usr/bin/env python3
"""hv_reimage_wire.py CA CERT KEY ADDR IMAGE: CreateVm as the Go vm-control sends it
(JSON endpoint, rpc.md §10): the request line as Go's encoding/json writes a
CreateVmRequest with a qcow2 root (nil lists as null, enums as strings), the image
bytes in a write of their own, the replies up to Final, then AcknowledgeVm on the same
connection. Prints every reply line; exit 0 when the VM was created and acknowledged."""
import json
import os
import socket
import ssl
import sys

ca, cert, key, addr, image = sys.argv[1:6]
size = os.path.getsize(image)
host, port = addr.rsplit(":", 1)
sock = socket.create_connection((host, int(port)), timeout=60)
sock.sendall(b"CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n")
hdr = b""
while not hdr.endswith(b"\n\n"):
    b = sock.recv(1)
    if not b:
        sys.exit("connection closed during CONNECT")
    hdr += b
if b" 200 " not in hdr.split(b"\n", 1)[0] + b" ":
    sys.exit("CONNECT: " + hdr.decode(errors="replace"))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
tls = ctx.wrap_socket(sock, server_hostname="localhost")
rd = tls.makefile("rb")


def call(method):
    tls.sendall(method.encode() + b"\n")
    line = rd.readline()
    if line != b"\n":
        sys.exit("refused: " + line.decode(errors="replace"))


# Go's field order for CreateVmRequest (VmInfo embedded), as vm-control fills it.
req = ('{"AccessToken":null,"Address":{"IpAddress":null,"MacAddress":""},'
       '"ConsoleType":"none","CpuPriority":0,"CreatedOn":"0001-01-01T00:00:00Z",'
       '"DestroyOnPowerdown":false,"DestroyProtection":false,"DisableVirtIO":false,'
       '"ExtraKernelOptions":"","FirmwareType":"default","Hostname":"","ImageName":"",'
       '"ImageURL":"","MachineType":"pc","MemoryInMiB":64,"MilliCPUs":100,'
       '"OwnerGroups":null,"OwnerUsers":null,"SpreadVolumes":false,"State":"starting",'
       '"SecondaryAddresses":null,"SecondarySubnetIDs":null,"SubnetId":"",'
       '"Tags":{"Name":"wire-qcow2"},"Uncommitted":false,"VirtualCPUs":0,'
       '"Volumes":[{"DFM":{},"Format":"qcow2","Interface":"virtio","Size":0,'
       '"Snapshots":null,"Type":"persistent","VirtualSize":0}],'
       '"WatchdogAction":"none","WatchdogModel":"none","DhcpTimeout":0,'
       '"DoNotStart":true,"EnableNetboot":false,"IdentityCertificate":null,'
       '"IdentityKey":null,"ImageDataSize":%d,"ImageTimeout":0,"MinimumFreeBytes":0,'
       '"OverlayDirectories":null,"OverlayFiles":null,"RoundupPower":0,'
       '"SecondaryVolumes":null,"SecondaryVolumesData":false,'
       '"SecondaryVolumesInit":null,"SkipBootloader":false,"SkipMemoryCheck":false,'
       '"StorageIndices":null,"UserDataSize":0}\n' % size)
call("Hypervisor.CreateVm")
tls.sendall(req.encode())
try:
    with open(image, "rb") as f:
        tls.sendall(f.read())
except OSError as e:
    print("sending the image: %s" % e)
    print(rd.readline().decode(errors="replace").rstrip("\n"))
    sys.exit(1)
ip = None
while True:
    line = rd.readline()
    if not line:
        sys.exit("connection closed before Final")
    print(line.decode().rstrip("\n"))
    r = json.loads(line)
    if r.get("Error"):
        sys.exit(1)
    if r.get("Final"):
        ip = r["IpAddress"]
        break
call("Hypervisor.AcknowledgeVm")
tls.sendall(json.dumps({"IpAddress": ip}).encode() + b"\n")
line = rd.readline()
print(line.decode().rstrip("\n"))
sys.exit(0 if json.loads(line).get("Error", "") == "" else 1)
