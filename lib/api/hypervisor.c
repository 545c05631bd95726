/* api/hypervisor: descriptors of the hypervisor's shared records (Address, Subnet,
 * Volume, VmInfo, LocalVmInfo, the address pool, CreateVmRequest) and the enum names,
 * generated from hypervisor.def, and the helpers that go with them. */
#include "hypervisor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define API_SCHEMA_DEFINE
#include "schema.h"
#include "hypervisor.def"
#undef API_SCHEMA_DEFINE

const char *hvapi_enum_name(const char *const *names, int value)
{
	for (int i = 0; names[i]; i++)
		if (i == value)
			return names[i];
	return "?";
}

int hvapi_enum_parse(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *hvapi_state_name(enum hvapi_state s)
{
	return hvapi_enum_name(hvapi_state_names, (int)s);
}

uint64_t hvapi_volume_effective_size(const struct hvapi_volume *v)
{
	return v->size > v->virtual_size ? v->size : v->virtual_size;
}

/* ---- subnets.json: a bare array ----
 * Written by hand: the schema describes structs, and this is a list at the top level. */

static const struct api_field subnet_list_field =
    API_FLD_LIST_T(hvapi_subnets, "Subnets", n, 0, API_STRUCT, hvapi_subnet_type);

json_t *hvapi_subnets_to_json(const struct hvapi_subnets *l)
{
	return api_encode_value(&subnet_list_field, l);
}

int hvapi_subnets_from_json(struct sjson_dec *d, json_t *j, struct hvapi_subnets *out)
{
	return api_decode_value(&subnet_list_field, d, j, out);
}

void hvapi_subnets_clear(struct hvapi_subnets *l)
{
	api_clear_value(&subnet_list_field, l);
}

int hvapi_addresses_add(struct hvapi_addresses *l, const struct hvapi_address *a)
{
	struct hvapi_address *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	v[l->n++] = *a;
	l->v = v;
	return 0;
}
