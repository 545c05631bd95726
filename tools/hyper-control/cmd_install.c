/* hyper-control make-installer-iso and reinstall (spec/hyper-control.md §4.4-4.5,
 * docs/hyper-control/install.md): a per-machine hybrid installer ISO (BIOS and UEFI, CD
 * and USB stick, built by iso/mkiso.sh) carrying the machine's configuration and its
 * certificate, and the kexec reinstall of the machine this runs on, delegated to the
 * appliance's `installer kexec-image`. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/x509.h>

#include "enrol.h"
#include "fsutil.h"
#include "hyperctl.h"
#include "image/client.h"
#include "image/unpack.h"

/* The environment variable naming the ISO builder, else it is looked for beside the
 * program (installed: ../share/smallstack/mkiso.sh; build tree: iso/mkiso.sh). */
#define HC_ISO_BUILDER_ENV "HYPER_CONTROL_ISO_BUILDER"
#define HC_DEFAULT_EPOCH 1700000000
#define HC_MAX_IPS 16
#define HC_DAY_NS (86400LL * 1000000000LL)

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *dir)
{
	if (dir && *dir)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs argv (argv[0] searched in PATH) with stdout sent to stderr, so that this
 * command's stdout holds only its result. Returns the exit status, or -1. */
static int run_to_stderr(char *const argv[], const char *epoch)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (epoch)
			setenv("SOURCE_DATE_EPOCH", epoch, 1);
		dup2(2, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "hyper-control: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The ISO builder: $HYPER_CONTROL_ISO_BUILDER, else beside the program. 0 or 1. */
static int find_iso_builder(const char *doing, char *out, size_t outsz)
{
	static const char *const rel[] = {"../share/smallstack/mkiso.sh", "../../iso/mkiso.sh",
					  "../../../iso/mkiso.sh"};
	const char *env = getenv(HC_ISO_BUILDER_ENV);
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		if (access(env, R_OK) < 0)
			return hc_fail(doing, "%s=%s: %s", HC_ISO_BUILDER_ENV, env,
				       strerror(errno));
		snprintf(out, outsz, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return hc_fail(doing, "/proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		int k = snprintf(out, outsz, "%s/%s", exe, rel[i]);
		if (k > 0 && (size_t)k < outsz && access(out, R_OK) == 0)
			return 0;
	}
	return hc_fail(doing,
		       "no ISO builder: %s unset and no mkiso.sh in %s/../share/smallstack or "
		       "the source tree (make install puts it there)",
		       HC_ISO_BUILDER_ENV, exe);
}

/* A name safe as a file name in DIR: letters, digits, '.', '-', '_'. */
static bool safe_name(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

/* Writes every file into dir: key.pem and random-seed 0600, the others 0644, or all
 * with mode when it is not 0. */
static int write_files(const char *doing, const char *dir, const struct hc_files *f, mode_t mode)
{
	for (size_t i = 0; i < f->n; i++) {
		char path[PATH_MAX];
		bool secret = strcmp(f->v[i].name, "key.pem") == 0 ||
			      strcmp(f->v[i].name, "random-seed") == 0;
		int rc;

		if (!safe_name(f->v[i].name))
			return hc_fail(doing, "configuration file name \"%s\" refused",
				       f->v[i].name);
		snprintf(path, sizeof(path), "%s/%s", dir, f->v[i].name);
		rc = fsutil_write_atomic(path, f->v[i].data, f->v[i].len,
					 mode	  ? mode
					 : secret ? 0600
						  : 0644);
		if (rc < 0)
			return hc_fail(doing, "writing %s: %s", path, strerror(-rc));
	}
	return 0;
}

static const struct hc_file *files_get(const struct hc_files *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

/* ---- the machine's key and certificate ---- */

struct machine_id {
	const char *hostname;
	char ips[HC_MAX_IPS][INET_ADDRSTRLEN];
	const char *ipp[HC_MAX_IPS];
	size_t n_ips;
};

static void add_ip(struct machine_id *m, struct in_addr a)
{
	char text[INET_ADDRSTRLEN];

	if (a.s_addr == 0 || m->n_ips >= HC_MAX_IPS || !inet_ntop(AF_INET, &a, text, sizeof(text)))
		return;
	for (size_t i = 0; i < m->n_ips; i++)
		if (strcmp(m->ips[i], text) == 0)
			return;
	snprintf(m->ips[m->n_ips], sizeof(m->ips[0]), "%s", text);
	m->ipp[m->n_ips] = m->ips[m->n_ips];
	m->n_ips++;
}

static void machine_id_init(struct machine_id *m, const struct fmapi_get_machine_info_response *mi,
			    const char *hostname)
{
	memset(m, 0, sizeof(*m));
	m->hostname = mi->machine.net.hostname && *mi->machine.net.hostname
			  ? mi->machine.net.hostname
			  : hostname;
	add_ip(m, mi->machine.net.host_ip);
	for (size_t i = 0; i < mi->machine.secondary.n; i++)
		add_ip(m, mi->machine.secondary.v[i].host_ip);
}

/* A new key, and its certificate signed with -signerCertFile/-signerKeyFile for the
 * machine's hostname and addresses (lib/enrol: what the PXE enrolment signs). */
static int make_identity(struct hc *h, const char *doing, const struct machine_id *m,
			 char **cert_pem, char **key_pem)
{
	struct enrol_sign_params p = {.hostname = m->hostname, .ips = m->ipp, .n_ips = m->n_ips};
	int64_t days = (h->o.cert_lifetime_ns + HC_DAY_NS - 1) / HC_DAY_NS;
	EVP_PKEY *key = NULL, *ca_key = NULL;
	X509 *ca = NULL, *cert = NULL;
	X509_REQ *csr = NULL;
	char err[512] = "";
	int rc = 1;

	p.days = days < 1 ? 1 : days > 36500 ? 36500 : (unsigned)days;
	if (enrol_load_cert(h->o.signer_cert_file, &ca, err, sizeof(err)) < 0 ||
	    enrol_load_key(h->o.signer_key_file, &ca_key, err, sizeof(err)) < 0) {
		hc_fail(doing, "loading the signer: %s", err);
		goto out;
	}
	if (enrol_key_new(&key) < 0) {
		hc_fail(doing, "making the machine's key: out of memory");
		goto out;
	}
	if (enrol_csr_new(key, m->hostname, m->ipp, m->n_ips, &csr, err, sizeof(err)) < 0 ||
	    enrol_sign_csr(csr, ca, ca_key, &p, &cert, err, sizeof(err)) < 0) {
		hc_fail(doing, "signing the machine's certificate: %s", err);
		goto out;
	}
	if (enrol_cert_pem(cert, cert_pem) < 0 || enrol_key_pem(key, key_pem) < 0) {
		hc_fail(doing, "encoding the machine's certificate: out of memory");
		goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	return rc;
}

/* Checks a key and certificate given in SECRETS_DIR: the pair matches, chains to the
 * CA.pem the medium carries and names the machine. */
static int check_identity(const char *doing, const char *dir, const struct machine_id *m,
			  const struct hc_file *ca_pem, const char *cert_pem, const char *key_pem)
{
	EVP_PKEY *key = NULL;
	STACK_OF(X509) *certs = NULL;
	char err[512] = "", *ca = NULL;
	int rc = 1;

	if (enrol_key_from_pem(key_pem, &key) < 0) {
		hc_fail(doing, "%s/key.pem: no private key", dir);
		goto out;
	}
	if (enrol_certs_from_pem(cert_pem, &certs) < 0) {
		hc_fail(doing, "%s/cert.pem: no certificate", dir);
		goto out;
	}
	if (!enrol_cert_key_matches(sk_X509_value(certs, 0), key)) {
		hc_fail(doing, "%s: cert.pem is not for key.pem", dir);
		goto out;
	}
	if (ca_pem && !(ca = strndup((const char *)ca_pem->data, ca_pem->len))) {
		hc_fail(doing, "out of memory");
		goto out;
	}
	if (enrol_cert_verify(sk_X509_value(certs, 0), NULL, ca ? ca : "", m->hostname, 0, err,
			      sizeof(err)) < 0) {
		hc_fail(doing, "%s/cert.pem: %s", dir, err);
		goto out;
	}
	rc = 0;
out:
	free(ca);
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	return rc;
}

/* The secrets the medium carries: cert.pem, key.pem and random-seed. Without dir they
 * are new; with dir, the files there are used (and checked), the missing ones made
 * (keep_secrets writes them there after the build, so that the same dir gives the
 * same ISO again). */
static int medium_secrets(struct hc *h, const char *doing, const char *dir,
			  const struct machine_id *m, struct hc_files *files)
{
	char *cert = NULL, *key = NULL, path[PATH_MAX];
	size_t clen = 0, klen = 0;
	int rc = 1, have_cert, have_key;

	if (dir) {
		snprintf(path, sizeof(path), "%s/cert.pem", dir);
		have_cert = fsutil_read_file(path, 1 << 20, &cert, &clen) == 0;
		snprintf(path, sizeof(path), "%s/key.pem", dir);
		have_key = fsutil_read_file(path, 1 << 20, &key, &klen) == 0;
		if (have_cert != have_key) {
			hc_fail(doing, "%s holds %s but not %s: give both or neither", dir,
				have_cert ? "cert.pem" : "key.pem",
				have_cert ? "key.pem" : "cert.pem");
			goto out;
		}
		if (have_cert &&
		    check_identity(doing, dir, m, files_get(files, "CA.pem"), cert, key))
			goto out;
	}
	if (!cert) {
		if (!*h->o.signer_cert_file || !*h->o.signer_key_file) {
			hc_fail(doing, "signerCertFile and signerKeyFile unspecified (the medium "
				       "carries the machine's certificate, signed here)");
			goto out;
		}
		if (make_identity(h, doing, m, &cert, &key))
			goto out;
		clen = strlen(cert);
		klen = strlen(key);
	}
	if (hc_files_put(files, "cert.pem", cert, clen) < 0 ||
	    hc_files_put(files, "key.pem", key, klen) < 0) {
		hc_fail(doing, "out of memory");
		goto out;
	}
	if (dir) {
		char *seed = NULL;
		size_t slen = 0;

		snprintf(path, sizeof(path), "%s/random-seed", dir);
		if (fsutil_read_file(path, 1 << 20, &seed, &slen) == 0) {
			rc = hc_files_put(files, "random-seed", seed, slen);
			explicit_bzero(seed, slen);
			free(seed);
			if (rc < 0) {
				rc = hc_fail(doing, "out of memory");
				goto out;
			}
		}
	}
	rc = 0;
out:
	enrol_pem_free(cert);
	enrol_pem_free(key);
	return rc;
}

/* Writes into dir the secrets it did not hold yet (dir 0700, files 0600), once the ISO
 * is built: a failed build leaves dir as it was. */
static int keep_secrets(const char *doing, const char *dir, const struct hc_files *files)
{
	static const char *const names[] = {"cert.pem", "key.pem", "random-seed"};
	struct hc_files keep = {0};
	char path[PATH_MAX];
	int rc;

	if (fsutil_mkdir_p(dir, 0700) < 0)
		return hc_fail(doing, "%s: %s", dir, strerror(errno));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct hc_file *f = files_get(files, names[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (f && access(path, F_OK) < 0 &&
		    hc_files_put(&keep, names[i], f->data, f->len) < 0) {
			hc_files_clear(&keep);
			return hc_fail(doing, "out of memory");
		}
	}
	rc = write_files(doing, dir, &keep, 0600);
	hc_files_clear(&keep);
	return rc;
}

/* ---- the installer image ---- */

/* SOURCE_DATE_EPOCH of the ISO: the newest mtime in the image (mkrootfs gives every
 * file of an image its build's SOURCE_DATE_EPOCH), so that the same image gives the
 * same dates. */
static int newest_mtime(const char *path, const struct image_inode *ino, bool first, void *arg)
{
	int64_t *max = arg;

	(void)path;
	(void)first;
	if (ino->kind == IMAGE_INODE_REGULAR && ino->mtime_sec > *max)
		*max = ino->mtime_sec;
	return 0;
}

struct fetch_progress {
	uint64_t last;
};

static void fetch_cb(uint64_t done, uint64_t total, void *arg)
{
	struct fetch_progress *p = arg;

	if (done == total || done - p->last >= (16u << 20)) {
		hc_progress("fetched %" PRIu64 " of %" PRIu64 " bytes", done, total);
		p->last = done;
	}
}

/* The latest image of -installerImageStream, every object's SHA-512 checked, unpacked
 * into dest; *epoch gets its newest mtime. 0 or 1. */
static int fetch_installer(struct hc *h, const char *doing, const char *work, const char *dest,
			   int64_t *epoch)
{
	const char *stream = h->o.installer_image_stream;
	struct image_object *objs = NULL;
	struct image_hash *hashes = NULL;
	struct fetch_progress fp = {0};
	struct objstore *st = NULL;
	struct image img = {0};
	struct srpc_client *is;
	char err[1024] = "", store[PATH_MAX], *name = NULL;
	size_t n = 0;
	int rc;

	if (hc_image_server(h, doing, &is))
		return 1;
	rc = imgclient_find_latest(is, stream, false, &name);
	if (rc < 0) {
		rc = hc_fail(doing, "FindLatestImage %s: %s", stream, srpc_client_error(is));
		goto out;
	}
	if (!*name) {
		rc = hc_fail(doing, "no image found in %s", stream);
		goto out;
	}
	hc_progress("fetching image %s", name);
	rc = imgclient_get_image(is, name, false, 0, &img);
	if (rc < 0 || !img.has_fs) {
		rc = hc_fail(doing, "GetImage %s: %s", name,
			     rc == -ENOENT || rc == 0 ? "not found" : srpc_client_error(is));
		goto out;
	}
	rc = 1;
	if (image_fs_objects(&img.fs, &objs, &n) < 0 ||
	    !(hashes = calloc(n ? n : 1, sizeof(*hashes)))) {
		hc_fail(doing, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		hashes[i] = objs[i].hash;
	hc_progress("%zu objects, %" PRIu64 " bytes", n, img.fs.total_data_bytes);
	snprintf(store, sizeof(store), "%s/objects", work);
	if (objstore_open(store, &st, err, sizeof(err)) < 0) {
		hc_fail(doing, "%s", err);
		goto out;
	}
	objstore_set_durable(st, false);
	if (imgclient_get_objects(is, hashes, n, st, fetch_cb, &fp, err, sizeof(err)) < 0) {
		hc_fail(doing, "fetching %s: %s", name, *err ? err : srpc_client_error(is));
		goto out;
	}
	if (image_unpack(&img.fs, st, dest,
			 IMAGE_UNPACK_LINK | IMAGE_UNPACK_TRUSTED | IMAGE_UNPACK_NOSYNC, NULL, NULL,
			 err, sizeof(err)) < 0) {
		hc_fail(doing, "unpacking %s: %s", name, err);
		goto out;
	}
	*epoch = 0;
	image_fs_walk(&img.fs, newest_mtime, epoch);
	if (*epoch <= 0)
		*epoch = HC_DEFAULT_EPOCH;
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/%s", dest, i ? "initrd.img" : "vmlinuz");
		if (access(path, R_OK) < 0) {
			hc_fail(doing, "%s is not an installer image: no /%s", name,
				i ? "initrd.img" : "vmlinuz");
			goto out;
		}
	}
	rc = 0;
out:
	objstore_close(st);
	free(objs);
	free(hashes);
	image_free(&img);
	free(name);
	return rc;
}

/* ---- make-installer-iso ---- */

/* <dir>/<name>.iso and, when the IPMI address is known, <dir>/<ipmi-ip>.iso -> it. */
static int iso_names(const char *doing, const char *dir, const char *host,
		     const struct fmapi_get_machine_info_response *mi, char *iso, size_t isosz,
		     char *link, size_t linksz)
{
	const char *ipmi = mi->machine.ipmi.hostname;
	const char *name = ipmi && *ipmi ? ipmi
			   : mi->machine.net.hostname && *mi->machine.net.hostname
			       ? mi->machine.net.hostname
			       : host;
	char ip[INET_ADDRSTRLEN] = "";

	if (!safe_name(name))
		return hc_fail(doing, "\"%s\" cannot name a file", name);
	snprintf(iso, isosz, "%s/%s.iso", dir, name);
	link[0] = '\0';
	if (mi->machine.ipmi.host_ip.s_addr != 0 &&
	    inet_ntop(AF_INET, &mi->machine.ipmi.host_ip, ip, sizeof(ip)) && strcmp(ip, name) != 0)
		snprintf(link, linksz, "%s/%s.iso", dir, ip);
	(void)linksz;
	return 0;
}

static int cmd_make_installer_iso(struct hc *h, const struct hc_cmd *c, int argc,
				  char *const argv[])
{
	const char *host = argv[0], *dir = argv[1], *secrets = argc > 2 ? argv[2] : NULL;
	struct fmapi_get_machine_info_response mi;
	struct hc_files files = {0};
	struct machine_id m;
	char builder[PATH_MAX], work[PATH_MAX], image[PATH_MAX + 16], cfg[PATH_MAX + 16];
	char iso[PATH_MAX], link[PATH_MAX], epoch_s[32], built[PATH_MAX + 16],
	    staged[PATH_MAX + 32];
	int64_t epoch = 0;
	const char *tmp = getenv("TMPDIR");
	int rc = 1, st;

	memset(&mi, 0, sizeof(mi));
	work[0] = '\0';
	if (!*h->o.installer_image_stream)
		return hc_fail(c->doing, "installerImageStream unspecified");
	if (find_iso_builder(c->doing, builder, sizeof(builder)))
		return 1;
	if (hc_machine_info(h, c->doing, host, &mi))
		return 1;
	if (iso_names(c->doing, dir, host, &mi, iso, sizeof(iso), link, sizeof(link)))
		goto out;
	if (hc_install_config(h, c->doing, &mi, HC_CFG_RANDOM_SEED | HC_CFG_CA_FILES, &files))
		goto out;
	machine_id_init(&m, &mi, host);
	if (medium_secrets(h, c->doing, secrets, &m, &files))
		goto out;
	if (!files_get(&files, "CA.pem")) {
		hc_fail(c->doing, "no CA.pem for the medium (-CAfile): the installer could not "
				  "verify the imageserver");
		goto out;
	}
	snprintf(work, sizeof(work), "%s/hyper-control-iso.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(work)) {
		hc_fail(c->doing, "%s: %s", work, strerror(errno));
		work[0] = '\0';
		goto out;
	}
	snprintf(image, sizeof(image), "%s/image", work);
	snprintf(cfg, sizeof(cfg), "%s/tftpdata", work);
	if (fetch_installer(h, c->doing, work, image, &epoch))
		goto out;
	if (mkdir(cfg, 0700) < 0) {
		hc_fail(c->doing, "%s: %s", cfg, strerror(errno));
		goto out;
	}
	if (write_files(c->doing, cfg, &files, 0))
		goto out;
	if (h->o.dry_run) {
		hc_progress("dry run: would build %s from %s with", iso, image);
		for (size_t i = 0; i < files.n; i++)
			hc_progress("dry run:   /tftpdata/%s (%zu bytes)", files.v[i].name,
				    files.v[i].len);
		rc = 0;
		goto out;
	}
	if (fsutil_mkdir_p(dir, 0755) < 0) {
		hc_fail(c->doing, "%s: %s", dir, strerror(errno));
		goto out;
	}
	snprintf(epoch_s, sizeof(epoch_s), "%" PRId64, epoch);
	hc_progress("building ISO %s (SOURCE_DATE_EPOCH %s)", iso, epoch_s);
	/* Built in the scratch directory (0700) and made 0600 before it gets its name in
	 * DIR: the medium holds the machine's key. */
	snprintf(built, sizeof(built), "%s/medium.iso", work);
	snprintf(staged, sizeof(staged), "%s.tmp-%ld", iso, (long)getpid());
	char *const mk[] = {"bash", builder, "-i", image, "-c", cfg, "-o", built, NULL};
	st = run_to_stderr(mk, epoch_s);
	if (st != 0) {
		hc_fail(c->doing, "%s failed (exit status %d)", builder, st);
		goto out;
	}
	unlink(staged);
	if (chmod(built, 0600) < 0 || (st = fsutil_link_or_copy(built, staged)) < 0 ||
	    rename(staged, iso) < 0) {
		hc_fail(c->doing, "writing %s: %s", iso, strerror(st < 0 ? -st : errno));
		unlink(staged);
		goto out;
	}
	if (link[0]) {
		const char *target = strrchr(iso, '/') + 1;
		if ((unlink(link) < 0 && errno != ENOENT) || symlink(target, link) < 0) {
			hc_fail(c->doing, "symlink %s: %s", link, strerror(errno));
			goto out;
		}
	}
	if (secrets && keep_secrets(c->doing, secrets, &files))
		goto out;
	printf("%s\n", iso);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	remove_tree(work);
	hc_files_clear(&files);
	fmapi_get_machine_info_response_clear(&mi);
	return rc;
}

/* ---- reinstall ---- */

static const char *const config_dirs[] = {"/etc/installer", "/data/etc/installer"};

/* The program named prog in PATH, then in the tool directories the installer runs
 * its tools from: 0 with its path, or -ENOENT. */
static int find_program(const char *prog, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *d;
	int rc = -ENOENT;

	if (strchr(prog, '/')) {
		snprintf(out, outsz, "%s", prog);
		return access(out, X_OK) == 0 ? 0 : -ENOENT;
	}
	if (asprintf(&copy, "%s:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "") < 0)
		return -ENOMEM;
	for (d = strtok_r(copy, ":", &save); d && rc; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, outsz, "%s/%s", d, prog);
		if (access(out, X_OK) == 0)
			rc = 0;
	}
	free(copy);
	return rc;
}

/* "a" and "a.example.com" name the same machine. */
static bool same_host(const char *a, const char *b)
{
	size_t la = strcspn(a, "."), lb = strcspn(b, ".");

	if (strcmp(a, b) == 0)
		return true;
	return la == lb && strncmp(a, b, la) == 0 && (a[la] == '\0' || b[lb] == '\0');
}

/* The machine's configuration as installed: the first of config_dirs holding a
 * config.json, its Machine.Hostname in *cfg_host (new string). */
static int find_config(const char *doing, char *dir, size_t dirsz, char **cfg_host)
{
	struct fmapi_get_machine_info_response mi;

	memset(&mi, 0, sizeof(mi));
	for (size_t i = 0; i < sizeof(config_dirs) / sizeof(config_dirs[0]); i++) {
		char path[PATH_MAX], *err = NULL;
		int rc;

		snprintf(path, sizeof(path), "%s/config.json", config_dirs[i]);
		rc = api_load_file(&fmapi_get_machine_info_response_type, path, &mi, &err);
		if (rc == -ENOENT) {
			free(err);
			continue;
		}
		if (rc < 0) {
			hc_fail(doing, "%s", err ? err : path);
			free(err);
			return 1;
		}
		*cfg_host = strdup(mi.machine.net.hostname ? mi.machine.net.hostname : "");
		fmapi_get_machine_info_response_clear(&mi);
		snprintf(dir, dirsz, "%s", config_dirs[i]);
		return *cfg_host ? 0 : hc_fail(doing, "out of memory");
	}
	return hc_fail(doing,
		       "no config.json in %s or %s: this is no installed appliance (use "
		       "make-installer-iso or netboot-host for other machines)",
		       config_dirs[0], config_dirs[1]);
}

static void first_line(const char *dir, const char *name, char *out, size_t outsz)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (fsutil_read_file(path, 4096, &text, &len) < 0) {
		snprintf(out, outsz, "(none)");
		return;
	}
	snprintf(out, outsz, "%.*s", (int)strcspn(text, "\r\n"), text);
	free(text);
}

static int cmd_reinstall(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	const char *stream = h->o.installer_image_stream;
	char self[256] = "", dir[PATH_MAX], installer[PATH_MAX], kexec[PATH_MAX];
	char image[1100], server[1100], flag[PATH_MAX + 32];
	char *cfg_host = NULL;
	bool sudo = geteuid() != 0;
	int rc = 1, st;

	(void)argc;
	(void)argv;
	if (!h->o.yes && !h->o.dry_run) {
		fprintf(stderr,
			"hyper-control: reinstall replaces the system running on this machine at "
			"once: every VM on it dies, and its disks are installed anew from the "
			"installer image.\nStop or move the VMs first, then run again with -yes "
			"to confirm (-dryRun shows what it would do).\n");
		return hc_fail(c->doing, "not confirmed (-yes)");
	}
	if (!*stream)
		return hc_fail(c->doing, "installerImageStream unspecified");
	if (find_program(h->o.kexec_command, kexec, sizeof(kexec)) < 0)
		return hc_fail(c->doing, "%s not found in PATH", h->o.kexec_command);
	if (find_program("installer", installer, sizeof(installer)) < 0)
		return hc_fail(c->doing, "installer not found in PATH (the appliance image "
					 "has it: /usr/sbin/installer)");
	if (gethostname(self, sizeof(self) - 1) < 0)
		return hc_fail(c->doing, "gethostname: %s", strerror(errno));
	if (find_config(c->doing, dir, sizeof(dir), &cfg_host))
		return 1;
	if (!same_host(cfg_host, self)) {
		hc_fail(c->doing, "%s/config.json is for \"%s\", this machine is \"%s\"", dir,
			cfg_host, self);
		goto out;
	}
	first_line(dir, "imagename", image, sizeof(image));
	first_line(dir, "imageserver", server, sizeof(server));
	snprintf(flag, sizeof(flag), "-configDirectory=%s", dir);
	char *args[8];
	size_t na = 0;
	if (sudo)
		args[na++] = "sudo";
	args[na++] = installer;
	args[na++] = flag;
	args[na++] = "kexec-image";
	args[na++] = "-yes";
	args[na++] = (char *)stream;
	args[na] = NULL;
	printf("reinstall %s:\n", self);
	printf("  configuration: %s (hostname %s, image %s, imageserver %s)\n", dir, cfg_host,
	       image, server);
	printf("  installer image: the latest of %s, fetched from %s over mTLS with this "
	       "machine's certificate, every object's hash checked\n",
	       stream, server);
	printf("  runs: %s%s %s kexec-image -yes %s\n", sudo ? "sudo " : "", installer, flag,
	       stream);
	printf("  then: kexec (%s) into the installer, with this configuration and "
	       "/etc/ssl's certificates in its initramfs: every VM dies, the disks are "
	       "installed anew, the machine boots %s\n",
	       kexec, image);
	fflush(stdout);
	if (h->o.dry_run) {
		printf("dry run: nothing done\n");
		rc = 0;
		goto out;
	}
	hc_progress("running kexec in 5 seconds... (control-C stops it)");
	sleep(5);
	st = run_to_stderr(args, NULL);
	hc_fail(c->doing, "%s kexec-image %s (exit status %d)", installer,
		st == 0 ? "returned" : "failed", st);
out:
	free(cfg_host);
	return rc;
}

const struct hc_cmd hc_install_cmds[] = {
    {"make-installer-iso", "hostname dirname [secretsdir]", 2, 3, cmd_make_installer_iso,
     "making installer ISO", "Make a bootable installer ISO (BIOS+UEFI, CD+USB) for a machine"},
    {"reinstall", "", 0, 0, cmd_reinstall, "reinstalling",
     "Reinstall this machine by kexec into the installer (needs -yes)"},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
