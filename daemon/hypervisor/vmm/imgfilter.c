/* An image's filter (see imgfilter.h). */
#include "daemon/hypervisor/vmm/imgfilter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void imgfilter_free(struct imgfilter *f)
{
	for (size_t i = 0; i < f->n; i++)
		regfree(&f->re[i]);
	free(f->re);
	memset(f, 0, sizeof(*f));
}

int imgfilter_from_json(const json_t *filter, struct imgfilter *f, size_t *skipped)
{
	const json_t *lines =
	    json_is_object(filter) ? json_object_get(filter, "FilterLines") : NULL;
	size_t n = json_is_array(lines) ? json_array_size(lines) : 0;

	memset(f, 0, sizeof(*f));
	if (skipped != NULL)
		*skipped = 0;
	if (!json_is_object(filter))
		return -EINVAL;
	f->re = calloc(n ? n : 1, sizeof(regex_t));
	if (f->re == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *line = json_string_value(json_array_get(lines, i));
		size_t len = line ? strlen(line) : 0;
		char *pat;

		if (len == 0)
			continue;
		if (strcmp(line, "!") == 0) {
			f->invert = true;
			continue;
		}
		pat = malloc(len + 2);
		if (pat == NULL) {
			imgfilter_free(f);
			return -ENOMEM;
		}
		pat[0] = '^';
		memcpy(pat + 1, line, len + 1);
		if (regcomp(&f->re[f->n], pat, REG_EXTENDED | REG_NOSUB) == 0)
			f->n++;
		else if (skipped != NULL)
			(*skipped)++;
		free(pat);
	}
	return 0;
}

bool imgfilter_match(const struct imgfilter *f, const char *path)
{
	for (size_t i = 0; i < f->n; i++)
		if (regexec(&f->re[i], path, 0, NULL, 0) == 0)
			return !f->invert;
	return f->invert;
}
