/* api/hypervisor_filter: the pure VM-selection rules shared by the daemon (ListVMs,
 * GetVmInfos, status pages) and the clients: state masks, MatchTags, owner filters,
 * Go's version-string order, and tag list helpers. */
#include "hypervisor.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool hvapi_state_ignored(uint64_t ignore_state_mask, enum hvapi_state s)
{
	if ((unsigned)s >= 64)
		return false;
	return (ignore_state_mask >> (unsigned)s) & 1;
}

const char *hvapi_tags_get(const struct hvapi_tags *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(api_str(t->v[i].key), key) == 0)
			return api_str(t->v[i].value);
	return NULL;
}

int hvapi_tags_set(struct hvapi_tags *t, const char *key, const char *value)
{
	struct hvapi_tag *v;
	char *val = strdup(value), *k;
	size_t pos = 0;

	if (!val)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		int c = strcmp(api_str(t->v[i].key), key);
		if (c == 0) {
			free(t->v[i].value);
			t->v[i].value = val;
			return 0;
		}
		if (c < 0)
			pos = i + 1;
	}
	k = strdup(key);
	v = k ? realloc(t->v, (t->n + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	memmove(v + pos + 1, v + pos, (t->n - pos) * sizeof(*v));
	v[pos].key = k;
	v[pos].value = val;
	t->v = v;
	t->n++;
	return 0;
}

bool hvapi_match_tags(const struct hvapi_match_tags *m, const struct hvapi_tags *tags)
{
	for (size_t i = 0; i < m->n; i++) {
		const char *have = hvapi_tags_get(tags, api_str(m->v[i].key));
		if (!have || !api_strlist_contains(&m->v[i].values, have))
			return false;
	}
	return true;
}

static bool any_in(const struct api_strlist *want, const struct api_strlist *have)
{
	for (size_t i = 0; i < have->n; i++)
		if (api_strlist_contains(want, api_str(have->v[i])))
			return true;
	return false;
}

bool hvapi_owner_filter(const struct api_strlist *groups, const struct api_strlist *users,
			const struct hvapi_vm_info *vm)
{
	bool include = true;

	if (groups && groups->n > 0)
		include = any_in(groups, &vm->owner_groups);
	if (users && users->n > 0)
		include = any_in(users, &vm->owner_users);
	return include;
}

bool hvapi_vm_selected(uint64_t ignore_state_mask, const struct api_strlist *groups,
		       const struct api_strlist *users, const struct hvapi_match_tags *match,
		       const struct hvapi_vm_info *vm)
{
	if (hvapi_state_ignored(ignore_state_mask, vm->state))
		return false;
	if (!hvapi_owner_filter(groups, users, vm))
		return false;
	return !match || hvapi_match_tags(match, &vm->tags);
}

/* Compares the digit runs at *a and *b numerically (leading zeros ignored) and
 * advances both past them. */
static int cmp_number(const char **a, const char **b)
{
	const char *sa, *sb;
	size_t la, lb;

	while (**a == '0' && isdigit((unsigned char)(*a)[1]))
		(*a)++;
	while (**b == '0' && isdigit((unsigned char)(*b)[1]))
		(*b)++;
	sa = *a;
	sb = *b;
	while (isdigit((unsigned char)**a))
		(*a)++;
	while (isdigit((unsigned char)**b))
		(*b)++;
	la = (size_t)(*a - sa);
	lb = (size_t)(*b - sb);
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(sa, sb, la);
}

int hvapi_verstr_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			int c = cmp_number(&a, &b);
			if (c)
				return c < 0 ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	if (*a == *b)
		return 0;
	return *a ? 1 : -1;
}
