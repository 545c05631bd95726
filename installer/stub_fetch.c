/* stub_fetch: stands in for inst-fetch's parts until they are merged (installer.mk). */
#include <stdio.h>
#include <string.h>

#include "installer/installer.h"

int inst_config_load(const char *dir, enum inst_source src, struct inst_config *cfg, char *err,
		     size_t errsz)
{
	(void)src;
	memset(cfg, 0, sizeof(*cfg));
	snprintf(err, errsz, "%s: the configuration loader is not built in", dir);
	return -1;
}

void inst_config_free(struct inst_config *cfg)
{
	(void)cfg;
}

int inst_fetch_image(struct inst_ctx *ctx, const char *dest, char *err, size_t errsz)
{
	(void)ctx;
	snprintf(err, errsz, "%s: the image fetcher is not built in", dest);
	return -1;
}
