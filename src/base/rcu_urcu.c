/* ny_rcu on liburcu's QSBR flavour (Debian liburcu-dev). */
#include <urcu-qsbr.h>

#include "nylon/rcu.h"

void ny_rcu_register_thread(void)
{
	rcu_register_thread();
}

void ny_rcu_unregister_thread(void)
{
	rcu_unregister_thread();
}

void ny_rcu_quiescent(void)
{
	rcu_quiescent_state();
}

void ny_rcu_offline(void)
{
	rcu_thread_offline();
}

void ny_rcu_online(void)
{
	rcu_thread_online();
}

void ny_rcu_synchronize(void)
{
	synchronize_rcu();
}
