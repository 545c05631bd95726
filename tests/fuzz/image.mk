# Image JSON (lib/image/): an Image with its FileSystem, decoded, validated, re-encoded.
FUZZERS += image_json
fuzz_image_json_SRCS :=
fuzz_image_json_LIBS :=
