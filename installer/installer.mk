# The installer program (installer/, docs/installer.md): inst-core's part is the entry
# point and sub-commands (main.c, subcmd.c), flags (instflags.c), steps (progress.c),
# the port (status.c) and the static network (net.c); fetch.mk and storage.mk add the
# other parts.
PROGRAMS += installer
INSTALL_SBIN += installer
installer_SRCS += $(addprefix installer/, main.c subcmd.c listdrives.c instflags.c progress.c \
	status.c net.c)
# The port without libmicrohttpd (lib/http_mini; see the Makefile's _MINI_SRCS), and
# the plain build linked statically: the installer image carries no shared libraries
# (docs/images.md, "Installer image": about 2.5 MB less than the dynamic closure).
# Sanitizer builds stay dynamic.
installer_MINI_SRCS := lib/listener.c lib/http.c lib/server.c
ifeq ($(ASAN)$(FUZZ),)
installer_LIBS += -static
endif


# A client of Installer.Shell (tests/integration/installer_daemon.sh).
PROGRAMS += inst-shell-testc
inst-shell-testc_SRCS := tests/helpers/inst_shell_testc.c

UNIT_TESTS += test_inst_net
test_inst_net_SRCS := installer/net.c
