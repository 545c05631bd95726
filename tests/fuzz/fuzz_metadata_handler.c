/* libFuzzer harness for the metadata request handler: the path comes from a VM, the
 * VmInfo carries owner-chosen strings (tags, hostname). Input: path, a newline, then the
 * VmInfo JSON (a fixed one when absent). Also the header checks on the path bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "daemon/hypervisor/metadata/metadata_handler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char default_info[] =
    "{\"Address\": {\"IpAddress\": \"10.0.0.5\", \"MacAddress\": \"52:54:00:aa:bb:cc\"},"
    " \"Hostname\": \"h\", \"Tags\": {\"Name\": \"x\"}, \"State\": \"running\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	struct metadata_vm vm = {0};
	struct metadata_response r;
	struct timespec now = {1700000000, 123};
	char *path = malloc(plen + 1);

	if (!path)
		return 0;
	memcpy(path, data, plen);
	path[plen] = '\0';
	inet_pton(AF_INET, "10.0.0.5", &vm.ip);
	vm.dir = strdup("/nonexistent-ss-fuzz");
	if (nl) {
		vm.info_json = malloc(size - plen);
		if (vm.info_json) {
			memcpy(vm.info_json, nl + 1, size - plen - 1);
			vm.info_json[size - plen - 1] = '\0';
		}
	} else {
		vm.info_json = strdup(default_info);
	}
	if (metadata_handle(path, &vm, &now, &r) == 0) {
		if (r.status == 200 && r.fd < 0 && r.body_len && !r.body)
			abort();
		if (r.status != 200 && r.status != 404)
			abort();
	}
	metadata_response_clear(&r);
	metadata_header_is_proxy(path);
	metadata_host_is_allowed(path);
	metadata_vm_clear(&vm);
	free(path);
	return 0;
}
