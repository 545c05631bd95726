LIB_SRCS += lib/enrol.c

UNIT_TESTS += test_enrol
