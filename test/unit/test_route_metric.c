/* The link-metric filter (src/route/metric.c, reference nylon-behaviour.md §3.4).
 *
 * The long-run tests replay 2 h of synthetic RTTs at one sample a second, as the reference's RTT-filter unit tests
 * do (§6.3): a sine, a drift up, a drift down and plain normal noise, each with Gaussian jitter from a fixed-seed
 * PRNG. They hold the filter to two things: it tracks the underlying RTT (bounded error), and its hysteresis keeps
 * the published value steady (fewer than 120 distinct values in 2 h).
 *
 * Test executables do not link libm, so the few maths functions needed are written out here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/route.h"
#include "nylon/route_metric.h"

#define MS 1000000.0 /* ns */
#define TWO_HOURS 7200

/* splitmix64: a small PRNG whose fixed seed makes every run the same series. */
static uint64_t prng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double prng_uniform(uint64_t *s)
{
	return ((double)(prng_next(s) >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

/* Irwin-Hall: the sum of 12 uniforms minus 6 is close to a standard normal (mean 0, variance 1, tails cut at 6). */
static double prng_normal(uint64_t *s)
{
	double sum = 0;

	for (int i = 0; i < 12; i++)
		sum += prng_uniform(s);
	return sum - 6;
}

#define PI 3.14159265358979323846

/* sin(x) by its Taylor series after reducing x to [-pi, pi]: the error is below 1e-6 there. */
static double sine(double x)
{
	double term, sum;
	long turns = (long)(x / (2 * PI) + (x >= 0 ? 0.5 : -0.5));

	x -= (double)turns * 2 * PI;
	term = sum = x;
	for (int k = 1; k < 12; k++) {
		term *= -x * x / ((2 * k) * (2 * k + 1));
		sum += term;
	}
	return sum;
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

enum shape { SINE, DRIFT_UP, DRIFT_DOWN, NORMAL };

/* The noiseless RTT at second t, in ns. */
static double signal_ns(enum shape shape, int t)
{
	switch (shape) {
	case SINE: /* 40 ± 15 ms, one period an hour */
		return 40 * MS + 15 * MS * sine(2 * PI * t / 3600.0);
	case DRIFT_UP: /* 20 ms to 120 ms over the 2 h */
		return 20 * MS + 100 * MS * t / TWO_HOURS;
	case DRIFT_DOWN:
		return 120 * MS - 100 * MS * t / TWO_HOURS;
	case NORMAL:
		return 50 * MS;
	}
	return 0;
}

struct run_stats {
	double err_var_ms2;   /* variance of (stabilised - signal) once the first window is full, in ms^2 */
	double err_max_ms;    /* largest |stabilised - signal| */
	double value_var_ms2; /* variance of the stabilised values themselves */
	size_t distinct;      /* distinct stabilised values over the whole run */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static struct run_stats run_series(enum shape shape, double jitter_ms, uint64_t seed)
{
	static struct ny_route_metric_filter f;
	static uint64_t values[TWO_HOURS];
	struct run_stats st = { 0 };
	double sum = 0, sum2 = 0, vsum = 0, vsum2 = 0;
	size_t n = 0;

	cr_assert_eq(ny_route_metric_init(&f, NULL), 0);
	for (int t = 0; t < TWO_HOURS; t++) {
		double s = signal_ns(shape, t) + jitter_ms * MS * prng_normal(&seed);
		double err;

		ny_route_metric_add_sample(&f, s < 0 ? 0 : (uint64_t)s);
		values[t] = ny_route_metric_stabilized_ns(&f);
		if (t < 60)
			continue; /* the first window fills */
		err = ((double)values[t] - signal_ns(shape, t)) / MS;
		sum += err;
		sum2 += err * err;
		vsum += (double)values[t] / MS;
		vsum2 += ((double)values[t] / MS) * ((double)values[t] / MS);
		if (absd(err) > st.err_max_ms)
			st.err_max_ms = absd(err);
		n++;
	}
	st.err_var_ms2 = sum2 / n - (sum / n) * (sum / n);
	st.value_var_ms2 = vsum2 / n - (vsum / n) * (vsum / n);
	qsort(values, TWO_HOURS, sizeof(values[0]), cmp_u64);
	for (size_t i = 0; i < TWO_HOURS; i++)
		st.distinct += i == 0 || values[i] != values[i - 1];
	return st;
}

struct series_case {
	const char *name;
	enum shape shape;
	double jitter_ms;
	double max_err_stdev_ms;
	double max_err_ms;
};

/* Bounds: the EWMA plus the 60 s window lag a drifting signal by well under a minute's drift, and 5 ms of jitter
 * is smoothed to about 1 ms; the reference bounds the stdev at 20-40 ms, these are tighter. */
static const struct series_case series[] = {
	{ "sine", SINE, 5, 3, 8 },
	{ "drift up", DRIFT_UP, 5, 2, 7 },
	{ "drift down", DRIFT_DOWN, 5, 2, 7 },
	{ "normal", NORMAL, 5, 1.5, 4 },
	{ "normal, heavy jitter", NORMAL, 20, 4, 18 },
};

Test(route_metric, two_hour_series_track_the_rtt_with_few_distinct_values)
{
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
		const struct series_case *c = &series[i];
		struct run_stats st = run_series(c->shape, c->jitter_ms, 42 + i);

		cr_log_info("%s: error variance %.2f ms^2, max %.2f ms, value variance %.2f ms^2, %zu distinct",
			    c->name, st.err_var_ms2, st.err_max_ms, st.value_var_ms2, st.distinct);
		cr_expect_lt(st.err_var_ms2, c->max_err_stdev_ms * c->max_err_stdev_ms, "%s: error variance %.2f ms^2",
			     c->name, st.err_var_ms2);
		cr_expect_lt(st.err_max_ms, c->max_err_ms, "%s: max error %.2f ms", c->name, st.err_max_ms);
		cr_expect_lt(st.distinct, 120, "%s: %zu distinct stabilised values in 2 h", c->name, st.distinct);
	}
}

Test(route_metric, steady_noise_barely_moves_the_stabilised_value)
{
	struct run_stats st = run_series(NORMAL, 5, 7);

	/* The raw samples have a 5 ms stdev; what is published must be far steadier. */
	cr_expect_lt(st.value_var_ms2, 1.5 * 1.5, "stabilised variance %.2f ms^2", st.value_var_ms2);
}

Test(route_metric, reports_one_second_until_fifteen_samples)
{
	struct ny_route_metric_filter f;

	cr_assert_eq(ny_route_metric_init(&f, NULL), 0);
	cr_expect_eq(ny_route_metric_us(&f), 1000000);
	cr_expect_eq(ny_route_metric_filtered_ns(&f), 0);
	for (int i = 1; i <= 14; i++) {
		ny_route_metric_add_sample(&f, 10000000); /* 10 ms */
		cr_expect_eq(ny_route_metric_us(&f), 1000000, "after %d samples", i);
		cr_expect_eq(ny_route_metric_stabilized_ns(&f), 1000000000ull, "after %d samples", i);
		cr_expect_eq(ny_route_metric_filtered_ns(&f), 10000000, "the EWMA tracks from the first sample");
	}
	ny_route_metric_add_sample(&f, 10000000);
	cr_expect_eq(ny_route_metric_samples(&f), 15);
	cr_expect_eq(ny_route_metric_us(&f), 10000, "the 15th sample makes the filter confident");
}

Test(route_metric, first_sample_seeds_the_ewma_then_weights_new_samples)
{
	struct ny_route_metric_filter f;

	ny_route_metric_init(&f, NULL);
	ny_route_metric_add_sample(&f, 10000000);
	cr_expect_eq(ny_route_metric_filtered_ns(&f), 10000000);
	ny_route_metric_add_sample(&f, 20000000);
	/* 0.0836 * 20 ms + 0.9164 * 10 ms = 10.836 ms */
	cr_expect_eq(ny_route_metric_filtered_ns(&f), 10836000);
}

Test(route_metric, zero_sample_counts_as_100us)
{
	struct ny_route_metric_filter f;

	ny_route_metric_init(&f, NULL);
	for (int i = 0; i < 15; i++)
		ny_route_metric_add_sample(&f, 0);
	cr_expect_eq(ny_route_metric_filtered_ns(&f), 100000);
	cr_expect_eq(ny_route_metric_us(&f), 100);
}

Test(route_metric, huge_rtt_saturates_at_infm)
{
	static const uint64_t huge[] = { (uint64_t)NY_ROUTE_INFM * 1000, (uint64_t)NY_ROUTE_INF * 1000 + 999999,
					 UINT64_MAX / 2, UINT64_MAX };

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		struct ny_route_metric_filter f;

		ny_route_metric_init(&f, NULL);
		for (int j = 0; j < 20; j++)
			ny_route_metric_add_sample(&f, huge[i]);
		cr_expect_eq(ny_route_metric_us(&f), NY_ROUTE_INFM, "sample %llu ns", (unsigned long long)huge[i]);
		cr_expect_geq(ny_route_metric_stabilized_ns(&f), (uint64_t)NY_ROUTE_INFM * 1000);
	}
}

Test(route_metric, just_below_infm_is_not_saturated)
{
	struct ny_route_metric_filter f;
	uint64_t ns = ((uint64_t)NY_ROUTE_INFM - 1) * 1000;

	ny_route_metric_init(&f, NULL);
	for (int j = 0; j < 15; j++)
		ny_route_metric_add_sample(&f, ns);
	cr_expect_eq(ny_route_metric_us(&f), NY_ROUTE_INFM - 1);
}

Test(route_metric, reset_forgets_history)
{
	struct ny_route_metric_filter f;

	ny_route_metric_init(&f, NULL);
	for (int i = 0; i < 100; i++)
		ny_route_metric_add_sample(&f, 30000000);
	cr_assert_eq(ny_route_metric_us(&f), 30000);
	ny_route_metric_reset(&f);
	cr_expect_eq(ny_route_metric_samples(&f), 0);
	cr_expect_eq(ny_route_metric_us(&f), 1000000, "a revived endpoint starts unconfident again");
	cr_expect_eq(ny_route_metric_filtered_ns(&f), 0);
	/* The old 30 ms must not leak into the new history: 15 samples of 5 ms give exactly 5 ms. */
	for (int i = 0; i < 15; i++)
		ny_route_metric_add_sample(&f, 5000000);
	cr_expect_eq(ny_route_metric_filtered_ns(&f), 5000000);
	cr_expect_eq(ny_route_metric_us(&f), 5000);
}

Test(route_metric, stabilised_value_holds_inside_the_band_and_moves_outside_it)
{
	struct ny_route_metric_params p;
	struct ny_route_metric_filter f;
	uint64_t low, med, high;

	/* alpha 1 makes the EWMA the raw sample, so the window is exactly what we feed. */
	ny_route_metric_params_default(&p);
	p.alpha = 1;
	p.window = 20;
	p.min_confidence = 5;
	p.outlier_fraction = 0.1; /* drop 2 at each end of 20 */
	cr_assert_eq(ny_route_metric_init(&f, &p), 0);
	for (int i = 0; i < 20; i++)
		ny_route_metric_add_sample(&f, 10000 + 100 * (uint64_t)i); /* 10.0 .. 11.9 µs */
	ny_route_metric_band(&f, &low, &med, &high);
	cr_expect_eq(low, 10200);
	cr_expect_eq(med, 11000);
	cr_expect_eq(high, 11700);

	/* 20 x 10.0 µs: the whole window, so the stabilised value is 10.0 µs. */
	for (int i = 0; i < 20; i++)
		ny_route_metric_add_sample(&f, 10000);
	cr_assert_eq(ny_route_metric_stabilized_ns(&f), 10000);
	/* 17 x 10.4 µs: the median (sorted[10]) is 10.4 µs from the 10th on, but 3 x 10.0 µs remain, so 10.0 µs is still p10. */
	for (int i = 1; i <= 17; i++) {
		ny_route_metric_add_sample(&f, 10400);
		ny_route_metric_band(&f, NULL, &med, NULL);
		cr_expect_eq(med, i >= 10 ? 10400u : 10000u, "after %d", i);
		cr_expect_eq(ny_route_metric_stabilized_ns(&f), 10000, "held after %d", i);
	}
	/* The 18th leaves 2 x 10.0 µs: p10 becomes 10.4 µs, the old value is outside the band and the median wins. */
	ny_route_metric_add_sample(&f, 10400);
	cr_expect_eq(ny_route_metric_stabilized_ns(&f), 10400);
}

Test(route_metric, window_of_one_and_custom_sizes_work)
{
	struct ny_route_metric_params p;
	struct ny_route_metric_filter f;

	ny_route_metric_params_default(&p);
	p.window = 1;
	p.min_confidence = 1;
	p.alpha = 1;
	cr_assert_eq(ny_route_metric_init(&f, &p), 0);
	ny_route_metric_add_sample(&f, 7000);
	cr_expect_eq(ny_route_metric_us(&f), 7);
	ny_route_metric_add_sample(&f, 9000);
	cr_expect_eq(ny_route_metric_us(&f), 9);

	p.window = NY_ROUTE_METRIC_WINDOW_MAX;
	cr_assert_eq(ny_route_metric_init(&f, &p), 0);
	for (int i = 0; i < 3 * NY_ROUTE_METRIC_WINDOW_MAX; i++)
		ny_route_metric_add_sample(&f, 1000 * (uint64_t)(i % 7 + 1));
	cr_expect_leq(ny_route_metric_stabilized_ns(&f), 7000);
	cr_expect_geq(ny_route_metric_stabilized_ns(&f), 1000);
}

Test(route_metric, rejects_bad_params)
{
	static const struct {
		const char *what;
		uint32_t window;
		double outlier, alpha;
	} bad[] = {
		{ "window 0", 0, 0.05, 0.1 },
		{ "window too big", NY_ROUTE_METRIC_WINDOW_MAX + 1, 0.05, 0.1 },
		{ "outlier 0.5", 60, 0.5, 0.1 },
		{ "outlier negative", 60, -0.1, 0.1 },
		{ "alpha 0", 60, 0.05, 0 },
		{ "alpha above 1", 60, 0.05, 1.5 },
	};
	struct ny_route_metric_params p;
	struct ny_route_metric_filter f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ny_route_metric_params_default(&p);
		p.window = bad[i].window;
		p.outlier_fraction = bad[i].outlier;
		p.alpha = bad[i].alpha;
		cr_expect_eq(ny_route_metric_init(&f, &p), -EINVAL, "%s", bad[i].what);
		cr_expect_eq(f.p.window, 60, "%s: falls back to the defaults", bad[i].what);
	}
}

/* The sorted copy must always hold exactly the ring's values: check it against a sort of the ring after every
 * sample of a long random run with many duplicates. */
Test(route_metric, sorted_window_matches_the_ring)
{
	struct ny_route_metric_params p;
	static struct ny_route_metric_filter f;
	uint64_t seed = 99, copy[NY_ROUTE_METRIC_WINDOW_MAX];

	ny_route_metric_params_default(&p);
	p.window = 17;
	p.alpha = 1;
	ny_route_metric_init(&f, &p);
	for (int i = 0; i < 5000; i++) {
		ny_route_metric_add_sample(&f, 1 + prng_next(&seed) % 50);
		cr_assert_eq(f.len, i + 1 < 17 ? (uint32_t)i + 1 : 17u);
		memcpy(copy, f.ring, f.len * sizeof(copy[0]));
		qsort(copy, f.len, sizeof(copy[0]), cmp_u64);
		cr_assert_arr_eq(copy, f.sorted, f.len * sizeof(copy[0]), "sample %d", i);
	}
}
