# lib/image/: images and objects (spec/fleet-and-images.md §4-5): SHA-512 hashes, the
# FileSystem tree and Image JSON, object stores, scanning a directory into an image and
# unpacking one. The client of the image server is in lib/image/client.mk.
LIB_SRCS += lib/image/hash.c
LIB_SRCS += lib/image/objstore.c
UNIT_TESTS += test_image_objstore
LIB_SRCS += lib/image/fs.c lib/image/fs_tree.c lib/image/image.c
UNIT_TESTS += test_image_fs test_image_image
LIB_SRCS += lib/image/scan.c lib/image/unpack.c
UNIT_TESTS += test_image_scan
