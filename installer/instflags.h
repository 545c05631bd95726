/* instflags: the installer's flags (spec/installer.md §2, adapted; docs/installer.md),
 * read from /etc/installer/flags.default and flags.extra, then the command line. */
#ifndef SS_INSTALLER_INSTFLAGS_H
#define SS_INSTALLER_INSTFLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "flags.h"
#include "installer/installer.h"

#define INSTFLAGS_USAGE                                                                            \
	"Usage: installer [flags...] [command [args...]]\n"                                        \
	"Without a command: install this machine (daemon mode, docs/installer.md).\n"              \
	"Commands:\n"                                                                              \
	"  decode-base64          decode base64 from stdin to stdout\n"                            \
	"  generate-random        endless non-cryptographic random bytes to stdout\n"              \
	"  list-drives            the drives an install would use, boot drive first\n"             \
	"  kexec-image -yes IMAGE fetch the installer image IMAGE and kexec into it with\n"        \
	"                         this machine's configuration (reinstall; stops everything)\n"    \
	"Flags:\n"

struct inst_flags {
	int port_num;
	const char *tftp_directory;
	const char *config_directory; /* kexec-image: this machine's configuration */
	const char *config_source;    /* "initramfs", "medium" or "network" */
	enum inst_source source;
	const char *image_server_hostname;
	int image_server_port_num;
	const char *tmp_root;
	const char *work_directory;
	const char *proc_directory, *sysfs_directory;
	const char *shell_command;
	struct flags_list shell_argv; /* shell_command split at commas */
	bool console_shell;
	bool skip_network, skip_storage, dry_run, test_mode, yes;
	const char *drive_selector;
	const char *drives; /* explicit drives (tests): "loop3,loop4" */
	const char *cert_file, *key_file, *ca_file, *identity_ca_file;
	const char *log_dir;
	int log_debug_level;
	const char *build_timestamp_file;
	const char *resolv_conf;
};

/* Defines every flag on fs, bound to f. */
void instflags_define(struct flags *fs, struct inst_flags *f);

/* After parsing: resolves -configSource and -shellCommand. 0 or -EINVAL with err. */
int instflags_finish(struct inst_flags *f, char *err, size_t errsz);

#endif
