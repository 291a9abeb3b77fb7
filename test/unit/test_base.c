/* Small shared services of include/nylon/base.h: even chunking of batches, thread names. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "nylon/base.h"

Test(base, even_chunks_are_as_few_as_possible_and_the_last_is_not_much_shorter)
{
	cr_assert_eq(ny_even_chunk(65, 64), 33);
	cr_assert_eq(ny_even_chunk(64, 64), 64);
	cr_assert_eq(ny_even_chunk(129, 64), 43);
	cr_assert_eq(ny_even_chunk(1, 64), 1);
	cr_assert_eq(ny_even_chunk(0, 64), 64, "nothing to cut: any size, never 0 (a loop step)");
	for (size_t max = 1; max <= 70; max++) {
		for (size_t n = 1; n <= 300; n++) {
			size_t per = ny_even_chunk(n, max), chunks = (n + per - 1) / per, last = n - (chunks - 1) * per;

			cr_assert(per >= 1 && per <= max, "n %zu max %zu: chunk %zu", n, max, per);
			cr_assert_eq(chunks, (n + max - 1) / max, "n %zu max %zu: %zu chunks, not the fewest", n, max, chunks);
			cr_assert(last >= 1 && per - last < chunks, "n %zu max %zu: chunks of %zu and a last of %zu", n, max,
				  per, last);
		}
	}
}

static void *named(void *arg)
{
	char *out = arg;

	ny_thread_name("ny-shard%u-and-more-than-fits", 12u);
	pthread_getname_np(pthread_self(), out, 16);
	return NULL;
}

Test(base, thread_names_are_set_and_cut_to_fifteen_bytes)
{
	char name[16] = "";
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, named, name), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_str_eq(name, "ny-shard12-and-");
}
