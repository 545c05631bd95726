/* The page builders behind the routing table of status.c: the HTML pages
 * (status_pages.c), /metrics and /healthz (status_metrics.c). Each writes its body to f. */
#ifndef HV_STATUS_PAGES_H
#define HV_STATUS_PAGES_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon/hypervisor/status/status.h"
#include "html.h"

/* What the hypervisor adds to every page: the VM state colours and the navigation. */
extern const struct html_chrome status_chrome;

/* The lib/html helpers under the names the pages use, with the chrome above. */
static inline void status_esc(FILE *f, const char *s)
{
	html_esc(f, s);
}

static inline void status_page_start(FILE *f, const char *title)
{
	html_page_start(f, title, &status_chrome);
}

static inline void status_page_end(FILE *f)
{
	html_page_end(f);
}

void status_overview(struct status *s, FILE *f, bool full);
int status_list_vms(struct status *s, FILE *f, const char *state, const char *owner,
		    const char *output);
int status_show_vm(struct status *s, FILE *f, const char *ip, bool json);
void status_subnets(struct status *s, FILE *f);
void status_addresses(struct status *s, FILE *f);
void status_metrics(struct status *s, FILE *f);
/* 200 and "OK\n", or 503 and the reasons. */
int status_healthz(struct status *s, FILE *f);
/* GET /health: the JSON of status_health; 200 healthy, 503 not (health.c). */
int status_health_page(struct status *s, FILE *f);

#endif
