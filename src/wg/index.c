/* The receiver-index table: maps the 32-bit index a peer puts in responses, cookie replies and transport data to
 * our handshake or keypair. Entries are embedded in their owners (no allocation); indices are random so that an
 * observer cannot link sessions. Context: owner thread changes it; lookups also run on RCU readers (the transport
 * path), so chains are changed with release stores and read with acquire loads (struct ny_wg_index_table). */
#include "nylon/wg.h"

static struct ny_wg_index_entry **bucket(const struct ny_wg_device *dev, uint32_t index)
{
	/* Indices are uniformly random, so their low bits spread well. */
	return (struct ny_wg_index_entry **)&dev->index_table.buckets[index % NY_WG_INDEX_BUCKETS];
}

static uint32_t entry_index(const struct ny_wg_index_entry *e)
{
	return __atomic_load_n(&e->index, __ATOMIC_RELAXED);
}

static unsigned entry_kind(const struct ny_wg_index_entry *e)
{
	return __atomic_load_n(&e->kind, __ATOMIC_RELAXED);
}

static bool index_in_use(const struct ny_wg_device *dev, uint32_t index)
{
	for (const struct ny_wg_index_entry *e = *bucket(dev, index); e; e = e->next)
		if (e->index == index)
			return true;
	return false;
}

static void link_entry(struct ny_wg_device *dev, struct ny_wg_index_entry *entry, uint32_t index,
		       struct ny_wg_peer *peer, enum ny_wg_index_kind kind)
{
	struct ny_wg_index_entry **head = bucket(dev, index);

	__atomic_store_n(&entry->index, index, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->kind, (unsigned)kind, __ATOMIC_RELAXED);
	entry->peer = peer;
	ny_rcu_assign_pointer(entry->next, *head);
	/* The release store publishes the entry and, through it, whatever its owner wrote before (a keypair's keys). */
	ny_rcu_assign_pointer(*head, entry);
	entry->hashed = true;
}

void ny_wg_index_insert(struct ny_wg_device *dev, struct ny_wg_index_entry *entry, struct ny_wg_peer *peer,
			enum ny_wg_index_kind kind)
{
	uint32_t index;

	if (entry->hashed)
		ny_wg_index_remove(dev, entry);
	do
		dev->random(dev->source_ctx, &index, sizeof(index));
	while (index_in_use(dev, index));

	link_entry(dev, entry, index, peer, kind);
}

/* Moves `old`'s index to `replacement` (a keypair taking over its handshake's index, as the response names it). */
void ny_wg_index_replace(struct ny_wg_device *dev, struct ny_wg_index_entry *old,
			 struct ny_wg_index_entry *replacement, enum ny_wg_index_kind kind)
{
	uint32_t index = old->index;
	struct ny_wg_peer *peer = old->peer;

	ny_wg_index_remove(dev, old);
	link_entry(dev, replacement, index, peer, kind);
}

void ny_wg_index_remove(struct ny_wg_device *dev, struct ny_wg_index_entry *entry)
{
	if (!entry->hashed)
		return;
	for (struct ny_wg_index_entry **p = bucket(dev, entry->index); *p; p = &(*p)->next) {
		if (*p == entry) {
			/* entry->next stays: a reader standing on the entry walks on to the rest of the chain. */
			ny_rcu_assign_pointer(*p, entry->next);
			break;
		}
	}
	entry->hashed = false;
}

struct ny_wg_index_entry *ny_wg_index_lookup(const struct ny_wg_device *dev, uint32_t index,
					     unsigned kind_mask)
{
	for (struct ny_wg_index_entry *e = ny_rcu_dereference(*bucket(dev, index)); e; e = ny_rcu_dereference(e->next))
		if (entry_index(e) == index && (entry_kind(e) & kind_mask))
			return e;
	return NULL;
}
