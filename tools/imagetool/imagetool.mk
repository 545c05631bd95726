# imagetool: the administrator's tool for the image server (over SRPC), and
# `make publish-images IMAGESERVER=host:port`, which adds the output of `make images`
# as images smallstack/{installer,hypervisor,pxe}/<leaf> (tools/imagetool/publish-images.sh,
# docs/imagetool.md).
PROGRAMS += imagetool
imagetool_SRCS := tools/imagetool/main.c tools/imagetool/client.c tools/imagetool/verify.c tools/imagetool/fetch.c \
	tools/imagetool/cmd_add.c tools/imagetool/cmd_get.c tools/imagetool/cmd_info.c
INSTALL_BIN += imagetool

# IMAGETOOL_FLAGS: e.g. -certDirectory=~/.ssl -CAfile=/etc/ssl/CA.pem
# IMAGE_STREAM_PREFIX: the streams' parent directory (default smallstack)
# IMAGE_LEAF: the leaf name (default: the UTC time of publishing, 2006-01-02:15:04:05)
IMAGESERVER ?=
IMAGETOOL_FLAGS ?=
IMAGE_STREAM_PREFIX ?= smallstack
IMAGE_LEAF ?=
ifneq ($(filter publish-images,$(MAKECMDGOALS)),)
  ifeq ($(IMAGESERVER),)
    $(error usage: make publish-images IMAGESERVER=host:port [IMAGETOOL_FLAGS=...])
  endif
endif
.PHONY: publish-images
publish-images: images $(O)/bin/imagetool
	IMAGE_LEAF="$(IMAGE_LEAF)" bash tools/imagetool/publish-images.sh $(O)/bin/imagetool \
		"$(IMAGESERVER)" $(IMAGES_DIR) $(IMAGE_STREAM_PREFIX) $(IMAGETOOL_FLAGS)
