/* Read-copy-update for read-mostly tables on the packet path (DESIGN.md §2), in the quiescent-state flavour:
 * readers pay nothing per access; each reader thread instead reports once per loop iteration that it holds no
 * reference (ny_rcu_quiescent) and goes offline while it blocks in the kernel. Writers publish a whole new
 * immutable snapshot and free the old one after a grace period.
 *
 * Rules: a thread that reads RCU-published pointers calls ny_rcu_register_thread() first and
 * ny_rcu_unregister_thread() before it exits; it must not keep a dereferenced pointer across ny_rcu_quiescent()
 * or ny_rcu_offline(). ny_rcu_synchronize() must not be called by a registered thread that is online.
 * The Linux implementation wraps liburcu-qsbr (src/base/rcu_urcu.c); other OSes plug in their own.
 */
#ifndef NYLON_RCU_H
#define NYLON_RCU_H

void ny_rcu_register_thread(void);
void ny_rcu_unregister_thread(void);
void ny_rcu_quiescent(void);
void ny_rcu_offline(void);
void ny_rcu_online(void);
/* Waits until every reader has passed a quiescent state since the call began. */
void ny_rcu_synchronize(void);

/* Publication and access of an RCU-protected pointer: a release store pairs with a consume (acquire) load. */
#define ny_rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define ny_rcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)

#endif
