/* subcmd: the installer's sub-commands and its tool runner (subcmd.h). */
#include "installer/subcmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fsutil.h"
#include "installer/installer.h"
#include "log.h"

#define KEXEC_CMDLINE "console=tty0 console=ttyS0,115200n8"

/* ---- decode-base64, generate-random ---- */

static int decode_base64(void)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char in[4096], out[4096];
	int n, outl, rc = 0;
	ssize_t got;

	if (ctx == NULL)
		return 1;
	EVP_DecodeInit(ctx);
	while ((got = read(0, in, sizeof(in))) > 0) {
		if (EVP_DecodeUpdate(ctx, out, &outl, in, (int)got) < 0) {
			fprintf(stderr, "installer: decode-base64: bad input\n");
			rc = 1;
			goto out;
		}
		if (fsutil_write_all(1, out, (size_t)outl) < 0) {
			rc = 1;
			goto out;
		}
	}
	n = EVP_DecodeFinal(ctx, out, &outl);
	if (got < 0 || n < 0) {
		fprintf(stderr, "installer: decode-base64: %s\n",
			got < 0 ? strerror(errno) : "bad input");
		rc = 1;
	} else if (fsutil_write_all(1, out, (size_t)outl) < 0) {
		rc = 1;
	}
out:
	EVP_ENCODE_CTX_free(ctx);
	return rc;
}

/* Endless non-cryptographic bytes (xorshift64*) in 1 MiB chunks, until the reader
 * goes away. */
static int generate_random(void)
{
	static uint64_t buf[(1 << 20) / 8];
	struct timespec ts;
	uint64_t x;

	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_REALTIME, &ts);
	x = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() ^ 1;
	for (;;) {
		for (size_t i = 0; i < sizeof(buf) / 8; i++) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			buf[i] = x * 0x2545F4914F6CDD1DULL;
		}
		if (fsutil_write_all(1, buf, sizeof(buf)) < 0)
			return 0;
	}
}

/* ---- running tools ---- */

static const char *const tool_dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};

int inst_run_tool(const char *root, char *const argv[], char *err, size_t errsz)
{
	char path[4096], inside[512] = "";
	int status;
	pid_t pid;

	for (size_t i = 0; root != NULL && root[0] && i < 4 && !inside[0]; i++) {
		snprintf(path, sizeof(path), "%s%s/%s", root, tool_dirs[i], argv[0]);
		if (access(path, X_OK) == 0)
			snprintf(inside, sizeof(inside), "%s/%s", tool_dirs[i], argv[0]);
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsz, "%s: fork: %s", argv[0], strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		char *const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (inside[0]) {
			if (chroot(root) < 0 || chdir("/") < 0)
				_exit(126);
			execve(inside, argv, env);
		} else {
			execvpe(argv[0], argv, env);
		}
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(err, errsz, "%s: wait: %s", argv[0], strerror(errno));
		return -errno;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(err, errsz, "%s: not found%s%s", argv[0], root ? " in " : "",
			 root ? root : "");
	else if (WIFEXITED(status))
		snprintf(err, errsz, "%s failed (exit status %d)", argv[0], WEXITSTATUS(status));
	else
		snprintf(err, errsz, "%s killed by signal %d", argv[0], WTERMSIG(status));
	return -EIO;
}

/* When kexec runs chrooted in root, the kernel and initrd must be inside it: copies
 * src to <root>/tmp/<name>; *path is the name kexec sees. */
static int into_root(const char *root, const char *src, const char *name, char *path, size_t pathsz)
{
	char dst[4096];
	bool chrooted = false;

	for (size_t i = 0; root != NULL && root[0] && i < 4; i++) {
		snprintf(dst, sizeof(dst), "%s%s/kexec", root, tool_dirs[i]);
		chrooted |= access(dst, X_OK) == 0;
	}
	if (!chrooted) {
		snprintf(path, pathsz, "%s", src);
		return 0;
	}
	snprintf(dst, sizeof(dst), "%s/tmp", root);
	fsutil_mkdir_p(dst, 01777);
	snprintf(dst, sizeof(dst), "%s/tmp/%s", root, name);
	snprintf(path, pathsz, "/tmp/%s", name);
	return fsutil_copy_file(src, dst);
}

int inst_kexec(const char *root, const char *kernel, const char *initrd, const char *cmdline,
	       char *err, size_t errsz)
{
	char k[4096], i[4096], ia[4200], ca[1100];
	int rc;

	if (kernel != NULL && kernel[0] != '\0') {
		if (into_root(root, kernel, "kexec-vmlinuz", k, sizeof(k)) < 0 ||
		    into_root(root, initrd, "kexec-initrd.img", i, sizeof(i)) < 0) {
			snprintf(err, errsz, "cannot copy the kernel and initrd into %s", root);
			return -EIO;
		}
		snprintf(ia, sizeof(ia), "--initrd=%s", i);
		snprintf(ca, sizeof(ca), "--append=%s", cmdline ? cmdline : KEXEC_CMDLINE);
		char *const load[] = {"kexec", "-l", k, ia, ca, NULL};

		log_info("kexec -l %s %s %s", k, ia, ca);
		rc = inst_run_tool(root, load, err, errsz);
		if (rc < 0)
			return rc;
	}
	char *const exec[] = {"kexec", "-e", NULL};

	log_info("kexec -e");
	rc = inst_run_tool(root, exec, err, errsz);
	if (rc == 0) {
		snprintf(err, errsz, "kexec -e returned");
		rc = -EIO;
	}
	return rc;
}

/* ---- kexec-image ---- */

/* One newc entry (mode with its type bits) and its data, padded to 4 bytes. */
static int cpio_entry(FILE *f, const char *name, unsigned mode, const void *data, size_t len)
{
	static unsigned ino = 1000;
	size_t nlen = strlen(name) + 1;
	static const char zeros[4];

	if (fprintf(f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino++, mode,
		    0u, 0u, 1u, 0u, len, 0u, 0u, 0u, 0u, nlen, 0u) < 0)
		return -EIO;
	fwrite(name, 1, nlen, f);
	fwrite(zeros, 1, (4 - (110 + nlen) % 4) % 4, f);
	if (len > 0)
		fwrite(data, 1, len, f);
	fwrite(zeros, 1, (4 - len % 4) % 4, f);
	return ferror(f) ? -EIO : 0;
}

static int cpio_file(FILE *f, const char *name, const char *src, unsigned perm, char *err,
		     size_t errsz)
{
	char *data = NULL;
	size_t len = 0;
	int rc = fsutil_read_file(src, 64u << 20, &data, &len);

	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", src, strerror(-rc));
		return rc;
	}
	rc = cpio_entry(f, name, 0100000 | perm, data, len);
	explicit_bzero(data, len);
	free(data);
	return rc;
}

/* Which files of the configuration directory go along: not the flags (the
 * installer's own), not the certificates (taken from /etc/ssl below), and nothing
 * named like a key, token or seed. */
static bool travels(const char *name)
{
	static const char *const not [] = {"CA.pem", "IdentityCA.pem", "cert.pem"};

	for (size_t i = 0; i < sizeof(not ) / sizeof(not [0]); i++)
		if (strcmp(name, not [i]) == 0)
			return false;
	return strncmp(name, "flags.", 6) != 0 && !strcasestr(name, "key") &&
	       !strcasestr(name, "token") && !strcasestr(name, "seed");
}

/* Appends to f a newc archive holding tftpdata/: the machine's configuration (every
 * regular file of cfgdir) and its certificates. */
static int tftpdata_cpio(FILE *f, const struct inst_flags *fl, char *err, size_t errsz)
{
	const char *ssl[][3] = {
	    {fl->ca_file[0] ? fl->ca_file : "/etc/ssl/CA.pem", "tftpdata/CA.pem", "0644"},
	    {fl->identity_ca_file[0] ? fl->identity_ca_file : "/etc/ssl/IdentityCA.pem",
	     "tftpdata/IdentityCA.pem", "0644"},
	    {fl->cert_file[0] ? fl->cert_file : "/etc/ssl/hypervisor/cert.pem", "tftpdata/cert.pem",
	     "0644"},
	    {fl->key_file[0] ? fl->key_file : "/etc/ssl/hypervisor/key.pem", "tftpdata/key.pem",
	     "0600"},
	};
	char src[4096 + 256], name[300];
	struct dirent *de;
	DIR *d;
	int rc = cpio_entry(f, "tftpdata", 040755, NULL, 0);

	d = opendir(fl->config_directory);
	if (d == NULL) {
		snprintf(err, errsz, "%s: %s", fl->config_directory, strerror(errno));
		return -errno;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat sb;

		snprintf(src, sizeof(src), "%s/%s", fl->config_directory, de->d_name);
		if (de->d_name[0] == '.' || !travels(de->d_name) || stat(src, &sb) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		snprintf(name, sizeof(name), "tftpdata/%s", de->d_name);
		rc = cpio_file(f, name, src, 0644, err, errsz);
	}
	closedir(d);
	for (size_t i = 0; rc == 0 && i < sizeof(ssl) / sizeof(ssl[0]); i++) {
		if (i == 1 && access(ssl[i][0], R_OK) < 0)
			continue; /* IdentityCA.pem is optional */
		rc = cpio_file(f, ssl[i][1], ssl[i][0], (unsigned)strtoul(ssl[i][2], NULL, 8), err,
			       errsz);
	}
	if (rc == 0)
		rc = cpio_entry(f, "TRAILER!!!", 0, NULL, 0);
	return rc;
}

/* initrd.img of the image, padded to 4 bytes, then the tftpdata archive: the kernel
 * unpacks both into the same initramfs. */
static int build_initrd(const struct inst_flags *fl, const char *src, const char *dst, char *err,
			size_t errsz)
{
	static const char zeros[4];
	struct stat sb;
	FILE *f;
	int rc = fsutil_copy_file(src, dst);

	if (rc < 0 || stat(dst, &sb) < 0) {
		snprintf(err, errsz, "copying %s: %s", src, strerror(rc < 0 ? -rc : errno));
		return rc < 0 ? rc : -errno;
	}
	chmod(dst, 0600);
	f = fopen(dst, "ab");
	if (f == NULL) {
		snprintf(err, errsz, "%s: %s", dst, strerror(errno));
		return -errno;
	}
	fwrite(zeros, 1, (4 - (size_t)sb.st_size % 4) % 4, f);
	rc = tftpdata_cpio(f, fl, err, errsz);
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errsz, "%s: %s", dst, strerror(errno));
		rc = -EIO;
	}
	return rc;
}

static int kexec_image(struct inst_flags *fl, const char *image)
{
	struct inst_config cfg = {0};
	struct inst_ctx ctx = {0};
	char err[10000] = "", dir[4096], dest[4200], kernel[4400], initrd[4400], out[4400];
	char *text = NULL;
	size_t len = 0;

	if (!fl->yes) {
		fprintf(stderr, "installer: kexec-image replaces the running system at once: "
				"every VM on this machine dies and the disks are installed anew. "
				"Stop the VMs, then run again with -yes to confirm.\n");
		return 2;
	}
	log_init(&(struct log_config){.to_stderr = true, .uptime = true});
	snprintf(cfg.image_name, sizeof(cfg.image_name), "%s", image);
	snprintf(cfg.dir, sizeof(cfg.dir), "%s", fl->config_directory);
	if (fl->image_server_hostname[0]) {
		snprintf(cfg.imageserver_host, sizeof(cfg.imageserver_host), "%s",
			 fl->image_server_hostname);
		cfg.imageserver_port = fl->image_server_port_num;
	} else {
		char path[4200];
		char *colon;

		snprintf(path, sizeof(path), "%s/imageserver", fl->config_directory);
		if (fsutil_read_file(path, 1024, &text, &len) < 0) {
			fprintf(stderr, "installer: no -imageServerHostname and no %s\n", path);
			return 1;
		}
		snprintf(cfg.imageserver_host, sizeof(cfg.imageserver_host), "%.*s",
			 (int)strcspn(text, " \t\r\n"), text);
		free(text);
		colon = strrchr(cfg.imageserver_host, ':');
		cfg.imageserver_port = 6971;
		if (colon != NULL && cfg.imageserver_host[0] != '[') {
			*colon = '\0';
			cfg.imageserver_port = atoi(colon + 1);
		}
	}
	snprintf(dir, sizeof(dir), "%s/kexec-image", fl->work_directory);
	snprintf(dest, sizeof(dest), "%s/image", dir);
	char *const rm[] = {"rm", "-rf", dir, NULL};
	inst_run_tool(NULL, rm, err, sizeof(err));
	if (fsutil_mkdir_p(dir, 0700) < 0) {
		fprintf(stderr, "installer: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	ctx.cfg = &cfg;
	ctx.dry_run = fl->dry_run;
	ctx.work = dir;
	ctx.cert_file = fl->cert_file[0] ? fl->cert_file : "/etc/ssl/hypervisor/cert.pem";
	ctx.key_file = fl->key_file[0] ? fl->key_file : "/etc/ssl/hypervisor/key.pem";
	ctx.ca_file = fl->ca_file[0] ? fl->ca_file : "/etc/ssl/CA.pem";
	log_info("kexec-image: fetching %s from %s:%d", image, cfg.imageserver_host,
		 cfg.imageserver_port);
	if (inst_fetch_image(&ctx, dest, err, sizeof(err)) < 0) {
		fprintf(stderr, "installer: kexec-image: %s\n", err);
		return 1;
	}
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dest);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", dest);
	snprintf(out, sizeof(out), "%s/initrd-tftpdata.img", dir);
	if (build_initrd(fl, initrd, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "installer: kexec-image: %s\n", err);
		return 1;
	}
	log_info("kexec-image: %s with this machine's configuration in %s", kernel, out);
	if (fl->dry_run) {
		log_info("kexec-image: dry run: would kexec -l %s --initrd=%s --append=\"%s\"; "
			 "kexec -e",
			 kernel, out, KEXEC_CMDLINE);
		return 0;
	}
	inst_kexec(NULL, kernel, out, KEXEC_CMDLINE, err, sizeof(err));
	fprintf(stderr, "installer: kexec-image: %s\n", err);
	return 1;
}

/* ---- dispatch ---- */

int inst_subcommand(struct inst_flags *fl, const char *cmd, int nargs, char *const *args)
{
	int want = strcmp(cmd, "kexec-image") == 0 ? 1 : 0;

	if (strcmp(cmd, "decode-base64") && strcmp(cmd, "generate-random") &&
	    strcmp(cmd, "list-drives") && strcmp(cmd, "kexec-image")) {
		fprintf(stderr, "installer: unknown command: %s\n", cmd);
		return 2;
	}
	if (nargs != want) {
		fprintf(stderr, "installer: %s takes %s\n", cmd,
			want == 1 ? "one argument: IMAGE" : "no arguments");
		return 2;
	}
	if (strcmp(cmd, "decode-base64") == 0)
		return decode_base64();
	if (strcmp(cmd, "generate-random") == 0)
		return generate_random();
	if (strcmp(cmd, "list-drives") == 0)
		return inst_list_drives(fl);
	return kexec_image(fl, args[0]);
}
