/* worker.c - a worker's config: each request holds the one it started with */
#include "dns64d/worker.h"

#include <errno.h>
#include <stdlib.h>

struct wcfg *wcfg_get(struct worker *w)
{
	w->wcfg->users++;
	return w->wcfg;
}

void wcfg_put(struct worker *w, struct wcfg *c)
{
	if (--c->users == 0 && c->retired) {
		config_unref(c->cfg);
		free(c);
	}
}

int wcfg_swap(struct worker *w, struct config *cfg)
{
	struct wcfg *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->cfg = config_ref(cfg);
	struct wcfg *old = w->wcfg;
	w->wcfg = n;
	if (old) {
		old->retired = true;
		if (old->users == 0) {
			config_unref(old->cfg);
			free(old);
		}
	}
	return 0;
}
