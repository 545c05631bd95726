/* fuzz_topology: a topology tree through the Fleet Manager's loader
 * (daemon/fleet-manager/topology.c). The input is a list of records "path\0content\0"
 * (the last content may run to the end). Checks beyond the sanitizers: a refusal says
 * why; a loaded topology's machines are sorted and distinct, each found again by its
 * hostname, IP and MAC, with the subnets it names visible. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 64

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s\n", what, detail ? detail : "");
	abort();
}

static void check(const struct topology *t)
{
	static const uint8_t zero[6];
	size_t n = topology_nmachines(t);

	if (strlen(topology_digest(t)) != 64)
		fail("bad digest", topology_digest(t));
	if (topology_nlocations(t) == 0 || strcmp(topology_location(t, 0), "") != 0)
		fail("no root location", NULL);
	for (size_t i = 0; i < n; i++) {
		const struct topo_machine *m = topology_machine(t, i);
		const char *h = m->m.net.hostname;

		if (!h || !*h)
			fail("machine without hostname", NULL);
		if (i && strcmp(topology_machine(t, i - 1)->m.net.hostname, h) >= 0)
			fail("machines not sorted and distinct", h);
		if (topology_find_hostname(t, h) != m)
			fail("hostname lookup", h);
		if (m->m.net.host_ip.s_addr && topology_find_ip(t, m->m.net.host_ip) != m)
			fail("IP lookup", h);
		if (memcmp(m->m.net.host_mac, zero, 6) != 0 &&
		    topology_find_mac(t, m->m.net.host_mac) != m)
			fail("MAC lookup", h);
		if (memcmp(m->m.ipmi.host_mac, zero, 6) != 0 &&
		    topology_find_mac(t, m->m.ipmi.host_mac) != m)
			fail("IPMI MAC lookup", h);
		for (size_t j = 0; j < m->m.secondary.n; j++)
			if (m->m.secondary.v[j].host_ip.s_addr &&
			    topology_find_ip(t, m->m.secondary.v[j].host_ip) != m)
				fail("secondary IP lookup", h);
		if (*api_str(m->m.gateway_subnet_id) &&
		    !topology_machine_subnet(m, m->m.gateway_subnet_id))
			fail("gateway subnet not visible", h);
		if (!topology_location_in(api_str(m->m.location), ""))
			fail("location", h);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topo_file files[MAX_FILES];
	size_t nfiles = 0, pos = 0;
	struct topology *t = NULL;
	char err[512];
	char *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (pos < size && nfiles < MAX_FILES) {
		const char *path = copy + pos, *content;
		size_t plen = strlen(path), clen;

		pos += plen + 1;
		if (pos > size)
			break;
		content = copy + pos;
		clen = strnlen(content, size - pos);
		pos += clen + 1;
		files[nfiles++] = (struct topo_file){path, content, clen};
	}
	if (topology_load_files(files, nfiles, &t, err, sizeof(err)) == 0) {
		check(t);
		topology_ref(t);
		topology_unref(t);
		topology_unref(t);
	} else if (!err[0]) {
		fail("refused without a message", NULL);
	}
	free(copy);
	return 0;
}
