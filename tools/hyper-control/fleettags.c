/* fleettags: the tag set change-tags sends (spec/hyper-control.md §3). Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleettags.h"

void fleet_tags_free(struct hvapi_tags *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static const struct hvapi_tag *tag_find(const struct hvapi_tags *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(api_str(t->v[i].key), key) == 0)
			return &t->v[i];
	return NULL;
}

static int tag_put(struct hvapi_tags *t, const char *key, const char *value)
{
	struct hvapi_tag *v = realloc(t->v, (t->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	t->v = v;
	v[t->n].key = strdup(key);
	v[t->n].value = strdup(value);
	if (v[t->n].key == NULL || v[t->n].value == NULL) {
		free(v[t->n].key);
		free(v[t->n].value);
		return -ENOMEM;
	}
	t->n++;
	return 0;
}

int fleet_tags_merge(const struct hvapi_tags *cur, const struct hvapi_tags *given,
		     struct hvapi_tags *out)
{
	memset(out, 0, sizeof(*out));
	if (cur->n == 0) {
		for (size_t i = 0; i < given->n; i++)
			if (tag_put(out, api_str(given->v[i].key), api_str(given->v[i].value)) < 0)
				return -ENOMEM;
		return 0;
	}
	for (size_t i = 0; i < cur->n; i++) {
		const struct hvapi_tag *g = tag_find(given, api_str(cur->v[i].key));
		const char *v = g != NULL ? api_str(g->value) : api_str(cur->v[i].value);

		if (*v != '\0' && tag_put(out, api_str(cur->v[i].key), v) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < given->n; i++) {
		const char *k = api_str(given->v[i].key), *v = api_str(given->v[i].value);

		if (*v != '\0' && tag_find(cur, k) == NULL && tag_find(out, k) == NULL &&
		    tag_put(out, k, v) < 0)
			return -ENOMEM;
	}
	return 0;
}
