/* Unit tests for installer/config.c: a good configuration directory, and each file's
 * refusals with the sentence that names the file and the field (config.json's types
 * and machine checks, imagename, imageserver, storage-layout.json, enrol-token, the
 * certificates and where they came from), the layout defaults, the random-seed policy. */
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

#include "installer/config.h"

/* Named like tests/lib/tap.sh's SS_ID ("ss<digits>") so leftovers.sh notices it. */
static char dir[64];

static const char good_info[] =
    "{\"Machine\": {\"Hostname\": \"m1.example.net\", \"HostIpAddress\": \"10.9.0.5\","
    " \"HostMacAddress\": \"52:54:00:12:34:56\", \"IPMI\": {}},"
    " \"Subnets\": [{\"Id\": \"lan\", \"IpGateway\": \"10.9.0.1\", \"IpMask\": \"255.255.255.0\","
    " \"DomainNameServers\": [\"10.9.0.53\"]}]}";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void drop(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
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
	snprintf(dir, sizeof(dir), "/tmp/ss%d_instcfgXXXXXX", (int)getpid() % 100000);
	if (!mkdtemp(dir))
		return -1;
	put("config.json", good_info);
	put("imagename", "  smallstack/hypervisor \n");
	put("imageserver", "images.example.net:7000\n");
	put("CA.pem", "ca\n");
	put("cert.pem", "cert\n");
	put("key.pem", "key\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Loads dir from src: the error text on failure, NULL on success (cfg filled). */
static const char *load(enum inst_source src, struct inst_config *cfg)
{
	static char err[1024];

	memset(err, 0, sizeof(err));
	if (inst_config_load(dir, src, cfg, err, sizeof(err)) == 0)
		return NULL;
	assert_true(err[0] != '\0');
	return err;
}

/* The load fails and its text contains want (and the directory). */
static void refused(enum inst_source src, const char *want)
{
	struct inst_config cfg;
	const char *err = load(src, &cfg);

	if (!err)
		fail_msg("loaded, expected a refusal containing \"%s\"", want);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	if (!strstr(err, dir) && !strstr(want, "bad port") && !strstr(want, "host name"))
		fail_msg("error \"%s\" does not name the directory", err);
}

static void test_good(void **state)
{
	struct inst_config cfg;
	const char *err;

	(void)state;
	err = load(INST_SRC_MEDIUM, &cfg);
	if (err)
		fail_msg("%s", err);
	assert_true(cfg.have_info);
	assert_string_equal(cfg.info.machine.net.hostname, "m1.example.net");
	assert_int_equal(cfg.info.subnets.n, 1);
	assert_string_equal(cfg.image_name, "smallstack/hypervisor");
	assert_string_equal(cfg.imageserver_host, "images.example.net");
	assert_int_equal(cfg.imageserver_port, 7000);
	assert_true(cfg.have_machine_cert);
	assert_true(cfg.have_ca);
	assert_string_equal(cfg.enrol_token, "");
	assert_int_equal(cfg.source, INST_SRC_MEDIUM);
	assert_string_equal(cfg.dir, dir);
	/* the layout's defaults: hyper-control's `/` (spec/hyper-control.md §4.3), without
	 * /home and /var/log, which the appliance does not have */
	assert_int_equal(cfg.layout.n, 1);
	assert_string_equal(cfg.layout.entries[0].mount_point, "/");
	assert_int_equal(cfg.layout.entries[0].min_free_bytes, 2ull << 30);
	assert_string_equal(cfg.layout.entries[0].fs_type, "ext4");
	assert_int_equal(cfg.layout.entries[0].reserved_blocks_pct, -1);
	assert_string_equal(cfg.layout.extra_basename, "/data/");
	assert_true(cfg.layout.encrypt);
	assert_false(cfg.layout.use_kexec);
	inst_config_free(&cfg);
	inst_config_free(&cfg); /* twice is fine */
}

static void test_config_json(void **state)
{
	(void)state;
	drop("config.json");
	refused(INST_SRC_MEDIUM, "config.json: missing");
	put("config.json", "{\"Machine\": {\"Hostname\": \"x\",}");
	refused(INST_SRC_MEDIUM, "config.json: bad JSON at line 1");
	put("config.json", "[1]");
	refused(INST_SRC_MEDIUM, "config.json: expected a JSON object");
	put("config.json", "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": 5}}");
	refused(INST_SRC_MEDIUM, "HostIpAddress");
	put("config.json",
	    "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": \"10.9.0.300\"}}");
	refused(INST_SRC_MEDIUM, "HostIpAddress");
	put("config.json",
	    "{\"Machine\": {\"Hostname\": \"m1\"}, \"Subnets\": [{\"VlanId\": -1}]}");
	refused(INST_SRC_MEDIUM, "VlanId");
	put("config.json", "{\"Machine\": {\"Hostname\": 7}}");
	refused(INST_SRC_MEDIUM, "Hostname");
	put("config.json", "{\"Machine\": {\"Hostname\": \"a\"}, \"Machine\": {}}");
	refused(INST_SRC_MEDIUM, "duplicate");
	put("config.json", "{\"Error\": \"unknown machine\", \"Machine\": {\"Hostname\": \"m1\"}}");
	refused(INST_SRC_MEDIUM, "the Fleet Manager's Error: unknown machine");
}

static void test_machine_checks(void **state)
{
	static const char sub[] = "\"Subnets\": [{\"Id\": \"lan\", \"IpGateway\": \"10.9.0.1\", "
				  "\"IpMask\": \"255.255.255.0\", \"DomainNameServers\": null}]";
	char buf[1024];

	(void)state;
	snprintf(buf, sizeof(buf), "{\"Machine\": {\"HostIpAddress\": \"10.9.0.5\"}, %s}", sub);
	put("config.json", buf);
	refused(INST_SRC_MEDIUM, "Machine.Hostname: missing");
	snprintf(buf, sizeof(buf), "{\"Machine\": {\"Hostname\": \"a b\"}, %s}", sub);
	put("config.json", buf);
	refused(INST_SRC_MEDIUM, "is not a host name");
	put("config.json",
	    "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": \"10.9.0.5\","
	    " \"HostMacAddress\": \"52:54:00:12:34:56\"}, \"Subnets\": [{\"Id\": \"v\","
	    " \"IpGateway\": \"10.9.0.1\", \"IpMask\": \"255.255.255.0\","
	    " \"DomainNameServers\": null, \"VlanId\": 3}]}");
	refused(INST_SRC_MEDIUM, "no non-VLAN subnets known");
	snprintf(buf, sizeof(buf),
		 "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": \"10.9.0.5\"}, %s}", sub);
	put("config.json", buf);
	refused(INST_SRC_MEDIUM, "no IP and MAC addresses known for host m1");
	snprintf(buf, sizeof(buf),
		 "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": \"10.8.0.5\", "
		 "\"HostMacAddress\": \"52:54:00:12:34:56\"}, %s}",
		 sub);
	put("config.json", buf);
	refused(INST_SRC_MEDIUM, "no IP and MAC addresses matching a subnet");
	/* a secondary entry that matches is enough */
	snprintf(
	    buf, sizeof(buf),
	    "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": \"10.8.0.5\", "
	    "\"HostMacAddress\": \"52:54:00:12:34:56\", \"SecondaryNetworkEntries\": "
	    "[{\"HostIpAddress\": \"10.9.0.7\", \"HostMacAddress\": \"52:54:00:12:34:57\"}]}, %s}",
	    sub);
	put("config.json", buf);
	struct inst_config cfg;
	const char *err = load(INST_SRC_MEDIUM, &cfg);
	if (err)
		fail_msg("%s", err);
	inst_config_free(&cfg);
}

static void test_imagename_imageserver(void **state)
{
	struct inst_config cfg;
	char host[64], err[256];
	int port;

	(void)state;
	put("imagename", "../etc/passwd\n");
	refused(INST_SRC_MEDIUM, "imagename: bad image name");
	put("imagename", "a//b\n");
	refused(INST_SRC_MEDIUM, "imagename: bad image name");
	put("imagename", "a/b\n");
	drop("imageserver"); /* the installer's -imageServerHostname may name it */
	assert_null(load(INST_SRC_MEDIUM, &cfg));
	assert_string_equal(cfg.imageserver_host, "");
	inst_config_free(&cfg);
	put("imagename", "\n");
	assert_null(load(INST_SRC_MEDIUM, &cfg));
	assert_string_equal(cfg.image_name, "");
	inst_config_free(&cfg);

	put("imageserver", "host:0\n");
	refused(INST_SRC_MEDIUM, "imageserver: bad port \"0\"");
	put("imageserver", "host:70000");
	refused(INST_SRC_MEDIUM, "bad port");
	put("imageserver", "host:x1");
	refused(INST_SRC_MEDIUM, "bad port");
	put("imageserver", "host:");
	refused(INST_SRC_MEDIUM, "bad port");
	put("imageserver", "a b:1");
	refused(INST_SRC_MEDIUM, "bad host name");

	assert_int_equal(
	    inst_imageserver_parse(" imgs \n", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "imgs");
	assert_int_equal(port, 6971);
	assert_int_equal(
	    inst_imageserver_parse("10.0.0.1:6972", host, sizeof(host), &port, err, sizeof(err)),
	    0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 6972);
	assert_int_equal(
	    inst_imageserver_parse("[fd00::1]:80", host, sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "fd00::1");
	assert_int_equal(port, 80);
	assert_int_equal(
	    inst_imageserver_parse("fd00::1:80", host, sizeof(host), &port, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(
	    inst_imageserver_parse("[fd00::1", host, sizeof(host), &port, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(
	    inst_imageserver_parse("h:+5", host, sizeof(host), &port, err, sizeof(err)), -EINVAL);

	/* fleetmanager: the same syntax, default port 6977, optional. */
	put("imageserver", "imgs\n");
	put("fleetmanager", "fm:x1\n");
	refused(INST_SRC_MEDIUM, "fleetmanager: bad port");
	put("fleetmanager", " fm.example \n");
	assert_null(load(INST_SRC_MEDIUM, &cfg));
	assert_string_equal(cfg.fleetmanager_host, "fm.example");
	assert_int_equal(cfg.fleetmanager_port, 6977);
	inst_config_free(&cfg);
	put("fleetmanager", "10.0.0.2:7000\n");
	assert_null(load(INST_SRC_MEDIUM, &cfg));
	assert_string_equal(cfg.fleetmanager_host, "10.0.0.2");
	assert_int_equal(cfg.fleetmanager_port, 7000);
	inst_config_free(&cfg);
	drop("fleetmanager");
	assert_null(load(INST_SRC_MEDIUM, &cfg));
	assert_string_equal(cfg.fleetmanager_host, "");
	inst_config_free(&cfg);
}

static void test_layout(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"Size\": 1}]}",
	     "BootDriveLayout[0].Size: unknown field"},
	    {"{\"Encrypted\": false}", "Encrypted: unknown field"},
	    {"{\"Encrypt\": \"yes\"}", "Encrypt: expected true or false"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"MinimumBytes\": -1}]}",
	     "BootDriveLayout[0].MinimumBytes: must not be negative"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"MinimumFreeBytes\": "
	     "99999999999999999999}]}",
	     "bad JSON"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"MinimumBytes\": 1.5}]}",
	     "BootDriveLayout[0].MinimumBytes: expected an integer"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"FileSystemType\": \"xfs\"}]}",
	     "BootDriveLayout[0].FileSystemType: must be ext4 or vfat"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"home\"}]}",
	     "BootDriveLayout[0].MountPoint: must be an absolute path"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/a/../b\"}]}",
	     "BootDriveLayout[0].MountPoint: must be a plain path"},
	    {"{\"BootDriveLayout\": [{\"FileSystemType\": \"ext4\"}]}",
	     "BootDriveLayout[0].MountPoint: missing"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\"}, {\"MountPoint\": \"/\"}]}",
	     "BootDriveLayout[1].MountPoint: used twice"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"FileSystemLabel\": "
	     "\"seventeen-chars-x\"}]}",
	     "BootDriveLayout[0].FileSystemLabel: longer than 16 characters (ext4)"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/boot\", \"FileSystemType\": \"vfat\", "
	     "\"FileSystemLabel\": \"TWELVECHARSX\"}]}",
	     "longer than 11 characters (vfat)"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"ReservedBlocksPercentage\": 90}]}",
	     "ReservedBlocksPercentage: too large"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"RootUserId\": 4294967295}]}",
	     "RootUserId: too large"},
	    {"{\"BootDriveLayout\": {\"MountPoint\": \"/\"}}", "BootDriveLayout: expected a list"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"BytesPerInode\": 512}]}",
	     "BytesPerInode: below 1024"},
	    {"{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"BytesPerInode\": 134217728}]}",
	     "BytesPerInode: too large"},
	    {"{\"ExtraMountPointsBasename\": \"data\"}",
	     "ExtraMountPointsBasename: must be an absolute path"},
	    {"[]", "expected a JSON object"},
	    {"{\"Encrypt\": true, \"Encrypt\": false}", "duplicate"},
	};
	struct inst_config cfg;
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("storage-layout.json", bad[i].text);
		refused(INST_SRC_MEDIUM, bad[i].want);
	}
	put("storage-layout.json",
	    "{\"BootDriveLayout\": [{\"MountPoint\": \"/\", \"MinimumFreeBytes\": 1073741824},"
	    " {\"mountpoint\": \"/boot\", \"FileSystemType\": \"vfat\", \"FileSystemLabel\": "
	    "\"BOOT\","
	    "  \"MinimumBytes\": 134217728, \"ReservedBlocksPercentage\": 0, \"RootUserId\": 5,"
	    "  \"BytesPerInode\": 0, \"RootGroupId\": 6}],"
	    " \"UseKexec\": true}");
	err = load(INST_SRC_MEDIUM, &cfg);
	if (err)
		fail_msg("%s", err);
	assert_int_equal(cfg.layout.n, 2);
	assert_int_equal(cfg.layout.entries[0].min_free_bytes, 1ull << 30);
	assert_int_equal(cfg.layout.entries[0].reserved_blocks_pct, -1);
	assert_string_equal(cfg.layout.entries[1].mount_point, "/boot");
	assert_string_equal(cfg.layout.entries[1].fs_type, "vfat");
	assert_string_equal(cfg.layout.entries[1].label, "BOOT");
	assert_int_equal(cfg.layout.entries[1].min_bytes, 128u << 20);
	assert_int_equal(cfg.layout.entries[1].reserved_blocks_pct, 0);
	assert_int_equal(cfg.layout.entries[1].root_uid, 5);
	assert_int_equal(cfg.layout.entries[1].root_gid, 6);
	/* a file's absent booleans are false (Go's omitempty), the basename defaults */
	assert_false(cfg.layout.encrypt);
	assert_true(cfg.layout.use_kexec);
	assert_string_equal(cfg.layout.extra_basename, "/data/");
	inst_config_free(&cfg);
}

static void test_token_and_certs(void **state)
{
	struct inst_config cfg;
	const char *err;

	(void)state;
	put("enrol-token", "abc\n");
	refused(INST_SRC_MEDIUM, "enrol-token: expected 64 hex digits");
	put("enrol-token", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n");
	refused(INST_SRC_MEDIUM, "enrol-token: expected 64 hex digits");
	put("enrol-token", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF\n");
	/* a key from the network is refused, whatever else is there */
	refused(INST_SRC_NETWORK, "key.pem came over the network: refused");
	drop("key.pem");
	refused(INST_SRC_MEDIUM, "cert.pem without key.pem");
	drop("cert.pem");
	err = load(INST_SRC_NETWORK, &cfg); /* PXE: CA and token, no key */
	if (err)
		fail_msg("%s", err);
	assert_false(cfg.have_machine_cert);
	assert_string_equal(cfg.enrol_token,
			    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF");
	inst_config_free(&cfg);
	assert_string_equal(cfg.enrol_token, "");
	drop("enrol-token");
	refused(INST_SRC_NETWORK, "neither cert.pem + key.pem nor enrol-token");
	put("key.pem", "key\n");
	refused(INST_SRC_MEDIUM, "key.pem without cert.pem");
	put("cert.pem", "cert\n");
	drop("CA.pem");
	refused(INST_SRC_INITRAMFS, "CA.pem missing");
}

static void test_random_seed(void **state)
{
	char sink[128], *got = NULL;
	bool used;
	FILE *f;
	char err[256];

	(void)state;
	snprintf(sink, sizeof(sink), "%s/sink", dir);
	put("sink", "");
	assert_int_equal(
	    inst_config_random_seed(dir, INST_SRC_MEDIUM, sink, &used, err, sizeof(err)), 0);
	assert_false(used); /* no seed */
	put("random-seed", "0123456789");
	assert_int_equal(
	    inst_config_random_seed(dir, INST_SRC_NETWORK, sink, &used, err, sizeof(err)), 0);
	assert_false(used); /* from the network: ignored */
	f = fopen(sink, "r");
	assert_non_null(f);
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
	assert_int_equal(
	    inst_config_random_seed(dir, INST_SRC_INITRAMFS, sink, &used, err, sizeof(err)), 0);
	assert_true(used);
	f = fopen(sink, "r");
	assert_non_null(f);
	got = calloc(1, 64);
	assert_int_equal(fread(got, 1, 63, f), 10);
	assert_string_equal(got, "0123456789");
	fclose(f);
	free(got);
	drop("sink");
	assert_int_equal(
	    inst_config_random_seed(dir, INST_SRC_MEDIUM, sink, &used, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, sink));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_machine_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_imagename_imageserver, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_and_certs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random_seed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
