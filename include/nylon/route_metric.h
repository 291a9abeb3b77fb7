/* The link-metric filter of one endpoint (reference nylon-behaviour.md §3.4): RTT samples from probes are smoothed
 * by an EWMA, the last `window` smoothed values give a p5/p50/p95 band, and the published value only moves when
 * the previous one leaves that band. That hysteresis keeps a steady link to about one metric change a minute, so
 * routes do not flap with jitter (the reference's unit tests assert fewer than 120 distinct values in 2 h).
 *
 * Pure arithmetic over fixed arrays: no allocation, no clock, no threads. A filter belongs to whoever owns the
 * endpoint (the routing thread, through struct ny_route_endpoints); nothing here is shared.
 */
#ifndef NYLON_ROUTE_METRIC_H
#define NYLON_ROUTE_METRIC_H

#include <stdint.h>

/* The window is a fixed array inside the filter; params.window may be anything in [1, MAX]. */
#define NY_ROUTE_METRIC_WINDOW_MAX 256

/* Reference §3.8 (WindowSamples, MinimumConfidenceWindow, OutlierPercentage) and §3.4. */
struct ny_route_metric_params {
	uint32_t window;         /* smoothed values kept: 60 (60 s at one probe a second) */
	uint32_t min_confidence; /* below this many samples low = med = high = unconfident_ns: 15 */
	double outlier_fraction; /* low = p(f), high = p(1 - f); in [0, 0.5): 0.05 */
	double alpha;            /* EWMA weight of a new sample, in (0, 1]: 0.0836 */
	uint64_t zero_rtt_ns;    /* a 0 ns sample counts as this: 100 µs */
	uint64_t unconfident_ns; /* the RTT reported until min_confidence samples: 1 s */
};

struct ny_route_metric_filter {
	struct ny_route_metric_params p;
	double ewma_ns;         /* the filtered RTT; meaningless while samples == 0 */
	uint64_t samples;       /* added since init or the last reset */
	uint32_t len;           /* values in ring and sorted: min(samples, p.window) */
	uint32_t head;          /* ring slot the next value goes to (the oldest once the ring is full) */
	uint64_t low_ns, med_ns, high_ns;
	uint64_t stabilized_ns; /* the published RTT */
	uint64_t ring[NY_ROUTE_METRIC_WINDOW_MAX];   /* smoothed values in arrival order */
	uint64_t sorted[NY_ROUTE_METRIC_WINDOW_MAX]; /* the same values, ascending, kept sorted incrementally */
};

/* Fills in the reference's values (above). */
void ny_route_metric_params_default(struct ny_route_metric_params *p);

/* Starts an empty filter with params (NULL: the defaults): it reports unconfident_ns. 0, or -EINVAL when a
 * parameter is outside the ranges above (the filter is then left empty with the defaults). */
int ny_route_metric_init(struct ny_route_metric_filter *f, const struct ny_route_metric_params *params);

/* Forgets every sample (the endpoint came back after being inactive, reference §3.3): as after init. */
void ny_route_metric_reset(struct ny_route_metric_filter *f);

/* Adds one RTT sample in ns (0 counts as zero_rtt_ns). O(window), no allocation. */
void ny_route_metric_add_sample(struct ny_route_metric_filter *f, uint64_t rtt_ns);

/* The stabilised RTT in µs, saturating at NY_ROUTE_INFM: the endpoint's metric while it is active. */
uint32_t ny_route_metric_us(const struct ny_route_metric_filter *f);

/* The EWMA in ns (0 before the first sample). */
uint64_t ny_route_metric_filtered_ns(const struct ny_route_metric_filter *f);

/* The stabilised RTT in ns (unconfident_ns until min_confidence samples). */
uint64_t ny_route_metric_stabilized_ns(const struct ny_route_metric_filter *f);

/* The current band: p5, p50, p95 of the window (all unconfident_ns until min_confidence samples). Any pointer may
 * be NULL. */
void ny_route_metric_band(const struct ny_route_metric_filter *f, uint64_t *low_ns, uint64_t *med_ns,
			  uint64_t *high_ns);

uint64_t ny_route_metric_samples(const struct ny_route_metric_filter *f);

#endif
