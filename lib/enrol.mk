# Enrolment of a newborn machine (docs/enrolment.md): keys, CSRs, the token's Mac,
# signing and checking (lib/enrol), and enrol-testc, the signer's side for the tests.
LIB_SRCS += lib/enrol.c

PROGRAMS += enrol-testc
enrol-testc_SRCS := tests/helpers/enrol_testc.c

UNIT_TESTS += test_enrol
