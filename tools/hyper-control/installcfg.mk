# The unit test of hyper-control's configuration files (installcfg.c): every file's
# bytes, the spec's refusals, and installer/config.c accepting the generated directory.
UNIT_TESTS += test_hc_installcfg
test_hc_installcfg_SRCS := tools/hyper-control/installcfg.c installer/config.c
