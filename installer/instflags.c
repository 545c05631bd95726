/* instflags: the installer's flags and their checks. */
#include "installer/instflags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void instflags_define(struct flags *fs, struct inst_flags *f)
{
	flags_int(fs, "portNum", &f->port_num, 6978, "Port of the status page and SRPC");
	flags_string(fs, "tftpDirectory", &f->tftp_directory, "/tftpdata",
		     "Directory holding the configuration files");
	flags_string(fs, "configDirectory", &f->config_directory, "/etc/installer",
		     "kexec-image: this machine's configuration (the install's copy)");
	flags_string(fs, "configSource", &f->config_source, "network",
		     "Where the configuration came from: initramfs, medium or network "
		     "(random-seed and private keys are used only from the first two)");
	flags_string(fs, "imageServerHostname", &f->image_server_hostname, "",
		     "Image server host (overrides the imageserver file)");
	flags_int(fs, "imageServerPortNum", &f->image_server_port_num, 6971,
		  "Image server port (with -imageServerHostname)");
	flags_string(fs, "tmpRoot", &f->tmp_root, "/tmproot",
		     "Where the tools tree of the appliance image is unpacked");
	flags_string(fs, "workDirectory", &f->work_directory, "/run/installer",
		     "Scratch directory in RAM (keys, image, staging trees)");
	flags_string(fs, "procDirectory", &f->proc_directory, "/proc", "Where proc is mounted");
	flags_string(fs, "sysfsDirectory", &f->sysfs_directory, "/sys", "Where sysfs is mounted");
	flags_string(fs, "shellCommand", &f->shell_command, "/bin/busybox,sh,-i",
		     "Console and remote shell command, comma-separated arguments");
	flags_bool(fs, "consoleShell", &f->console_shell, true,
		   "Run -shellCommand on the console while installing");
	flags_bool(fs, "skipNetwork", &f->skip_network, false, "Do not configure the network");
	flags_bool(fs, "skipStorage", &f->skip_storage, false, "Do not validate or write storage");
	flags_bool(fs, "dryRun", &f->dry_run, geteuid() != 0,
		   "Change nothing outside the work directory; never reboot");
	flags_bool(fs, "testMode", &f->test_mode, false,
		   "Tests: power off at once after a failure, reboot at once after success");
	flags_bool(fs, "yes", &f->yes, false, "Confirm kexec-image (it stops this machine)");
	flags_string(fs, "driveSelector", &f->drive_selector, "",
		     "Program choosing the drives: arguments the candidates, output the "
		     "chosen ones, boot drive first");
	flags_string(fs, "drives", &f->drives, "",
		     "Drives to use instead of the sysfs scan, comma-separated, boot drive "
		     "first (tests: loop devices)");
	flags_string(fs, "certFile", &f->cert_file, "",
		     "Machine certificate (default: <tftpDirectory>/cert.pem)");
	flags_string(fs, "keyFile", &f->key_file, "",
		     "Machine key (default: <tftpDirectory>/key.pem)");
	flags_string(fs, "CAfile", &f->ca_file, "",
		     "CA of the fleet (default: <tftpDirectory>/CA.pem)");
	flags_string(fs, "identityCAfile", &f->identity_ca_file, "",
		     "Identity CA (default: <tftpDirectory>/IdentityCA.pem)");
	flags_string(fs, "logDir", &f->log_dir, "/var/log/installer",
		     "Log directory (\"latest\" is the current log)");
	flags_int(fs, "logDebugLevel", &f->log_debug_level, -1, "Debug log level (-1: none)");
	flags_string(fs, "buildTimestampFile", &f->build_timestamp_file, "/build-timestamp",
		     "File whose time the clock is set forward to");
	flags_string(fs, "resolvConf", &f->resolv_conf, "/etc/resolv.conf",
		     "Where the name servers of the chosen subnet are written");
}

/* Splits s at commas into list (new strings). */
static int split_commas(const char *s, struct flags_list *list)
{
	char *copy = strdup(s), *save = NULL, *tok;
	char **v = NULL;
	size_t n = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char **nv = realloc(v, (n + 2) * sizeof(*v));

		if (nv == NULL)
			break;
		v = nv;
		v[n++] = strdup(tok);
		v[n] = NULL;
	}
	free(copy);
	list->n = n;
	list->v = v;
	return n > 0 ? 0 : -EINVAL;
}

int instflags_finish(struct inst_flags *f, char *err, size_t errsz)
{
	static const char *const names[] = {"initramfs", "medium", "network"};
	size_t i;

	for (i = 0; i < 3; i++)
		if (strcmp(f->config_source, names[i]) == 0)
			break;
	if (i == 3) {
		snprintf(err, errsz, "-configSource=%s: must be initramfs, medium or network",
			 f->config_source);
		return -EINVAL;
	}
	f->source = (enum inst_source)i;
	if (f->port_num < 0 || f->port_num > 65535) {
		snprintf(err, errsz, "-portNum=%d: not a port", f->port_num);
		return -EINVAL;
	}
	if (split_commas(f->shell_command, &f->shell_argv) < 0) {
		snprintf(err, errsz, "-shellCommand is empty");
		return -EINVAL;
	}
	return 0;
}
