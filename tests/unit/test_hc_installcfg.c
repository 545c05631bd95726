/* Unit tests for tools/hyper-control/installcfg.c: the refusals of spec/hyper-control.md
 * §4.3 with their sentences, resolv.conf and storage-layout.json byte for byte, every
 * generated file, and that installer/config.c loads the generated directory as a
 * network configuration (the enrolment path: CA.pem and an enrol-token, no key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer/config.h"
#include "tools/hyper-control/installcfg.h"

/* installcfg.c's calls into client.c, never reached by these tests (no image name is
 * checked against a server here; hc_install_config is tested by
 * tests/integration/hc_netboot.sh against a real imageserver). */
int hc_image_server(struct hc *h, const char *doing, struct srpc_client **out)
{
	(void)h;
	(void)doing;
	*out = NULL;
	fail_msg("hc_image_server called");
	return 1;
}

int hc_fail(const char *doing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "error %s: ", doing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Named like tests/lib/tap.sh's SS_ID ("ss<digits>") so leftovers.sh notices it. */
static char dir[64];

static const char info_json[] =
    "{\"Machine\": {\"Hostname\": \"m1.example.net\", \"HostIpAddress\": \"10.9.0.5\","
    " \"HostMacAddress\": \"52:54:00:12:34:56\", \"IPMI\": {},"
    " \"Tags\": {\"RequiredImage\": \"smallstack/hypervisor/1\"},"
    " \"SecondaryNetworkEntries\": [{\"HostIpAddress\": \"10.8.0.7\","
    " \"HostMacAddress\": \"52:54:00:12:34:57\"}]},"
    " \"Subnets\": [{\"Id\": \"lan\", \"IpGateway\": \"10.9.0.1\", \"IpMask\": \"255.255.255.0\","
    " \"DomainName\": \"example.net\", \"DomainNameServers\": [\"10.9.0.53\", \"10.9.0.54\"]},"
    " {\"Id\": \"v7\", \"IpGateway\": \"10.8.0.1\", \"IpMask\": \"255.255.255.0\", \"VlanId\": 7,"
    " \"DomainNameServers\": [\"10.8.0.53\"]}]}";

static void info_load(struct fmapi_get_machine_info_response *mi)
{
	json_t *j = json_loads(info_json, 0, NULL);
	char *err = NULL;

	assert_non_null(j);
	if (api_decode_msg(&fmapi_get_machine_info_response_type, j, "info", mi, &err) < 0)
		fail_msg("%s", err);
	json_decref(j);
}

static void info_clear(struct fmapi_get_machine_info_response *mi)
{
	api_clear(&fmapi_get_machine_info_response_type, mi);
}

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
	snprintf(dir, sizeof(dir), "/tmp/ss%d_hccfgXXXXXX", (int)getpid() % 100000);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void opts_default(struct hc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->image_server_hostname = "images.example.net";
	o->image_server_port = 6971;
	o->encrypt = true;
}

static const struct hc_file *find(const struct hc_files *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].name, name))
			return &f->v[i];
	return NULL;
}

static void assert_file(const struct hc_files *f, const char *name, const char *want)
{
	const struct hc_file *e = find(f, name);

	if (!e)
		fail_msg("%s not generated", name);
	if (e->len != strlen(want) || memcmp(e->data, want, e->len) != 0)
		fail_msg("%s: got \"%.*s\", want \"%s\"", name, (int)e->len, (const char *)e->data,
			 want);
}

static void test_files_put(void **state)
{
	struct hc_files f = {0};

	(void)state;
	assert_int_equal(hc_files_put(&f, "a", "one", 3), 0);
	assert_int_equal(hc_files_put(&f, "b", "", 0), 0);
	assert_int_equal(hc_files_put(&f, "a", "two!", 4), 0);
	assert_int_equal(f.n, 2);
	assert_file(&f, "a", "two!");
	assert_file(&f, "b", "");
	hc_files_clear(&f);
	assert_int_equal(f.n, 0);
	assert_null(f.v);
	hc_files_clear(&f);
}

static void test_entries(void **state)
{
	struct fmapi_get_machine_info_response mi;
	char err[256] = "";

	(void)state;
	info_load(&mi);
	assert_string_equal(hc_cfg_required_image(&mi), "smallstack/hypervisor/1");
	assert_int_equal(hc_cfg_check_entries(&mi, err, sizeof(err)), 0);

	/* Only the primary entry lies in the non-VLAN subnet: without its MAC, the
	 * secondary one is in the VLAN subnet only. */
	memset(mi.machine.net.host_mac, 0, 6);
	assert_int_equal(hc_cfg_check_entries(&mi, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no IP and MAC addresses matching a subnet");

	mi.machine.secondary.v[0].host_ip.s_addr = 0;
	assert_int_equal(hc_cfg_check_entries(&mi, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no IP and MAC addresses known for host");

	mi.subnets.v[0].vlan_id = 3;
	assert_int_equal(hc_cfg_check_entries(&mi, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no non-VLAN subnets known");
	info_clear(&mi);
}

static void test_resolv(void **state)
{
	struct fmapi_get_machine_info_response mi;
	char err[256] = "", *s;

	(void)state;
	info_load(&mi);
	assert_int_equal(hc_cfg_resolv_conf(&mi, &s, err, sizeof(err)), 0);
	assert_string_equal(s, "domain example.net\nsearch example.net\n\n"
			       "nameserver 10.9.0.53\nnameserver 10.9.0.54\n");
	free(s);

	/* The primary entry's IP in no subnet: the secondary's (VLAN) subnet is the
	 * primary subnet, without a domain. */
	inet_pton(AF_INET, "192.0.2.1", &mi.machine.net.host_ip);
	assert_int_equal(hc_cfg_resolv_conf(&mi, &s, err, sizeof(err)), 0);
	assert_string_equal(s, "nameserver 10.8.0.53\n");
	free(s);

	mi.machine.secondary.v[0].host_ip.s_addr = 0;
	assert_int_equal(hc_cfg_resolv_conf(&mi, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no primary subnet found");
	info_clear(&mi);
}

static const char layout_head[] = "{\n"
				  "    \"BootDriveLayout\": [\n"
				  "        {\n"
				  "            \"MountPoint\": \"/\",\n"
				  "            \"MinimumFreeBytes\": 2147483648\n"
				  "        },\n"
				  "        {\n"
				  "            \"MountPoint\": \"/home\",\n"
				  "            \"MinimumFreeBytes\": 1073741824\n"
				  "        },\n"
				  "        {\n"
				  "            \"MountPoint\": \"/var/log\",\n"
				  "            \"MinimumFreeBytes\": 536870912\n"
				  "        }\n"
				  "    ],\n"
				  "    \"ExtraMountPointsBasename\": \"/data/\"";

static void assert_layout(const struct hc_opts *o, const char *tail)
{
	char want[2048], err[256], *s;
	size_t len;

	snprintf(want, sizeof(want), "%s%s", layout_head, tail);
	assert_int_equal(hc_cfg_storage_layout(o, &s, &len, err, sizeof(err)), 0);
	assert_int_equal(len, strlen(s));
	assert_string_equal(s, want);
	free(s);
}

static void test_layout(void **state)
{
	struct hc_opts o;
	char path[128], err[256] = "", *s;
	size_t len;

	(void)state;
	opts_default(&o);
	assert_layout(&o, ",\n    \"Encrypt\": true\n}\n");
	o.encrypt = false;
	assert_layout(&o, "\n}\n");
	o.use_kexec = true;
	assert_layout(&o, ",\n    \"UseKexec\": true\n}\n");

	snprintf(path, sizeof(path), "%s/layout.json", dir);
	o.storage_layout_filename = path;
	put("layout.json", "{\"BootDriveLayout\": [{\"MountPoint\": \"/\"}]}\n");
	assert_int_equal(hc_cfg_storage_layout(&o, &s, &len, err, sizeof(err)), 0);
	assert_string_equal(s, "{\"BootDriveLayout\": [{\"MountPoint\": \"/\"}]}\n");
	free(s);
	put("layout.json", "[1]");
	assert_int_equal(hc_cfg_storage_layout(&o, &s, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "layout.json: expected a JSON object"));
	put("layout.json", "{");
	assert_int_equal(hc_cfg_storage_layout(&o, &s, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad JSON"));
	unlink(path);
	assert_int_equal(hc_cfg_storage_layout(&o, &s, &len, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
}

/* Writes every generated file into dir. */
static void write_all(const struct hc_files *f)
{
	char path[256];

	for (size_t i = 0; i < f->n; i++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", dir, f->v[i].name);
		fp = fopen(path, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(f->v[i].data, 1, f->v[i].len, fp), f->v[i].len);
		fclose(fp);
	}
}

static void test_build(void **state)
{
	struct fmapi_get_machine_info_response mi;
	struct hvapi_tag nb[1];
	struct hc_files f = {0};
	struct inst_config cfg;
	struct hc_opts o;
	char ca[128], idca[128], extra[128], err[1024] = "", *cj;
	const struct hc_file *e;

	(void)state;
	info_load(&mi);
	opts_default(&o);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(idca, sizeof(idca), "%s/idca.pem", dir);
	snprintf(extra, sizeof(extra), "%s/extra.bin", dir);
	put("ca.pem", "the CA\n");
	put("idca.pem", "the identity CA\n");
	put("extra.bin", "pxelinux bytes");
	o.ca_file = ca;
	o.identity_ca_file = idca;
	o.random_seed_bytes = 512;
	nb[0].key = "pxelinux.0";
	nb[0].value = extra;
	o.netboot_files.v = nb;
	o.netboot_files.n = 1;

	assert_int_equal(hc_cfg_build(&o, &mi, "smallstack/hypervisor/1",
				      HC_CFG_RANDOM_SEED | HC_CFG_CA_FILES | HC_CFG_ENROL_TOKEN, &f,
				      err, sizeof(err)),
			 0);
	assert_int_equal(f.n, 10);
	assert_file(&f, "pxelinux.0", "pxelinux bytes");
	assert_file(&f, "imagename", "smallstack/hypervisor/1\n");
	assert_file(&f, "imageserver", "images.example.net:6971\n");
	assert_file(&f, "CA.pem", "the CA\n");
	assert_file(&f, "IdentityCA.pem", "the identity CA\n");
	cj = api_dumps(&fmapi_get_machine_info_response_type, &mi, SJSON_PRETTY);
	assert_file(&f, "config.json", cj);
	assert_int_equal(strncmp(cj, "{\n    \"Machine\": {\n        \"", 23), 0);
	assert_non_null(strstr(cj, "\n        \"Hostname\": \"m1.example.net\",\n"));
	assert_int_equal(cj[strlen(cj) - 1], '\n');
	free(cj);
	e = find(&f, "random-seed");
	assert_non_null(e);
	assert_int_equal(e->len, 512);
	e = find(&f, "enrol-token");
	assert_non_null(e);
	assert_int_equal(e->len, 65);
	assert_int_equal(strspn((const char *)e->data, "0123456789abcdef"), 64);
	assert_int_equal(e->data[64], '\n');

	/* The installer loads it as a PXE configuration: CA.pem and the token, no key. */
	write_all(&f);
	if (inst_config_load(dir, INST_SRC_NETWORK, &cfg, err, sizeof(err)) < 0)
		fail_msg("the installer refuses the generated directory: %s", err);
	assert_string_equal(cfg.image_name, "smallstack/hypervisor/1");
	assert_string_equal(cfg.imageserver_host, "images.example.net");
	assert_int_equal(cfg.imageserver_port, 6971);
	assert_string_equal(cfg.info.machine.net.hostname, "m1.example.net");
	assert_int_equal(cfg.layout.n, 3);
	assert_true(cfg.layout.encrypt);
	assert_memory_equal(cfg.enrol_token, find(&f, "enrol-token")->data, 64);
	inst_config_free(&cfg);
	hc_files_clear(&f);

	/* Without flags: no seed, no CA files, no token; no image name, no imagename. */
	assert_int_equal(hc_cfg_build(&o, &mi, "", 0, &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 5);
	assert_null(find(&f, "imagename"));
	assert_null(find(&f, "random-seed"));
	assert_null(find(&f, "enrol-token"));
	assert_null(find(&f, "CA.pem"));
	hc_files_clear(&f);

	/* The CA files are required when asked for; a missing local file is named. */
	o.ca_file = NULL;
	assert_int_equal(hc_cfg_build(&o, &mi, "", HC_CFG_CA_FILES, &f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no -CAfile: the installer needs CA.pem");
	hc_files_clear(&f);
	nb[0].value = "/nonexistent/pxelinux.0";
	assert_int_equal(hc_cfg_build(&o, &mi, "", 0, &f, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "reading -netbootFiles file /nonexistent/pxelinux.0: No such file "
				 "or directory");
	hc_files_clear(&f);
	info_clear(&mi);
}

/* hc_install_config: the spec's refusal with "error <doing>:" and nothing produced;
 * -targetImageName overrides the tag (checked against the image server: covered by
 * the integration test). */
static void test_install_config(void **state)
{
	struct fmapi_get_machine_info_response mi;
	struct hc_files f = {0};
	struct hc h;

	(void)state;
	memset(&h, 0, sizeof(h));
	opts_default(&h.o);
	info_load(&mi);
	mi.subnets.v[0].vlan_id = 3;
	assert_int_equal(hc_install_config(&h, "writing files", &mi, 0, &f), 1);
	assert_int_equal(f.n, 0);
	info_clear(&mi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_files_put),
	    cmocka_unit_test(test_entries),
	    cmocka_unit_test(test_resolv),
	    cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_build, setup, teardown),
	    cmocka_unit_test(test_install_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
