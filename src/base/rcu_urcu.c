/* ny_rcu on liburcu's QSBR flavour (Debian liburcu-dev). */
#include <urcu-qsbr.h>

#include "nylon/rcu.h"

/* ThreadSanitizer cannot see the ordering liburcu builds from its uninstrumented counters and fences, so it would
 * report every free after a grace period as a race with the readers before it. Tell it what RCU guarantees: a
 * reader's accesses before a quiescent state (or going offline) happen before the end of any grace period that
 * waited for that state. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char grace_period;
#define reader_done() __tsan_release(&grace_period)
#define grace_period_over() __tsan_acquire(&grace_period)
#else
#define reader_done() ((void)0)
#define grace_period_over() ((void)0)
#endif

void ny_rcu_register_thread(void)
{
	rcu_register_thread();
}

void ny_rcu_unregister_thread(void)
{
	reader_done();
	rcu_unregister_thread();
}

void ny_rcu_quiescent(void)
{
	reader_done();
	rcu_quiescent_state();
}

void ny_rcu_offline(void)
{
	reader_done();
	rcu_thread_offline();
}

void ny_rcu_online(void)
{
	rcu_thread_online();
}

void ny_rcu_synchronize(void)
{
	synchronize_rcu();
	grace_period_over();
}
