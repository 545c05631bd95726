# The installer's inputs, image and data-partition tree (inst-fetch): config.c reads the
# configuration directory, fetch.c the appliance image from the imageserver, target.c
# stages the data partition. Their unit tests and the configuration loader's fuzz
# harness; inst-fetch-testc drives the three parts without the rest of the installer
# (tests/integration/installer_fetch.sh).
INST_FETCH_SRCS := installer/config.c installer/fetch.c installer/target.c
installer_SRCS += $(INST_FETCH_SRCS)

UNIT_TESTS += test_inst_config
test_inst_config_SRCS := installer/config.c

FUZZERS += inst_config
fuzz_inst_config_SRCS := installer/config.c
fuzz_inst_config_LIBS :=

PROGRAMS += inst-fetch-testc
inst-fetch-testc_SRCS := tests/helpers/inst_fetch_testc.c $(INST_FETCH_SRCS)

UNIT_TESTS += test_inst_target
test_inst_target_SRCS := installer/config.c installer/target.c
