/* installer: the entry point. Flags and sub-commands, then the daemon-mode sequence
 * (spec/installer.md §3, adapted; docs/installer.md): logging, clock fix, seed, console
 * shell, TLS and the port, the install, and the end (reboot, kexec or power off). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enrol.h"
#include "flags.h"
#include "fsutil.h"
#include "installer/drives.h"
#include "installer/installer.h"
#include "installer/instflags.h"
#include "installer/net.h"
#include "installer/progress.h"
#include "installer/status.h"
#include "installer/subcmd.h"
#include "log.h"
#include "server.h"

#define WAIT_SUCCESS_S 5
#define WAIT_FAILURE_S 300
#define WAIT_SHELLS_SUCCESS_S 300
#define WAIT_SHELLS_FAILURE_S 3600

struct daemon {
	struct inst_flags *fl;
	char **argv;
	struct server *srv;
	struct inst_status st;
	struct inst_config cfg;
	bool have_cfg;
	struct inst_ctx ctx;
	struct log_config log;
	struct tls_server_config tc;
	EVP_PKEY *key;
	char ca[4096], idca[4096], cert[4096], keyf[4096], srv_cert[4096], srv_key[4096];
	bool clock_advanced;
	pid_t console_pid;
};

static struct daemon D;
static atomic_bool reboot_held;

static void on_tstp(int signo)
{
	(void)signo;
	atomic_store(&reboot_held, true);
}

static void on_cont(int signo)
{
	(void)signo;
	atomic_store(&reboot_held, false);
}

/* SIGHUP: run again from the start with the same arguments and environment (spec §3
 * step 1). Every descriptor but 0-2 closes on exec. */
static void on_sighup(void *arg, int rc)
{
	(void)arg;
	(void)rc;
	log_info("SIGHUP: restarting the installer");
	for (int fd = 3; fd < 1024; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (D.console_pid > 0)
		kill(D.console_pid, SIGKILL);
	{
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		/* by its own name, so that ps still says "installer" */
		self[n > 0 ? n : 0] = '\0';
		execv(n > 0 ? self : "/proc/self/exe", D.argv);
	}
	log_error("SIGHUP: cannot re-execute: %s", strerror(errno));
}

static int on_stop(void *arg, int signo)
{
	(void)arg;
	log_info("installer: stopped by signal %d", signo);
	return 1;
}

static void *server_thread(void *arg)
{
	int rc = server_wait(arg);

	if (D.console_pid > 0)
		kill(D.console_pid, SIGKILL);
	_exit(rc == 0 ? 0 : 1);
	return NULL;
}

/* ---- clock, seed, console ---- */

/* Sets the clock forward to the build time when it is behind (a machine without a
 * battery-backed clock would fail every certificate check). */
static int clock_fix(char *err, size_t errsz)
{
	struct timeval now;
	struct stat sb;

	if (stat(D.fl->build_timestamp_file, &sb) < 0) {
		if (D.fl->dry_run) {
			log_warn("clock: %s: %s (dry run: ignored)", D.fl->build_timestamp_file,
				 strerror(errno));
			return 0;
		}
		snprintf(err, errsz, "clock: %s: %s", D.fl->build_timestamp_file, strerror(errno));
		return -errno;
	}
	gettimeofday(&now, NULL);
	if (sb.st_mtime <= now.tv_sec)
		return 0;
	if (D.fl->dry_run) {
		log_info("clock: behind the build time: dry run, not set");
		return 0;
	}
	now = (struct timeval){.tv_sec = sb.st_mtime};
	if (settimeofday(&now, NULL) < 0) {
		snprintf(err, errsz, "clock: cannot set it to the build time: %s", strerror(errno));
		return -errno;
	}
	D.clock_advanced = true;
	log_info("clock: set forward to the build time (%lld)", (long long)sb.st_mtime);
	return 0;
}

/* The console shell (spec §3 step 3): restarted 5 s after it exits, killed with us. */
static void *console_thread(void *arg)
{
	const struct inst_flags *fl = arg;

	for (;;) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			sigset_t none;
			char *const env[] = {"TERM=linux", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
					     NULL};

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGPIPE, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			setsid();
			ioctl(0, TIOCSCTTY, 1);
			execve(fl->shell_argv.v[0], fl->shell_argv.v, env);
			_exit(127);
		}
		if (pid < 0)
			return NULL;
		D.console_pid = pid;
		waitpid(pid, &status, 0);
		D.console_pid = 0;
		sleep(5);
	}
	return NULL;
}

/* ---- TLS and the port ---- */

static void path_in(char *out, size_t sz, const char *flag, const char *dir, const char *name)
{
	if (flag != NULL && flag[0] != '\0')
		snprintf(out, sz, "%s", flag);
	else
		snprintf(out, sz, "%s/%s", dir, name);
}

/* A self-signed certificate for the installer's key, what the port presents until the
 * machine has its own (the enrolling client checks the key, not the name). */
static int self_signed(char *err, size_t errsz)
{
	X509 *x = NULL;
	char *pem = NULL;
	int rc = enrol_self_signed(D.key, "installer", 3650, &x);

	if (rc == 0)
		rc = enrol_cert_pem(x, &pem);
	if (rc == 0)
		rc = enrol_write_pem(D.srv_cert, pem);
	if (rc == 0)
		rc = enrol_write_key(D.srv_key, D.key);
	if (rc < 0)
		snprintf(err, errsz, "self-signed certificate in %s: %s", D.fl->work_directory,
			 strerror(-rc));
	enrol_pem_free(pem);
	X509_free(x);
	return rc;
}

/* The port's certificate: cert.pem + key.pem of the configuration when they may be
 * trusted (not from the network), else a self-signed one for the installer's key. */
static int tls_setup(char *err, size_t errsz)
{
	const struct inst_flags *fl = D.fl;
	const char *dir = fl->tftp_directory;

	path_in(D.ca, sizeof(D.ca), fl->ca_file, dir, "CA.pem");
	path_in(D.idca, sizeof(D.idca), fl->identity_ca_file, dir, "IdentityCA.pem");
	path_in(D.cert, sizeof(D.cert), fl->cert_file, dir, "cert.pem");
	path_in(D.keyf, sizeof(D.keyf), fl->key_file, dir, "key.pem");
	if (enrol_key_new(&D.key) < 0) {
		snprintf(err, errsz, "cannot make an EC P-256 key");
		return -ENOMEM;
	}
	if (access(D.cert, R_OK) == 0 && access(D.keyf, R_OK) == 0 &&
	    (fl->source != INST_SRC_NETWORK || fl->cert_file[0] != '\0')) {
		snprintf(D.srv_cert, sizeof(D.srv_cert), "%s", D.cert);
		snprintf(D.srv_key, sizeof(D.srv_key), "%s", D.keyf);
	} else {
		snprintf(D.srv_cert, sizeof(D.srv_cert), "%s/self-cert.pem", fl->work_directory);
		snprintf(D.srv_key, sizeof(D.srv_key), "%s/self-key.pem", fl->work_directory);
		if (self_signed(err, errsz) < 0)
			return -EIO;
	}
	D.tc = (struct tls_server_config){.cert_file = D.srv_cert,
					  .key_file = D.srv_key,
					  .ca_file = D.ca,
					  .identity_ca_file = D.idca};
	return 0;
}

static int start_server(char *err, size_t errsz)
{
	bool tls = D.tc.ca_file != NULL && access(D.ca, R_OK) == 0;
	struct server_config sc = {
	    .prog = "installer",
	    .port = D.fl->port_num,
	    .tls = tls ? &D.tc : NULL,
	    .srpc = {.idle_timeout_ms = 0},
	    .log = D.log,
	    .srpc_register = inst_status_register,
	    .on_reopen = on_sighup,
	    .on_stop = on_stop,
	    .arg = &D.st,
	};
	static struct http_routes routes;
	pthread_t t;
	int rc;

	routes = inst_status_routes(&D.st);
	sc.routes = &routes;
	rc = server_new(&sc, &D.srv, err, errsz);
	if (rc < 0)
		return rc;
	if (!tls)
		log_warn("port %d: no %s: HTTP only, no SRPC over TLS", D.fl->port_num, D.ca);
	rc = server_listen(D.srv, err, errsz);
	if (rc == 0)
		log_info("serving on port %d (status page, SRPC)", server_port(D.srv));
	/* Even without the port: the thread takes SIGHUP, SIGINT and SIGTERM. */
	if (pthread_create(&t, NULL, server_thread, D.srv) != 0 && rc == 0) {
		snprintf(err, errsz, "cannot start the server thread");
		rc = -EAGAIN;
	}
	return rc;
}

/* ---- the install ---- */

static int step(const char *name, int rc, const char *err)
{
	inst_step_end(name, rc, rc < 0 ? err : NULL);
	return rc;
}

/* The machine's certificate towards the imageserver: given by the medium or the
 * initramfs, or enrolled now (PXE). */
static int machine_cert(char *err, size_t errsz)
{
	const struct inst_config *c = &D.cfg;
	const char *host = c->info.machine.net.hostname ? c->info.machine.net.hostname : "";
	int rc;

	if (access(D.ca, R_OK) < 0) {
		snprintf(err, errsz, "no %s: the imageserver cannot be verified", D.ca);
		return -ENOENT;
	}
	if (D.fl->cert_file[0] != '\0' ||
	    (c->have_machine_cert && D.fl->source != INST_SRC_NETWORK)) {
		D.ctx.cert_file = D.cert;
		D.ctx.key_file = D.keyf;
		return 0;
	}
	if (c->enrol_token[0] == '\0') {
		snprintf(err, errsz,
			 "no machine certificate: %s has neither cert.pem and key.pem (boot "
			 "medium, initramfs) nor enrol-token (network)",
			 D.fl->tftp_directory);
		return -ENOENT;
	}
	inst_step_begin("enrol");
	log_info("enrol: waiting for Installer.GetCertificateRequest and "
		 "Installer.SetCertificates on port %d",
		 D.fl->port_num);
	{
		char ip[INET_ADDRSTRLEN] = "";

		if (c->info.machine.net.host_ip.s_addr != 0)
			inet_ntop(AF_INET, &c->info.machine.net.host_ip, ip, sizeof(ip));
		rc = inst_status_enrol_wait(&D.st, c->enrol_token, host, ip, 0);
	}
	if (rc < 0) {
		snprintf(err, errsz, "enrolment: %s", strerror(-rc));
		return step("enrol", rc, err);
	}
	D.ctx.cert_file = D.st.cert_path;
	D.ctx.key_file = D.st.key_path;
	return step("enrol", 0, NULL);
}

static int install(char *err, size_t errsz)
{
	const struct inst_flags *fl = D.fl;
	int rc;

	inst_step_begin("config");
	rc = inst_config_load(fl->tftp_directory, fl->source, &D.cfg, err, errsz);
	if (step("config", rc, err) < 0)
		return rc;
	D.have_cfg = true;
	if (fl->image_server_hostname[0] != '\0') {
		snprintf(D.cfg.imageserver_host, sizeof(D.cfg.imageserver_host), "%s",
			 fl->image_server_hostname);
		D.cfg.imageserver_port = fl->image_server_port_num;
	}
	if (fl->skip_network) {
		log_info("network: skipped (-skipNetwork)");
	} else if (fl->source == INST_SRC_NETWORK || !D.cfg.have_info) {
		log_info("network: configured by DHCP in the init");
	} else {
		inst_step_begin("network");
		rc = inst_net_configure(&D.cfg.info, fl->sysfs_directory, fl->resolv_conf,
					fl->dry_run, err, errsz);
		if (step("network", rc, err) < 0)
			return rc;
	}
	rc = machine_cert(err, errsz);
	if (rc < 0)
		return rc;
	D.ctx.cfg = &D.cfg;
	D.ctx.dry_run = fl->dry_run;
	D.ctx.sysfs = fl->sysfs_directory;
	D.ctx.proc = fl->proc_directory;
	D.ctx.tmp_root = fl->tmp_root;
	D.ctx.work = fl->work_directory;
	D.ctx.drive_selector = fl->drive_selector[0] ? fl->drive_selector : NULL;
	D.ctx.ca_file = D.ca;
	D.ctx.use_kexec = D.cfg.layout.use_kexec;
	{
		char efi[4096 + 32];

		snprintf(efi, sizeof(efi), "%s/firmware/efi", fl->sysfs_directory);
		D.ctx.efi = access(efi, F_OK) == 0;
	}
	if (fl->skip_storage) {
		log_info("storage: skipped (-skipStorage)");
		return 0;
	}
	rc = inst_validate(&D.ctx, err, errsz);
	if (rc == 0)
		rc = inst_write(&D.ctx, err, errsz);
	if (rc == 0 && D.clock_advanced) {
		char *const hw[] = {"hwclock", "-w", NULL};
		char why[512];

		/* the hardware clock keeps the time the clock fix found (spec §3.1 step 2) */
		if (inst_run_tool(fl->tmp_root, hw, why, sizeof(why)) < 0)
			log_warn("hwclock -w: %s", why);
	}
	return rc;
}

/* ---- the end ---- */

static void wait_s(int seconds, bool for_shells)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (for_shells && inst_status_nshells(&D.st) == 0)
			return;
		usleep(100000);
	}
}

static void wait_held(void)
{
	if (!atomic_load(&reboot_held))
		return;
	inst_progress_set_state("reboot held (SIGTSTP): waiting for SIGCONT");
	log_info("installer: reboot held (SIGTSTP): waiting for SIGCONT");
	while (atomic_load(&reboot_held))
		usleep(100000);
	log_info("installer: SIGCONT: going on");
}

/* Success: reboot, or kexec into the installed appliance; failure: reboot (power off
 * in test mode) after the waits of spec §3 steps 6-7. Never returns. */
static void finish(int rc, const char *msg)
{
	const struct inst_flags *fl = D.fl;

	inst_progress_finish(rc, msg);
	if (!fl->test_mode) {
		wait_s(rc < 0 ? WAIT_FAILURE_S : WAIT_SUCCESS_S, false);
		if (inst_status_nshells(&D.st) > 0) {
			log_info("installer: waiting for %d remote shell(s) to close",
				 inst_status_nshells(&D.st));
			wait_s(rc < 0 ? WAIT_SHELLS_FAILURE_S : WAIT_SHELLS_SUCCESS_S, true);
		}
	}
	wait_held();
	if (fl->dry_run) {
		log_info("installer: dry run: would %s", rc < 0 && fl->test_mode ? "power off"
							 : rc == 0 && D.ctx.use_kexec
							     ? "kexec into the appliance"
							     : "reboot");
		if (fl->test_mode)
			_exit(rc < 0 ? 1 : 0);
		for (;;)
			pause();
	}
	sync();
	if (rc == 0 && D.ctx.use_kexec) {
		char why[512];

		inst_progress_set_state("kexec into the installed appliance");
		if (inst_kexec(fl->tmp_root, D.ctx.kernel, D.ctx.initrd, D.ctx.cmdline, why,
			       sizeof(why)) < 0) {
			log_error("installer: kexec: %s; rebooting instead", why);
			if (!fl->test_mode)
				wait_s(WAIT_FAILURE_S, false);
		}
	}
	if (rc < 0 && fl->test_mode) {
		log_info("installer: test mode: powering off");
		reboot(RB_POWER_OFF);
	}
	log_info("installer: rebooting");
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static int daemon_run(struct inst_flags *fl, char **argv)
{
	struct sigaction sa = {0};
	char err[10000] = "";
	pthread_t t;
	int rc;

	D.fl = fl;
	D.argv = argv;
	inst_drives_override = fl->drives;
	D.log = (struct log_config){.to_stderr = true,
				    .ident = "installer",
				    .ring_lines = 4096,
				    .uptime = true,
				    .debug_level = fl->log_debug_level};
	log_init(&D.log); /* stderr and the ring until the server adds the log directory */
	D.log.dir = fl->log_dir;
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	inst_status_init(&D.st);
	D.st.flags = fl;
	D.st.work = fl->work_directory;
	D.st.config_source = fl->config_source;
	D.st.ca_file = D.ca;
	rc = fsutil_mkdir_p(fl->work_directory, 0700);
	if (rc < 0) {
		snprintf(err, sizeof(err), "%s: %s", fl->work_directory, strerror(-rc));
		finish(rc, err);
	}
	if (tls_setup(err, sizeof(err)) < 0) {
		log_error("TLS: %s", err);
		D.tc.ca_file = NULL;
	}
	D.st.key = D.key;
	{
		char serr[1024];

		if (start_server(serr, sizeof(serr)) < 0)
			log_error("status port: %s", serr);
		else if (server_log_error(D.srv) < 0)
			log_warn("cannot write logs to %s", fl->log_dir);
	}
	log_info("installer %s starting (configuration from the %s)", SS_VERSION,
		 fl->config_source);
	{
		double up = 0;
		FILE *f = fopen("/proc/uptime", "r");

		if (f != NULL) {
			if (fscanf(f, "%lf", &up) != 1)
				up = 0;
			fclose(f);
		}
		log_info("system uptime %.2f s", up);
	}
	/* random-seed: inst_config_load mixes it into the kernel's pool when it did not
	 * cross the network (weakness 8). */
	rc = clock_fix(err, sizeof(err));
	if (fl->console_shell && isatty(0) && pthread_create(&t, NULL, console_thread, fl) == 0)
		pthread_detach(t);
	if (rc == 0)
		rc = install(err, sizeof(err));
	finish(rc, err);
	return 1;
}

int main(int argc, char **argv)
{
	static struct inst_flags fl;
	char err[10000];
	struct flags *fs;
	int rc;

	fs = flags_new("installer", INSTFLAGS_USAGE);
	instflags_define(fs, &fl);
	flags_version(fs, "installer " SS_VERSION);
	if (flags_load_config(fs, "/etc/installer") < 0) {
		flags_free(fs);
		return 2;
	}
	flags_parse_or_exit(fs, argc, argv);
	if (instflags_finish(&fl, err, sizeof(err)) < 0) {
		fprintf(stderr, "installer: %s\n", err);
		flags_print_usage(fs, stderr);
		flags_free(fs);
		return 2;
	}
	if (flags_nargs(fs) > 0) {
		/* Flags may follow the command too: "kexec-image -yes IMAGE". */
		const char *cmd = flags_arg(fs, 0);
		char *perr = NULL;

		rc = flags_parse(fs, flags_nargs(fs), flags_args(fs), &perr);
		if (rc < 0) {
			if (rc != FLAGS_EHELP)
				fprintf(stderr, "installer: %s\n", perr ? perr : "bad flags");
			flags_print_usage(fs, stderr);
			free(perr);
			flags_free(fs);
			return rc == FLAGS_EHELP ? 0 : 2;
		}
		rc = inst_subcommand(&fl, cmd, flags_nargs(fs), flags_args(fs));
	} else
		rc = daemon_run(&fl, argv);
	flags_free(fs);
	return rc;
}
