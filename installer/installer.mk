# The installer program (installer/, docs/installer.md): inst-core's part is the entry
# point and sub-commands (main.c, subcmd.c), flags (instflags.c), steps (progress.c),
# the port (status.c), the static network (net.c) and the installer's key and
# certificates (ident.c); fetch.mk and storage.mk add the other parts.
PROGRAMS += installer
INSTALL_SBIN += installer
installer_SRCS += $(addprefix installer/, main.c subcmd.c instflags.c progress.c status.c \
	net.c ident.c)
installer_LIBS += $(call pkg_libs,libmicrohttpd)

# Until the parts of inst-fetch and inst-storage are merged, stand-ins that fail
# with a clear message keep the program linkable (each drops out once the real file
# is there).
ifeq ($(wildcard installer/config.c),)
installer_SRCS += installer/stub_fetch.c
endif
ifeq ($(wildcard installer/install.c),)
installer_SRCS += installer/stub_storage.c
else
installer_SRCS += installer/listdrives.c
endif
