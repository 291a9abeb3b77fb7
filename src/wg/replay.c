/* Sliding replay window over transport counters: a ring of 64-bit words, as RFC 6479 describes, so that moving
 * the window forward clears whole words instead of shifting bits. The newest NY_WG_REPLAY_WINDOW counters are
 * tracked; reordering inside the window is accepted, a duplicate or an older counter is not. */
#include "nylon/wg.h"

#include <string.h>

void ny_wg_replay_init(struct ny_wg_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool ny_wg_replay_check(struct ny_wg_replay *r, uint64_t counter)
{
	uint64_t seq, word, bit;

	if (counter >= NY_WG_REJECT_AFTER_MESSAGES)
		return false;
	/* Work with counter + 1 so that `greatest == 0` can mean "nothing received yet". */
	seq = counter + 1;
	if (seq + NY_WG_REPLAY_WINDOW < r->greatest)
		return false;
	word = seq / 64;
	if (seq > r->greatest) {
		uint64_t cur = r->greatest / 64;
		uint64_t gap = word - cur;

		if (gap > NY_WG_REPLAY_WORDS)
			gap = NY_WG_REPLAY_WORDS;
		for (uint64_t i = 1; i <= gap; i++)
			r->bitmap[(cur + i) % NY_WG_REPLAY_WORDS] = 0;
		r->greatest = seq;
	}
	bit = UINT64_C(1) << (seq % 64);
	word %= NY_WG_REPLAY_WORDS;
	if (r->bitmap[word] & bit)
		return false;
	r->bitmap[word] |= bit;
	return true;
}
