/* The observability source of a running node: readiness is the routing thread answering a call that does nothing
 * (nylon: "the main loop answers within 1 s"), metrics a status snapshot taken on that thread. */
#include <errno.h>

#include "dataplane/routing.h"
#include "nylon/obs.h"
#include "nylon/status.h"

/* Context: routing thread. */
static void nothing(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	(void)rt;
	(void)arg;
	(void)now;
}

static int node_ready(void *ctx, int timeout_ms)
{
	return ny_dp_routing_call(ctx, nothing, NULL, timeout_ms);
}

static int node_metrics(void *ctx, struct ny_prom *p, int timeout_ms)
{
	struct ny_status *st = NULL;
	int ret;

	if ((ret = ny_dp_status_collect(ctx, &st, timeout_ms)) < 0)
		return ret;
	ret = ny_obs_metrics_add(p, st);
	ny_status_free(st);
	return ret;
}

struct ny_obs_source ny_obs_node_source(struct ny_dp_node *node)
{
	return (struct ny_obs_source){ .ready = node_ready, .metrics = node_metrics, .ctx = node };
}
