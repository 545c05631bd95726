#!/usr/bin/env python3
"""bootkit.py: the byte patches of rootfs/bootkit.sh (what grub-bios-setup would do on
the target disk, done once at build time for our fixed layout), and finding files
inside a FAT image.

  bootkit.py boot-img  BOOT_IMG OUT CORE_LBA
  bootkit.py core-img  CORE_IMG OUT CORE_LBA
  bootkit.py find      IMAGE FILE [ALIGN]   prints the one offset of FILE's bytes

GRUB 2.06, util/setup.c (write_rootdev, save_blocklists) and include/grub/i386/pc/
boot.h, for a hard disk with core.img embedded in a BIOS boot partition:

boot.img (the MBR's first 440 bytes; the installer writes only those, so the
partition table and disk signature after them stay sfdisk's):
  0x5c  8 bytes LE  GRUB_BOOT_MACHINE_KERNEL_SECTOR: the LBA of core.img's first
                    sector (diskboot.img)
  0x64  1 byte      GRUB_BOOT_MACHINE_BOOT_DRIVE: 0xff = use the drive in %dl
  0x66  2 bytes     GRUB_BOOT_MACHINE_DRIVE_CHECK: `jmp` over the check for buggy
                    BIOSes passing 0x00/0x01 for a hard disk; setup.c replaces it
                    with two NOPs (0x90 0x90) when the target is not a floppy.
  The BPB area 0x03..0x5a: setup.c copies the target's old BPB there; a GPT disk has
  none (sfdisk's protective MBR is zero there), so boot.img's own bytes stay.

core.img's first sector is diskboot.img; its blocklist grows down from the sector's
end, 12 bytes per entry (struct grub_boot_blocklist: u64 start, u16 len, u16 segment):
  0x1f4  8 bytes LE  start: the LBA of core.img's SECOND sector (the first one is read
                     by boot.img through the kernel sector above)
  0x1fc  2 bytes LE  len: sectors after the first = ceil(size / 512) - 1 (grub-mkimage
                     already wrote it; checked here)
  0x1fe  2 bytes LE  segment 0x820 (GRUB_BOOT_I386_PC_KERNEL_SEG + 0x20; checked)
  0x1e8  12 bytes    the next entry: must stay zero (the terminator)
Reed-Solomon redundancy (setup.c adds parity over the unused embedding area) is left
at grub-mkimage's 0: core.img then loads as it does from a CD (cdboot.img).
"""
import struct
import sys

SECTOR = 512


def boot_img(src, dst, core_lba):
    data = bytearray(open(src, "rb").read())
    if len(data) != SECTOR or data[510:512] != b"\x55\xaa":
        sys.exit("bootkit.py: %s: not a 512-byte boot sector" % src)
    old = struct.unpack_from("<Q", data, 0x5C)[0]
    if old != 1:
        sys.exit("bootkit.py: %s: kernel sector is %d, expected grub-mkimage's 1" % (src, old))
    struct.pack_into("<Q", data, 0x5C, core_lba)
    data[0x64] = 0xFF
    if data[0x66:0x68] not in (b"\xeb\x05", b"\x90\x90"):
        sys.exit("bootkit.py: %s: unexpected bytes at the drive check" % src)
    data[0x66:0x68] = b"\x90\x90"
    open(dst, "wb").write(bytes(data[:440]))


def core_img(src, dst, core_lba):
    data = bytearray(open(src, "rb").read())
    sectors = (len(data) + SECTOR - 1) // SECTOR
    start, length, seg = struct.unpack_from("<QHH", data, 0x1F4)
    if start != 2 or seg != 0x820:
        sys.exit("bootkit.py: %s: blocklist start %d segment %#x: not GRUB 2's diskboot"
                 % (src, start, seg))
    if length != sectors - 1:
        sys.exit("bootkit.py: %s: blocklist length %d, expected %d" % (src, length, sectors - 1))
    if sectors > 2048 - 1:
        sys.exit("bootkit.py: %s: %d sectors do not fit the BIOS boot partition" % (src, sectors))
    if any(data[0x1E8:0x1F4]):
        sys.exit("bootkit.py: %s: blocklist terminator not zero" % src)
    struct.pack_into("<QHH", data, 0x1F4, core_lba + 1, sectors - 1, 0x820)
    data += b"\0" * (sectors * SECTOR - len(data))
    open(dst, "wb").write(bytes(data))


def find(image, needle_file, align):
    data = open(image, "rb").read()
    needle = open(needle_file, "rb").read()
    hits = []
    i = data.find(needle)
    while i >= 0:
        if i % align == 0:
            hits.append(i)
        i = data.find(needle, i + 1)
    if len(hits) != 1:
        sys.exit("bootkit.py: %s found %d times in %s (need exactly once)"
                 % (needle_file, len(hits), image))
    print(hits[0])


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "boot-img":
        boot_img(a[1], a[2], int(a[3]))
    elif len(a) == 4 and a[0] == "core-img":
        core_img(a[1], a[2], int(a[3]))
    elif len(a) in (3, 4) and a[0] == "find":
        find(a[1], a[2], int(a[3]) if len(a) == 4 else SECTOR)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
