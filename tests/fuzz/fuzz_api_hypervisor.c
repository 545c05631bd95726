/* libFuzzer harness for the lib/api codec on the hypervisor's wire types: the first
 * byte picks a message type, the rest is JSON (as a server receives it). Whatever
 * decodes must encode again, and that encoding must decode and re-encode to the same
 * bytes (the codec's round-trip property). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/hypervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct api_type *const types[] = {
    &hvapi_local_vm_info_type,
    &hvapi_create_vm_request_type,
    &hvapi_update_type,
    &hvapi_list_vms_request_type,
    &hvapi_change_address_pool_request_type,
    &hvapi_netboot_machine_request_type,
    &hvapi_update_subnets_request_type,
    &hvapi_address_pool_type,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct api_type *t;
	json_t *j, *j2;
	void *obj, *obj2;
	char *s1, *s2;

	if (size < 1)
		return 0;
	t = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	obj = calloc(1, t->size);
	obj2 = calloc(1, t->size);
	if (!obj || !obj2)
		abort();
	if (api_decode_msg(t, j, "fuzz", obj, NULL) == 0) {
		s1 = api_dumps(t, obj, 0);
		j2 = s1 ? json_loads(s1, 0, NULL) : NULL;
		if (!j2 || api_decode_msg(t, j2, "fuzz", obj2, NULL) != 0)
			abort();
		s2 = api_dumps(t, obj2, 0);
		if (!s2 || strcmp(s1, s2) != 0)
			abort();
		free(s1);
		free(s2);
		json_decref(j2);
		api_clear(t, obj2);
	}
	api_clear(t, obj);
	free(obj);
	free(obj2);
	json_decref(j);
	return 0;
}
