/* subcmd: the installer's sub-commands (decode-base64, generate-random, list-drives,
 * kexec-image) and the kexec that the daemon's end shares with kexec-image. */
#ifndef SS_INSTALLER_SUBCMD_H
#define SS_INSTALLER_SUBCMD_H

#include <stddef.h>

#include "installer/instflags.h"

/* Runs cmd with its nargs operands args; returns the exit status (0, 1, 2 for
 * usage). */
int inst_subcommand(struct inst_flags *fl, const char *cmd, int nargs, char *const *args);

/* Runs a tool: chrooted in root when root holds it (in /usr/sbin, /usr/bin, /sbin or
 * /bin), else from PATH; empty environment but PATH. 0 when it exited 0, else -errno
 * or -EIO with err. */
int inst_run_tool(const char *root, char *const argv[], char *err, size_t errsz);

/* kexec -l kernel --initrd=initrd --append=cmdline (when kernel is not ""), then
 * kexec -e, with the kexec of root or PATH. Returns only on failure: -errno with err. */
int inst_kexec(const char *root, const char *kernel, const char *initrd, const char *cmdline,
	       char *err, size_t errsz);

/* list-drives (listdrives.c): the candidate drives, boot drive first, one a line:
 * "name dev bytes where". Exit status. */
int inst_list_drives(const struct inst_flags *fl);

#endif
