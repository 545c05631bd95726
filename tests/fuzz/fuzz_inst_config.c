/* fuzz_inst_config: the installer's configuration parsers (installer/config.c): the
 * input is "config.json\0storage-layout.json\0imageserver" (missing parts are empty).
 * config.json goes through the codec and the machine checks, storage-layout.json
 * through the strict layout parser, imageserver through its host:port parser. Checks
 * beyond the sanitizers: every refusal says why; an accepted layout holds only what
 * the installer can use (ext4/vfat, absolute distinct mount points, a basename); an
 * accepted imageserver has a host and a port in 1..65535. An accepted machine also
 * goes through lib/netconf with NICs made from its entries' MACs: a rendering starts
 * with the header and its resolv.conf with its own. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "installer/config.h"
#include "netconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s\n", what, detail ? detail : "");
	abort();
}

static void check_netconf(const struct fmapi_get_machine_info_response *info)
{
	const struct fmapi_machine *m = &info->machine;
	struct netconf_nic nics[8] = {0};
	char *ifs = NULL, *resolv = NULL, err[256] = "";
	size_t n = 0;

	for (size_t i = 0; i <= m->secondary.n && n < 7; i++) {
		const struct fmapi_network_entry *e = i == 0 ? &m->net : &m->secondary.v[i - 1];

		snprintf(nics[n].name, sizeof(nics[n].name), "eth%zu", n);
		memcpy(nics[n].mac, e->host_mac, 6);
		nics[n].up = i % 2 == 0;
		n++;
	}
	snprintf(nics[n].name, sizeof(nics[n].name), "spare");
	memset(nics[n].mac, 0xee, 6);
	nics[n++].up = true;
	if (netconf_render(info, nics, n, NULL, NULL, &ifs, &resolv, err, sizeof(err)) < 0) {
		if (!err[0] || ifs || resolv)
			fail("netconf refused without a reason, or kept output", err);
		return;
	}
	if (strncmp(ifs, "# /etc/network/interfaces -- created by SmallStack", 50) ||
	    strncmp(resolv, "; /etc/resolv.conf -- created by SmallStack", 43))
		fail("netconf output without its header", ifs);
	free(ifs);
	free(resolv);
}

static void check_info(const char *text, size_t len)
{
	struct fmapi_get_machine_info_response info;
	char err[512] = "", *msg = NULL;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

	if (!doc)
		return;
	if (api_decode_msg(&fmapi_get_machine_info_response_type, doc, "config.json", &info, &msg) <
	    0) {
		if (!msg || !*msg)
			fail("decode refused without a reason", NULL);
		free(msg);
		json_decref(doc);
		return;
	}
	if (inst_info_check(&info, "config.json", err, sizeof(err)) < 0) {
		if (!err[0])
			fail("machine check refused without a reason", NULL);
	} else if (!*api_str(info.machine.net.hostname)) {
		fail("accepted a machine without a hostname", NULL);
	} else {
		check_netconf(&info);
	}
	api_clear(&fmapi_get_machine_info_response_type, &info);
	json_decref(doc);
}

static void check_layout(const char *text, size_t len)
{
	struct inst_storage_layout l;
	char err[512] = "";

	if (inst_layout_parse(text, len, "storage-layout.json", &l, err, sizeof(err)) < 0) {
		if (!err[0])
			fail("layout refused without a reason", NULL);
		if (l.entries || l.n)
			fail("a refused layout keeps entries", err);
		return;
	}
	if (l.n > INST_LAYOUT_MAX_ENTRIES || l.extra_basename[0] != '/')
		fail("bad layout accepted", l.extra_basename);
	for (size_t i = 0; i < l.n; i++) {
		const struct inst_layout_entry *e = &l.entries[i];

		if (strcmp(e->fs_type, "ext4") && strcmp(e->fs_type, "vfat"))
			fail("bad file system type accepted", e->fs_type);
		if (e->mount_point[0] != '/' || strstr(e->mount_point, "/../"))
			fail("bad mount point accepted", e->mount_point);
		if (e->reserved_blocks_pct < -1 || e->reserved_blocks_pct > 50)
			fail("bad reserved percentage accepted", e->mount_point);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l.entries[j].mount_point, e->mount_point))
				fail("duplicate mount point accepted", e->mount_point);
	}
	inst_layout_free(&l);
}

static void check_imageserver(const char *text)
{
	char host[256], err[256] = "";
	int port = 0;

	if (inst_imageserver_parse(text, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		if (!err[0])
			fail("imageserver refused without a reason", text);
		return;
	}
	if (!host[0] || port < 1 || port > 65535)
		fail("bad imageserver accepted", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *parts[3] = {"", "", ""};
	size_t lens[3] = {0, 0, 0}, pos = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (int i = 0; i < 3 && pos <= size; i++) {
		parts[i] = copy + pos;
		lens[i] = i < 2 ? strlen(parts[i]) : size - pos;
		pos += lens[i] + 1;
	}
	check_info(parts[0], lens[0]);
	check_layout(parts[1], lens[1]);
	check_imageserver(parts[2]);
	free(copy);
	return 0;
}
