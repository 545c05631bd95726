# Image builder (mkrootfs) and the appliance images.
#
#   make images       build/images/{installer,hypervisor}/{vmlinuz,initrd.img,manifest.json},
#                     build/images/pxe/ (TFTP/HTTP boot tree), build/images/installer.iso
#   make kernel       the small custom kernel (build/kernel/bzImage; ~10+ min, cached)
#   make images KERNEL=custom   installer image on the custom kernel instead of Debian's
#   IMAGES_DIR=dir    build the images somewhere else (the reproducibility test does)
#
# Images are packed from the plain build ($(O)/bin), never from ASAN=1.
PROGRAMS += mkrootfs
mkrootfs_SRCS := rootfs/mkrootfs.c rootfs/manifest.c rootfs/elf.c rootfs/ldpath.c rootfs/modules.c \
	rootfs/image.c rootfs/collect.c rootfs/cpio.c rootfs/xz.c
mkrootfs_LIBS := $(call pkg_libs,libarchive liblzma)

UNIT_TESTS += test_rootfs_manifest test_rootfs_elf test_rootfs_modules test_rootfs_image test_rootfs_xz
test_rootfs_manifest_SRCS := rootfs/manifest.c
test_rootfs_elf_SRCS := rootfs/elf.c rootfs/ldpath.c
test_rootfs_modules_SRCS := rootfs/modules.c
test_rootfs_image_SRCS := rootfs/image.c
test_rootfs_xz_SRCS := rootfs/xz.c
test_rootfs_xz_LIBS := $(call pkg_libs,liblzma)

IMAGES_DIR ?= $(TOP)/build/images
KERNEL ?= debian
KERNEL_CACHE ?= $(TOP)/build/kernel
# Commit time of HEAD: the same commit builds the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git -C $(TOP) log -1 --format=%ct 2>/dev/null || echo 1700000000)
export SOURCE_DATE_EPOCH

# Debian's kernel: the newest installed linux-image with its module tree.
DEBIAN_KVER := $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
DEBIAN_KERNEL := /boot/vmlinuz-$(DEBIAN_KVER)
DEBIAN_MODULES := /lib/modules/$(DEBIAN_KVER)
CUSTOM_KERNEL := $(KERNEL_CACHE)/bzImage

ifeq ($(KERNEL),custom)
  INSTALLER_KERNEL := $(CUSTOM_KERNEL)
  INSTALLER_MODULES := builtin
else ifeq ($(KERNEL),debian)
  INSTALLER_KERNEL := $(DEBIAN_KERNEL)
  INSTALLER_MODULES := $(DEBIAN_MODULES)
else
  $(error KERNEL must be debian or custom)
endif

MKROOTFS = $(O)/bin/mkrootfs -q -D TOP=$(TOP) -D BIN=$(TOP)/$(O)/bin -D IMAGES=$(IMAGES_DIR)
IMG_INSTALLER := $(IMAGES_DIR)/installer/initrd.img
IMG_HYPERVISOR := $(IMAGES_DIR)/hypervisor/initrd.img
IMG_PXE := $(IMAGES_DIR)/pxe/pxelinux.0
IMG_ISO := $(IMAGES_DIR)/installer.iso
# The hypervisor image's boot kit (GRUB images, ESP image) and tools tree (what the
# installer runs chrooted): installer/installer.h lists them.
IMG_BOOTKIT := $(IMAGES_DIR)/hypervisor/boot/esp.json
IMG_TOOLS_ARCHIVE := $(IMAGES_DIR)/.tools/initrd.img
IMG_TOOLS := $(IMAGES_DIR)/.tools/tree.done
# Programs of ours that the hypervisor image packs, once their fragments exist
# (second expansion: fragments included after this one add to PROGRAMS too).
IMAGE_PROGRAMS = $(addprefix $(O)/bin/,$(filter hypervisor vm-control hyper-control installer,$(PROGRAMS)))

.PHONY: images kernel iso pxe images-params
# Build parameters that change the bytes without changing a file: rewritten only
# when they change, so the images rebuild exactly then.
IMG_PARAMS := $(IMAGES_DIR)/.params
IMG_PARAMS_TEXT := kernel=$(KERNEL) $(INSTALLER_KERNEL) $(DEBIAN_KERNEL) epoch=$(SOURCE_DATE_EPOCH)
$(IMG_PARAMS): images-params
	@mkdir -p $(@D)
	@echo "$(IMG_PARAMS_TEXT)" | cmp -s - $@ || echo "$(IMG_PARAMS_TEXT)" >$@

images: $(IMG_INSTALLER) $(IMG_HYPERVISOR) $(IMG_BOOTKIT) $(IMG_TOOLS) $(IMG_PXE) $(IMG_ISO)
	@bash $(TOP)/bench/images/sizes.sh $(IMAGES_DIR)
iso: $(IMG_ISO)
pxe: $(IMG_PXE)
kernel: $(CUSTOM_KERNEL)

$(CUSTOM_KERNEL): $(wildcard kernel-config/*.config) kernel-config/build-kernel.sh
	KERNEL_CACHE=$(KERNEL_CACHE) bash kernel-config/build-kernel.sh $@

# The installer's /build-timestamp: its mtime (SOURCE_DATE_EPOCH, as every file's in
# an image) is the earliest time the installer believes (spec/installer.md, clock fix).
IMG_TIMESTAMP := $(IMAGES_DIR)/.build-timestamp
$(IMG_TIMESTAMP): $(IMG_PARAMS)
	@echo "$(SOURCE_DATE_EPOCH)" >$@

$(IMG_INSTALLER): $(O)/bin/mkrootfs rootfs/installer.manifest installer/init installer/udhcpc.script \
		$(INSTALLER_KERNEL) $(IMG_PARAMS) $(IMG_TIMESTAMP) rootfs/rootfs.mk
	@echo "images: installer ($(KERNEL) kernel)"
	@mkdir -p $(@D) $(IMAGES_DIR)/.deps
	$(MKROOTFS) -n installer -o $(@D) -m rootfs/installer.manifest -k $(INSTALLER_KERNEL) \
		-M $(INSTALLER_MODULES) -d $(IMAGES_DIR)/.deps/installer.d
	@echo "images: installer: $$(stat -c %s $(@D)/vmlinuz) + $$(stat -c %s $@) bytes"

.SECONDEXPANSION:
$(IMG_HYPERVISOR): $(O)/bin/mkrootfs rootfs/hypervisor.manifest $$(wildcard rootfs/hypervisor/*) \
		installer/udhcpc.script $(DEBIAN_KERNEL) $$(IMAGE_PROGRAMS) $(IMG_PARAMS) rootfs/rootfs.mk
	@echo "images: hypervisor appliance (Debian kernel)"
	@mkdir -p $(@D) $(IMAGES_DIR)/.deps
	$(MKROOTFS) -n hypervisor -o $(@D) -m rootfs/hypervisor.manifest -k $(DEBIAN_KERNEL) \
		-M $(DEBIAN_MODULES) -d $(IMAGES_DIR)/.deps/hypervisor.d
	@echo "images: hypervisor: $$(stat -c %s $(@D)/vmlinuz) + $$(stat -c %s $@) bytes"

$(IMG_BOOTKIT): rootfs/bootkit.sh rootfs/bootkit.py $(IMG_PARAMS) rootfs/rootfs.mk
	@echo "images: hypervisor boot kit (GRUB, ESP)"
	bash rootfs/bootkit.sh $(@D)

# The tools: packed by mkrootfs like an image, then unpacked into a plain tree
# (every mtime SOURCE_DATE_EPOCH, so the tree is as reproducible as the archive).
$(IMG_TOOLS_ARCHIVE): $(O)/bin/mkrootfs rootfs/tools.manifest $(IMG_PARAMS) rootfs/rootfs.mk
	@mkdir -p $(@D) $(IMAGES_DIR)/.deps
	$(MKROOTFS) -n tools -o $(@D) -m rootfs/tools.manifest -d $(IMAGES_DIR)/.deps/tools.d
$(IMG_TOOLS): $(IMG_TOOLS_ARCHIVE)
	@echo "images: hypervisor tools tree"
	rm -rf $(IMAGES_DIR)/hypervisor/tools $(IMAGES_DIR)/hypervisor/tools.tmp
	mkdir -p -m 0755 $(IMAGES_DIR)/hypervisor/tools.tmp
	cd $(IMAGES_DIR)/hypervisor/tools.tmp && gzip -dc $< | cpio -idm --quiet --no-absolute-filenames
	find $(IMAGES_DIR)/hypervisor/tools.tmp -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +
	mv $(IMAGES_DIR)/hypervisor/tools.tmp $(IMAGES_DIR)/hypervisor/tools
	@touch $@

$(IMG_PXE): $(IMG_INSTALLER) iso/mkpxe.sh $(IMG_PARAMS)
	bash iso/mkpxe.sh -i $(IMAGES_DIR)/installer -o $(IMAGES_DIR)/pxe

$(IMG_ISO): $(IMG_INSTALLER) iso/mkiso.sh $(IMG_PARAMS)
	bash iso/mkiso.sh -i $(IMAGES_DIR)/installer -o $@

-include $(IMAGES_DIR)/.deps/installer.d $(IMAGES_DIR)/.deps/hypervisor.d $(IMAGES_DIR)/.deps/tools.d
