/* The transport replay window (src/wg/replay.c): fixed scenarios written as tables of (counter, verdict), then a
 * long randomized run checked against a reference model that keeps every counter it has accepted.
 *
 * The rule both are held to (WireGuard whitepaper §5.4.6, and counter_validate() in the Linux module): with G the
 * greatest counter accepted so far, a counter c is accepted iff c < REJECT_AFTER_MESSAGES, c was never accepted
 * before, and c + NY_WG_REPLAY_WINDOW >= G. So G - NY_WG_REPLAY_WINDOW is the oldest counter still accepted. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "nylon/wg.h"

#define W ((uint64_t)NY_WG_REPLAY_WINDOW)
#define LIMIT NY_WG_REJECT_AFTER_MESSAGES

struct step {
	uint64_t counter;
	bool accept;
};

#define ACCEPT(c) { (c), true }
#define REJECT(c) { (c), false }

/* Feeds steps to a fresh window and checks every verdict. */
static void run_steps(const char *what, const struct step *steps, size_t n)
{
	struct ny_wg_replay r;

	ny_wg_replay_init(&r);
	for (size_t i = 0; i < n; i++) {
		bool got = ny_wg_replay_check(&r, steps[i].counter);

		cr_assert_eq(got, steps[i].accept, "%s: step %zu, counter %llu: expected %s, got %s", what, i,
			     (unsigned long long)steps[i].counter, steps[i].accept ? "accept" : "reject",
			     got ? "accept" : "reject");
	}
}

#define RUN(steps) run_steps(#steps, steps, sizeof(steps) / sizeof(steps[0]))

Test(replay, window_is_at_least_2048_counters)
{
	_Static_assert(NY_WG_REPLAY_WINDOW >= 2048, "the replay window must cover at least 2,048 counters");
	cr_assert_geq(NY_WG_REPLAY_WINDOW, 2048);
	cr_assert_lt(NY_WG_REPLAY_WINDOW, NY_WG_REPLAY_BITS, "the current word needs room beyond the window");
}

Test(replay, accepts_counters_in_order)
{
	static const struct step in_order[] = {
		ACCEPT(0), ACCEPT(1), ACCEPT(2), ACCEPT(3), ACCEPT(4),
		ACCEPT(5), ACCEPT(6), ACCEPT(7), ACCEPT(8), ACCEPT(9),
	};

	RUN(in_order);
}

Test(replay, accepts_counter_zero_first_once)
{
	static const struct step zero_first[] = { ACCEPT(0), REJECT(0), ACCEPT(1), REJECT(0) };

	RUN(zero_first);
}

Test(replay, accepts_zero_after_a_first_counter_still_within_the_window)
{
	static const struct step zero_late[] = { ACCEPT(W), ACCEPT(0), REJECT(0) };
	static const struct step zero_too_late[] = { ACCEPT(W + 1), REJECT(0), ACCEPT(1) };

	RUN(zero_late);
	RUN(zero_too_late);
}

Test(replay, accepts_reordering_inside_the_window)
{
	static const struct step reordered[] = {
		ACCEPT(5), ACCEPT(1), ACCEPT(3), ACCEPT(0), ACCEPT(4), ACCEPT(2),
		ACCEPT(10), ACCEPT(6), ACCEPT(9), ACCEPT(7), ACCEPT(8),
	};

	RUN(reordered);
}

Test(replay, rejects_duplicates)
{
	static const struct step duplicates[] = {
		ACCEPT(0), REJECT(0), ACCEPT(1), REJECT(1), ACCEPT(5), ACCEPT(3),
		REJECT(3), REJECT(5), REJECT(0), ACCEPT(4), REJECT(4), REJECT(5),
	};

	RUN(duplicates);
}

Test(replay, rejects_just_outside_the_window_and_accepts_just_inside)
{
	const uint64_t g = 2 * W + 100;
	const struct step edge[] = {
		ACCEPT(g),
		REJECT(g - W - 1), /* one older than the oldest tracked counter */
		ACCEPT(g - W),     /* the oldest tracked counter */
		REJECT(g - W),
		ACCEPT(g - W + 1),
		REJECT(g - W - 2),
		REJECT(0),
		ACCEPT(g - 1),
		REJECT(g),
	};

	RUN(edge);
}

Test(replay, accepts_a_reorder_depth_of_2048_in_reverse)
{
	const uint64_t g = 100000;
	struct ny_wg_replay r;

	ny_wg_replay_init(&r);
	cr_assert(ny_wg_replay_check(&r, g));
	for (uint64_t c = g - 1; c >= g - 2048; c--)
		cr_assert(ny_wg_replay_check(&r, c), "counter %llu, %llu behind", (unsigned long long)c,
			  (unsigned long long)(g - c));
	for (uint64_t c = g - 2048; c <= g; c++)
		cr_assert_not(ny_wg_replay_check(&r, c), "duplicate %llu", (unsigned long long)c);
}

Test(replay, far_jump_forward_rejects_old_and_accepts_new)
{
	const uint64_t far = 10 * W;
	const struct step jump[] = {
		ACCEPT(0), ACCEPT(1), ACCEPT(2), ACCEPT(3),
		ACCEPT(far),
		REJECT(0), REJECT(3), REJECT(4), /* 4 was never seen, but is too old now */
		REJECT(far - W - 1),
		ACCEPT(far - W),
		ACCEPT(far - 1),
		ACCEPT(far + 1),
		REJECT(far),
		ACCEPT(far + 1000),
		ACCEPT(far + 999),
		REJECT(far - 1),
	};

	RUN(jump);
}

/* The ring holds NY_WG_REPLAY_WORDS words of 64 counters; moving forward clears whole words. */
Test(replay, crossing_one_bitmap_word_boundary)
{
	static const struct step boundary[] = {
		ACCEPT(63), ACCEPT(64), ACCEPT(127), ACCEPT(128),
		REJECT(63), REJECT(64), REJECT(127), REJECT(128),
		ACCEPT(65), ACCEPT(126), ACCEPT(62), ACCEPT(0), ACCEPT(129),
		REJECT(65), REJECT(126), REJECT(62), REJECT(0), REJECT(129),
	};

	RUN(boundary);
}

Test(replay, reordering_across_several_word_boundaries)
{
	static const struct step across[] = {
		ACCEPT(200), ACCEPT(130), ACCEPT(191), ACCEPT(192), ACCEPT(129),
		ACCEPT(255), ACCEPT(256), ACCEPT(190), ACCEPT(383), ACCEPT(384),
		ACCEPT(1), ACCEPT(319), ACCEPT(320),
		REJECT(130), REJECT(191), REJECT(192), REJECT(255), REJECT(256), REJECT(384), REJECT(1),
		ACCEPT(321), ACCEPT(2),
	};

	RUN(across);
}

/* Jumps of about one whole ring: words that wrap around must be cleared, and nothing stale may survive. */
Test(replay, jumps_of_a_whole_ring_clear_stale_words)
{
	const uint64_t ring = NY_WG_REPLAY_BITS;
	const struct step wrap[] = {
		ACCEPT(10), ACCEPT(70), ACCEPT(140),
		ACCEPT(ring + 10), /* lands in the same ring slot as 10 */
		REJECT(ring + 10),
		ACCEPT(ring + 70), ACCEPT(ring + 140),
		ACCEPT(2 * ring + 9),
		ACCEPT(2 * ring + 10),
		ACCEPT(2 * ring + 70),
		REJECT(ring + 70), /* too old: more than the window behind */
		ACCEPT(2 * ring + 70 - W),
		REJECT(2 * ring + 70 - W - 1),
		REJECT(2 * ring + 9),
		REJECT(2 * ring + 10),
		ACCEPT(3 * ring + 63),
		ACCEPT(3 * ring + 63 - W),
		REJECT(3 * ring + 62 - W),
	};

	RUN(wrap);
}

Test(replay, rejects_counters_from_reject_after_messages_on)
{
	const struct step limit[] = {
		REJECT(LIMIT),
		REJECT(UINT64_MAX),
		REJECT(UINT64_MAX - 1),
		ACCEPT(LIMIT - 1),
		REJECT(LIMIT - 1),
		REJECT(LIMIT),
		ACCEPT(LIMIT - 2),
		ACCEPT(LIMIT - 1 - W),
		REJECT(LIMIT - 2 - W),
		REJECT(0),
	};

	RUN(limit);
}

Test(replay, rejected_limit_leaves_a_fresh_window_untouched)
{
	static const struct step untouched[] = { REJECT(LIMIT), REJECT(UINT64_MAX), ACCEPT(0), ACCEPT(1) };

	RUN(untouched);
}

/* ---- randomized cross-check ----------------------------------------------------------------------------------- */

#define SEEN_SLOTS (1u << 18) /* > the number of operations, so the open-addressing set never fills */
#define OPERATIONS 100000
#define RECENT 64

/* The reference model: every accepted counter and the greatest of them. */
struct model {
	uint64_t *slots; /* counter + 1; 0 = empty */
	bool any;
	uint64_t greatest;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t slot_of(uint64_t counter)
{
	return (size_t)((counter * UINT64_C(0x9e3779b97f4a7c15)) >> 46) & (SEEN_SLOTS - 1);
}

static bool model_seen(const struct model *m, uint64_t counter)
{
	for (size_t i = slot_of(counter);; i = (i + 1) & (SEEN_SLOTS - 1)) {
		if (m->slots[i] == 0)
			return false;
		if (m->slots[i] == counter + 1)
			return true;
	}
}

static void model_insert(struct model *m, uint64_t counter)
{
	size_t i = slot_of(counter);

	while (m->slots[i] != 0)
		i = (i + 1) & (SEEN_SLOTS - 1);
	m->slots[i] = counter + 1;
}

static bool model_check(struct model *m, uint64_t counter)
{
	if (counter >= LIMIT || model_seen(m, counter))
		return false;
	if (m->any && counter + W < m->greatest)
		return false;
	model_insert(m, counter);
	if (!m->any || counter > m->greatest)
		m->greatest = counter;
	m->any = true;
	return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sub_floor(uint64_t a, uint64_t b, uint64_t floor)
{
	return a < floor + b ? floor : a - b;
}

/* Counters clustered around the model's greatest: small steps forward, rare far jumps, reordering within the
 * window, the window's edge on both sides, and repeats of recent counters. */
static uint64_t pick_counter(uint64_t *rng, uint64_t top, uint64_t base, const uint64_t recent[RECENT])
{
	uint64_t r = xorshift(rng);
	uint64_t pct = r % 1000;
	uint64_t x = (r >> 16);

	if (pct < 300)
		return add_sat(top, 1 + x % 64);
	if (pct < 315)
		return add_sat(top, x % (3 * NY_WG_REPLAY_BITS));
	if (pct < 318)
		return add_sat(top, W * (1 + x % 20));
	if (pct < 520)
		return sub_floor(top, x % (W + 256), base);
	if (pct < 680)
		return sub_floor(add_sat(top, 32), W + x % 64, base);
	if (pct < 850)
		return recent[x % RECENT];
	return sub_floor(top, x % 128, base);
}

struct tally {
	unsigned long advanced, reordered, duplicate, too_old, over_limit;
};

static void cross_check(uint64_t seed, uint64_t base, struct tally *t)
{
	struct ny_wg_replay r;
	struct model m = { .slots = calloc(SEEN_SLOTS, sizeof(uint64_t)) };
	uint64_t recent[RECENT];
	uint64_t rng = seed;

	cr_assert_not_null(m.slots);
	ny_wg_replay_init(&r);
	for (size_t i = 0; i < RECENT; i++)
		recent[i] = base;
	for (unsigned long op = 0; op < OPERATIONS; op++) {
		uint64_t top = m.any ? m.greatest : base;
		uint64_t c = pick_counter(&rng, top, base, recent);
		bool was_seen = model_seen(&m, c);
		bool advances = !m.any || c > m.greatest;
		bool want = model_check(&m, c);
		bool got = ny_wg_replay_check(&r, c);

		cr_assert_eq(got, want, "seed %llu, operation %lu, counter %llu (greatest %llu): expected %s, got %s",
			     (unsigned long long)seed, op, (unsigned long long)c, (unsigned long long)top,
			     want ? "accept" : "reject", got ? "accept" : "reject");
		recent[op % RECENT] = c;
		if (c >= LIMIT)
			t->over_limit++;
		else if (want && advances)
			t->advanced++;
		else if (want)
			t->reordered++;
		else if (was_seen)
			t->duplicate++;
		else
			t->too_old++;
	}
	free(m.slots);
}

Test(replay, matches_a_reference_model_over_random_operations)
{
	struct tally t = { 0 };

	cross_check(UINT64_C(0x6e796c6f6e), 0, &t);
	/* Every branch of the window must have been exercised many times for the comparison to mean something. */
	cr_assert_gt(t.advanced, 10000, "advanced %lu", t.advanced);
	cr_assert_gt(t.reordered, 10000, "reordered %lu", t.reordered);
	cr_assert_gt(t.duplicate, 10000, "duplicate %lu", t.duplicate);
	cr_assert_gt(t.too_old, 5000, "too old %lu", t.too_old);
}

Test(replay, matches_a_reference_model_up_to_reject_after_messages)
{
	struct tally t = { 0 };

	/* Starts low enough that the limit is reached about halfway through. */
	cross_check(UINT64_C(0x5265706c6179), LIMIT - 12000000, &t);
	cr_assert_gt(t.over_limit, 100, "over limit %lu", t.over_limit);
	cr_assert_gt(t.advanced, 1000, "advanced %lu", t.advanced);
	cr_assert_gt(t.reordered, 1000, "reordered %lu", t.reordered);
}
