/* fuzz_tftpdata: the fleet manager's /tftpdata/ pages (daemon/fleet-manager/tftpdata.c)
 * with hostile queries: identification by hostname=, ip=, serial_number=, the caller's
 * address and mac= over a small topology (the real loader, machines and methods; the
 * hypervisors' set has no connection). Input: byte 0 picks the page, byte 1 says
 * whether bytes 2..5 are the caller's IPv4 address, the rest is the query string
 * ("a=b&c&d=e", not URL-decoded: libmicrohttpd has done that). Checks beyond the
 * sanitizers: the status is one of 200, 400, 404; a 200 of a .json page is JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fleet-manager/tftpdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 16

static const char *const tree[][2] = {
    {"tags.json", "{\"RequiredImage\": \"hypervisor/a\"}"},
    {"A/subnets.json",
     "[{\"Id\": \"P\", \"IpGateway\": \"10.0.0.1\", \"IpMask\": \"255.255.255.0\"}]"},
    {"A/install-config.json", "{\"StorageLayout\": {\"UseKexec\": true}}"},
    {"A/machines.json",
     "[{\"Hostname\": \"h0\", \"HostIpAddress\": \"10.0.0.5\", \"HostMacAddress\": "
     "\"52:54:00:00:00:05\"},\n {\"HostIpAddress\": \"127.0.0.1\", \"Tags\": "
     "{\"RequiredImage\": \"\"}},\n {\"Hostname\": \"h2\", \"HostMacAddress\": "
     "\"52:54:00:00:00:07\", \"SecondaryNetworkEntries\": [{\"HostMacAddress\": "
     "\"52:54:00:00:00:08\", \"SubnetId\": \"P\"}]}]"},
    {"B/machines.json", "[{\"Hostname\": \"b0\", \"HostIpAddress\": \"10.1.0.5\"}]"},
};

static const char *const pages[] = {"config.json", "imagename", "storage-layout.json",
				    "imageserver", "other"};

static struct tftpdata *setup(void)
{
	static struct tftpdata td;
	static struct fm_methods fm;
	static struct power_config power;
	static int done;
	struct topo_file files[sizeof(tree) / sizeof(tree[0])];
	struct hypervisors_config hc = {.desired = 16, .min = 8, .max = 24};
	struct fmapi_update u = {0};
	struct topology *t;
	char err[512];

	if (done)
		return &td;
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		files[i] = (struct topo_file){tree[i][0], tree[i][1], strlen(tree[i][1])};
	if (topology_load_files(files, sizeof(files) / sizeof(files[0]), &t, err, sizeof(err)) <
		0 ||
	    machines_new("/nonexistent-fuzz-tftpdata", &fm.ms, err, sizeof(err)) < 0 ||
	    hypervisors_new(&hc, &fm.hs, err, sizeof(err)) < 0 ||
	    (fm.up = fm_updates_new()) == NULL) {
		fprintf(stderr, "fuzz_tftpdata setup: %s\n", err);
		abort();
	}
	machines_set_topology(fm.ms, t, &u);
	fmapi_update_clear(&u);
	fm.power = &power;
	fm.manage = true;
	fm.hypervisor_port = 6976;
	td = (struct tftpdata){
	    .fm = &fm, .image_server_hostname = "images", .image_server_port = 6971};
	done = 1;
	return &td;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftpdata *td = setup();
	struct tftpdata_arg args[MAX_ARGS];
	struct http_answer a;
	struct in_addr peer;
	const char *page;
	size_t nargs = 0;
	char *q, *save = NULL;
	json_t *j;

	if (size < 6)
		return 0;
	page = pages[data[0] % (sizeof(pages) / sizeof(pages[0]))];
	memcpy(&peer, data + 2, 4);
	q = strndup((const char *)data + 6, size - 6);
	if (q == NULL)
		return 0;
	for (char *p = strtok_r(q, "&", &save); p != NULL && nargs < MAX_ARGS;
	     p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');

		if (eq != NULL)
			*eq = '\0';
		args[nargs++] = (struct tftpdata_arg){p, eq ? eq + 1 : NULL};
	}
	if (tftpdata_answer(td, page, args, nargs, (data[1] & 1) ? &peer : NULL, &a) < 0)
		abort();
	if (a.status != 200 && a.status != 400 && a.status != 404)
		abort();
	if (a.status == 200 && strstr(page, ".json") != NULL) {
		j = json_loadb(a.body, a.len, 0, NULL);
		if (j == NULL)
			abort();
		json_decref(j);
	}
	free(a.body);
	free(q);
	return 0;
}
