/* The link-metric filter (reference nylon-behaviour.md §3.4): EWMA, then a percentile band over a window, then
 * hysteresis. See include/nylon/route_metric.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "nylon/route.h"
#include "nylon/route_metric.h"

void ny_route_metric_params_default(struct ny_route_metric_params *p)
{
	*p = (struct ny_route_metric_params){
		.window = 60,
		.min_confidence = 15,
		.outlier_fraction = 0.05,
		.alpha = 0.0836,
		.zero_rtt_ns = 100000,
		.unconfident_ns = 1000000000,
	};
}

static bool params_valid(const struct ny_route_metric_params *p)
{
	return p->window >= 1 && p->window <= NY_ROUTE_METRIC_WINDOW_MAX && p->outlier_fraction >= 0 &&
	       p->outlier_fraction < 0.5 && p->alpha > 0 && p->alpha <= 1;
}

int ny_route_metric_init(struct ny_route_metric_filter *f, const struct ny_route_metric_params *params)
{
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (params && params_valid(params)) {
		f->p = *params;
	} else {
		ny_route_metric_params_default(&f->p);
		ret = params ? -EINVAL : 0;
	}
	ny_route_metric_reset(f);
	return ret;
}

void ny_route_metric_reset(struct ny_route_metric_filter *f)
{
	f->ewma_ns = 0;
	f->samples = 0;
	f->len = 0;
	f->head = 0;
	f->low_ns = f->med_ns = f->high_ns = f->p.unconfident_ns;
	f->stabilized_ns = f->p.unconfident_ns;
}

/* First index in sorted[0..n) whose value is > v (upper) or >= v (!upper). */
static uint32_t bound(const uint64_t *sorted, uint32_t n, uint64_t v, bool upper)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (sorted[mid] < v || (upper && sorted[mid] == v))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Appends v to the window, evicting the oldest value once it is full; sorted[] follows in O(window). */
static void window_push(struct ny_route_metric_filter *f, uint64_t v)
{
	uint32_t at;

	if (f->len == f->p.window) {
		uint64_t old = f->ring[f->head];

		at = bound(f->sorted, f->len, old, false); /* present: it went in with the same value */
		memmove(&f->sorted[at], &f->sorted[at + 1], (f->len - at - 1) * sizeof(f->sorted[0]));
		f->len--;
	}
	at = bound(f->sorted, f->len, v, true);
	memmove(&f->sorted[at + 1], &f->sorted[at], (f->len - at) * sizeof(f->sorted[0]));
	f->sorted[at] = v;
	f->len++;
	f->ring[f->head] = v;
	f->head = (f->head + 1) % f->p.window;
}

/* ns as a double, rounded back into uint64 without the undefined behaviour of an out-of-range conversion. */
static uint64_t to_ns(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= 18446744073709551616.0) /* 2^64 */
		return UINT64_MAX;
	return (uint64_t)(v + 0.5);
}

void ny_route_metric_add_sample(struct ny_route_metric_filter *f, uint64_t rtt_ns)
{
	double s = (double)(rtt_ns ? rtt_ns : f->p.zero_rtt_ns);
	uint32_t k;

	/* §3.4: e = a*s + (1 - a)*e, the first sample seeding e. */
	f->ewma_ns = f->samples == 0 ? s : f->p.alpha * s + (1 - f->p.alpha) * f->ewma_ns;
	f->samples++;
	window_push(f, to_ns(f->ewma_ns));
	if (f->samples < f->p.min_confidence)
		return; /* low = med = high = stabilised = unconfident_ns, set by reset */

	/* With n values and fraction q, drop floor(n*q) at each end: n = 60, q = 0.05 keeps sorted[3..56]. */
	k = (uint32_t)(f->len * f->p.outlier_fraction);
	f->low_ns = f->sorted[k];
	f->med_ns = f->sorted[f->len / 2];
	f->high_ns = f->sorted[f->len - 1 - k];
	if (f->stabilized_ns < f->low_ns || f->stabilized_ns > f->high_ns)
		f->stabilized_ns = f->med_ns;
}

uint32_t ny_route_metric_us(const struct ny_route_metric_filter *f)
{
	uint64_t us = f->stabilized_ns / 1000;

	return us >= NY_ROUTE_INFM ? NY_ROUTE_INFM : (uint32_t)us;
}

uint64_t ny_route_metric_filtered_ns(const struct ny_route_metric_filter *f)
{
	return f->samples ? to_ns(f->ewma_ns) : 0;
}

uint64_t ny_route_metric_stabilized_ns(const struct ny_route_metric_filter *f)
{
	return f->stabilized_ns;
}

void ny_route_metric_band(const struct ny_route_metric_filter *f, uint64_t *low_ns, uint64_t *med_ns,
			  uint64_t *high_ns)
{
	if (low_ns)
		*low_ns = f->low_ns;
	if (med_ns)
		*med_ns = f->med_ns;
	if (high_ns)
		*high_ns = f->high_ns;
}

uint64_t ny_route_metric_samples(const struct ny_route_metric_filter *f)
{
	return f->samples;
}
