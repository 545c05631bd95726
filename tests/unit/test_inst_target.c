/* Unit tests for installer/target.c: the data partition tree staged from a
 * configuration directory and a fake sysfs; lib/hypervisor/subnets.json read back the
 * way the hypervisor daemon loads it at start (sjson_load_file + hvapi_subnets_from_json,
 * daemon/hypervisor/vmm/vmm.c) equals the configuration's subnets; refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "installer/config.h"
#include "json.h"

static char top[64], cfgdir[128], sysdir[128], datadir[128];

static const char info_json[] =
    "{\"Machine\": {\"Hostname\": \"hv7.rack1.example.net\", \"HostIpAddress\": \"10.9.0.5\","
    " \"HostMacAddress\": \"52:54:00:12:34:56\", \"IPMI\": {}},"
    " \"Subnets\": [{\"Id\": \"lan\", \"IpGateway\": \"10.9.0.1\", \"IpMask\": \"255.255.255.0\","
    "  \"DomainName\": \"example.net\", \"DomainNameServers\": [\"10.9.0.53\"],"
    "  \"Manage\": true, \"FirstDynamicIP\": \"10.9.0.100\", \"LastDynamicIP\": \"10.9.0.200\","
    "  \"AllowedGroups\": [\"ops\"], \"Tags\": {\"a\": \"b\"}},"
    " {\"Id\": \"v7\", \"IpGateway\": \"10.7.0.1\", \"IpMask\": \"255.255.255.0\","
    "  \"DomainNameServers\": null, \"VlanId\": 7, \"DisableMetadata\": true}]}";

static void put(const char *dir, const char *name, const char *text)
{
	char path[256], *slash;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(fsutil_mkdir_p(path, 0755), 0);
	*slash = '/';
	assert_int_equal(fsutil_write_atomic(path, text, strlen(text), 0644), 0);
}

static char *get(const char *rel, mode_t *mode)
{
	char path[256], *buf = NULL;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", datadir, rel);
	if (fsutil_read_file(path, 1 << 20, &buf, NULL) < 0)
		fail_msg("%s not staged", rel);
	assert_int_equal(stat(path, &sb), 0);
	if (mode)
		*mode = sb.st_mode & 07777;
	return buf;
}

static bool exists(const char *rel)
{
	char path[256];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", datadir, rel);
	return lstat(path, &sb) == 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/ss%d_insttgtXXXXXX", (int)getpid() % 100000);
	if (!mkdtemp(top))
		return -1;
	snprintf(cfgdir, sizeof(cfgdir), "%s/tftpdata", top);
	snprintf(sysdir, sizeof(sysdir), "%s/sys", top);
	snprintf(datadir, sizeof(datadir), "%s/data", top);
	put(cfgdir, "config.json", info_json);
	put(cfgdir, "imagename", "smallstack/hypervisor\n");
	put(cfgdir, "imageserver", "images.example.net\n");
	put(cfgdir, "CA.pem", "-----BEGIN CERTIFICATE-----\nca\n");
	put(cfgdir, "IdentityCA.pem", "-----BEGIN CERTIFICATE-----\nidca\n");
	put(cfgdir, "cert.pem", "-----BEGIN CERTIFICATE-----\nmachine\n");
	put(cfgdir, "key.pem", "-----BEGIN PRIVATE KEY-----\nsecret\n");
	put(cfgdir, "enrol-token",
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	put(cfgdir, "random-seed", "not really random");
	put(cfgdir, "machine-secret.pem", "-----BEGIN PRIVATE KEY-----\nother\n");
	put(sysdir, "class/net/lo/type", "772\n");
	put(sysdir, "class/net/lo/address", "00:00:00:00:00:00\n");
	put(sysdir, "class/net/ens3/type", "1\n");
	put(sysdir, "class/net/ens3/address", "52:54:00:12:34:56\n");
	put(sysdir, "class/net/ens3/carrier", "1\n");
	put(sysdir, "class/net/ens4/type", "1\n");
	put(sysdir, "class/net/ens4/address", "52:54:00:12:34:99\n");
	/* no carrier file: reading it fails while the link is down */
	return mkdir(datadir, 0755);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(top, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int stage(struct inst_config *cfg, char *err, size_t errsz)
{
	char cert[256], key[256], ca[256];
	struct inst_ctx ctx = {0};

	snprintf(cert, sizeof(cert), "%s/cert.pem", cfgdir);
	snprintf(key, sizeof(key), "%s/key.pem", cfgdir);
	snprintf(ca, sizeof(ca), "%s/CA.pem", cfgdir);
	ctx.cfg = cfg;
	ctx.sysfs = sysdir;
	ctx.cert_file = cert;
	ctx.key_file = key;
	ctx.ca_file = ca;
	return inst_target_stage(&ctx, datadir, err, errsz);
}

static void load(struct inst_config *cfg)
{
	char err[512];

	if (inst_config_load(cfgdir, INST_SRC_MEDIUM, cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static void test_tree(void **state)
{
	struct inst_config cfg;
	char err[512], *s;
	mode_t mode;

	(void)state;
	load(&cfg);
	if (stage(&cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(s = get("etc/hostname", NULL), "hv7\n");
	free(s);
	assert_string_equal(s = get("etc/network/interfaces", NULL),
			    "# /etc/network/interfaces -- created by SmallStack installer\n\n"
			    "auto lo\niface lo inet loopback\n\n"
			    "auto br0\niface br0 inet static\n"
			    "\taddress      10.9.0.5\n\tnetmask      255.255.255.0\n"
			    "\tgateway      10.9.0.1\n\thwaddress    52:54:00:12:34:56\n"
			    "\tbridge_ports ens3\n");
	free(s);
	assert_string_equal(s = get("etc/resolv.conf", NULL),
			    "; /etc/resolv.conf -- created by SmallStack installer\n\n"
			    "domain example.net\nsearch example.net\n\nnameserver 10.9.0.53\n");
	free(s);
	assert_string_equal(s = get("etc/ssl/hypervisor/key.pem", &mode),
			    "-----BEGIN PRIVATE KEY-----\nsecret\n");
	assert_int_equal(mode, 0600);
	free(s);
	assert_string_equal(s = get("etc/ssl/hypervisor/cert.pem", &mode),
			    "-----BEGIN CERTIFICATE-----\nmachine\n");
	assert_int_equal(mode, 0644);
	free(s);
	free(get("etc/ssl/CA.pem", NULL));
	free(get("etc/ssl/IdentityCA.pem", NULL));
	assert_string_equal(s = get("etc/hypervisor/flags.default", NULL),
			    "# written by the installer: where this hypervisor fetches images\n"
			    "imageServerHostname=images.example.net\nimageServerPortNum=6971\n");
	free(s);
	free(get("etc/installer/config.json", NULL));
	free(get("etc/installer/imagename", NULL));
	free(get("etc/installer/imageserver", NULL));
	assert_false(exists("etc/installer/storage-layout.json")); /* absent: defaults */
	free(get("log/installer/log", NULL));
	free(get("log/installer/tftpdata/config.json", NULL));
	free(get("log/installer/tftpdata/cert.pem", NULL));
	/* never: the key and the token outside etc/ssl/hypervisor */
	assert_false(exists("etc/installer/key.pem"));
	assert_false(exists("etc/installer/enrol-token"));
	assert_false(exists("log/installer/tftpdata/key.pem"));
	assert_false(exists("log/installer/tftpdata/enrol-token"));
	assert_false(exists("log/installer/tftpdata/random-seed"));
	assert_false(exists("log/installer/tftpdata/machine-secret.pem"));
	assert_false(exists("log/installer/tftpdata/key.pem"));
	inst_config_free(&cfg);
}

/* subnets.json as the daemon reads it at start equals the configuration's subnets. */
static void test_subnets_loadable(void **state)
{
	struct inst_config cfg;
	struct hvapi_subnets got = {0};
	struct sjson_dec d;
	char path[256], err[512], *msg = NULL;
	json_t *j = NULL, *a, *b;

	(void)state;
	load(&cfg);
	if (stage(&cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	snprintf(path, sizeof(path), "%s/lib/hypervisor/subnets.json", datadir);
	if (sjson_load_file(path, 0, &j, &msg) < 0)
		fail_msg("%s", msg);
	sjson_dec_init(&d, path);
	if (hvapi_subnets_from_json(&d, j, &got) < 0)
		fail_msg("%s", sjson_dec_error(&d));
	sjson_dec_fini(&d);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.v[0].id, "lan");
	assert_true(got.v[0].manage);
	assert_int_equal(got.v[1].vlan_id, 7);
	assert_true(got.v[1].disable_metadata);
	a = hvapi_subnets_to_json(&got);
	b = hvapi_subnets_to_json(&cfg.info.subnets);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	json_decref(j);
	for (size_t i = 0; i < got.n; i++)
		api_clear(&hvapi_subnet_type, &got.v[i]);
	free(got.v);
	inst_config_free(&cfg);
}

/* With a fleetmanager file, the flags name it too (the upgrade agent's fleet manager)
 * and it is kept for a reinstall. */
static void test_fleetmanager_flags(void **state)
{
	struct inst_config cfg;
	char err[512], *s;

	(void)state;
	put(cfgdir, "fleetmanager", "fm.example.net:6980\n");
	load(&cfg);
	if (stage(&cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(s = get("etc/hypervisor/flags.default", NULL),
			    "# written by the installer: where this hypervisor fetches images\n"
			    "imageServerHostname=images.example.net\nimageServerPortNum=6971\n"
			    "# where its upgrade agent asks for its RequiredImage\n"
			    "fleetManagerHostname=fm.example.net\nfleetManagerPortNum=6980\n");
	free(s);
	assert_string_equal(s = get("etc/installer/fleetmanager", NULL), "fm.example.net:6980\n");
	free(s);
	inst_config_free(&cfg);
}

static void test_refusals(void **state)
{
	struct inst_config cfg;
	char err[512];

	(void)state;
	/* the machine's MAC on no NIC: no default subnet */
	put(sysdir, "class/net/ens3/address", "52:54:00:00:00:01\n");
	load(&cfg);
	assert_int_equal(stage(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "network configuration of hv7.rack1.example.net: no default "
				 "subnet found");
	assert_false(exists("etc/network/interfaces"));
	inst_config_free(&cfg);
	/* no sysfs */
	put(sysdir, "class/net/ens3/address", "52:54:00:12:34:56\n");
	load(&cfg);
	snprintf(sysdir, sizeof(sysdir), "%s/nosys", top);
	assert_true(stage(&cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "nosys/class/net"));
	snprintf(sysdir, sizeof(sysdir), "%s/sys", top);
	/* without config.json nothing is staged */
	cfg.have_info = false;
	assert_int_equal(stage(&cfg, err, sizeof(err)), -EINVAL);
	inst_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_subnets_loadable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fleetmanager_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
