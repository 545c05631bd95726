# hyper-control's fleet commands (cmd_fleet.c; the sources are in hyper-control.mk's
# wildcard): the unit test of change-tags' merge rules (fleettags.c).
UNIT_TESTS += test_hc_fleettags
test_hc_fleettags_SRCS := tools/hyper-control/fleettags.c
