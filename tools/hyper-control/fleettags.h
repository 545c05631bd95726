/* fleettags: the tag set hyper-control's change-tags sends to the Fleet Manager
 * (spec/hyper-control.md §3), pure so that the unit test can call it. */
#ifndef SS_HC_FLEETTAGS_H
#define SS_HC_FLEETTAGS_H

#include "api/hypervisor.h"

/* The given tags when the machine has none (cur empty), else the machine's tags with
 * the given keys overriding, new keys added, and the keys given an empty value dropped.
 * Borrows cur and given; *out is new (fleet_tags_free it, also on failure). 0 or
 * -ENOMEM. */
int fleet_tags_merge(const struct hvapi_tags *cur, const struct hvapi_tags *given,
		     struct hvapi_tags *out);

/* Frees what t owns and zeroes it. */
void fleet_tags_free(struct hvapi_tags *t);

#endif
