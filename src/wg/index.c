/* The receiver-index table: maps the 32-bit index a peer puts in responses, cookie replies and transport data to
 * our handshake or keypair. Entries are embedded in their owners (no allocation); indices are random so that an
 * observer cannot link sessions. Context: owner thread. */
#include "nylon/wg.h"

static struct ny_wg_index_entry **bucket(const struct ny_wg_device *dev, uint32_t index)
{
	/* Indices are uniformly random, so their low bits spread well. */
	return (struct ny_wg_index_entry **)&dev->index_table.buckets[index % NY_WG_INDEX_BUCKETS];
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

	entry->index = index;
	entry->kind = kind;
	entry->peer = peer;
	entry->next = *head;
	*head = entry;
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
			*p = entry->next;
			break;
		}
	}
	entry->next = NULL;
	entry->hashed = false;
}

struct ny_wg_index_entry *ny_wg_index_lookup(const struct ny_wg_device *dev, uint32_t index,
					     unsigned kind_mask)
{
	for (struct ny_wg_index_entry *e = *bucket(dev, index); e; e = e->next)
		if (e->index == index && (e->kind & kind_mask))
			return e;
	return NULL;
}
