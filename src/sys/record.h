/* The record of what a struct ny_sys changed: the addresses and routes it added, oldest first, so undo can walk it
 * newest first. Pure bookkeeping with no OS calls, so it is unit-tested without privileges.
 *
 * Context: the owning handle's thread (main thread); not thread-safe.
 */
#ifndef NYLON_SYS_RECORD_H
#define NYLON_SYS_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "nylon/conf.h"

enum ny_sys_kind { NY_SYS_ADDR, NY_SYS_ROUTE };

/* An address is kept as its /32 or /128 cidr. Bytes beyond the family's length are zero (see ny_sys_cidr_norm). */
struct ny_sys_entry {
	enum ny_sys_kind kind;
	unsigned ifindex;
	struct ny_conf_cidr cidr;
};

struct ny_sys_record {
	struct ny_sys_entry *v;
	size_t n;
	size_t cap;
};

/* 4 for AF_INET, 16 for AF_INET6, 0 for anything else. */
size_t ny_sys_addr_len(int family);

/* 0 when c is a usable destination: a known family, bits within it, no host bits set; else -EINVAL. */
int ny_sys_cidr_check(const struct ny_conf_cidr *c);

/* A copy of c with the bytes past the family's length cleared, so equal prefixes compare equal byte for byte. */
struct ny_conf_cidr ny_sys_cidr_norm(const struct ny_conf_cidr *c);

/* The /32 or /128 of a (a's family must be valid). */
struct ny_conf_cidr ny_sys_cidr_host(const struct ny_conf_addr *a);

bool ny_sys_cidr_same(const struct ny_conf_cidr *a, const struct ny_conf_cidr *b);

void ny_sys_record_init(struct ny_sys_record *r);
void ny_sys_record_free(struct ny_sys_record *r);

/* Makes room for one more entry, so the entry for a change the kernel has already made can always be recorded:
 * 0 or -ENOMEM. Call before asking the kernel. */
int ny_sys_record_reserve(struct ny_sys_record *r);

/* Appends an entry unless an equal one is present (it keeps its place). Needs a prior ny_sys_record_reserve():
 * then it cannot fail. */
void ny_sys_record_add(struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex, const struct ny_conf_cidr *c);

/* true and the index in *at when an equal entry is recorded. */
bool ny_sys_record_find(const struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex,
			const struct ny_conf_cidr *c, size_t *at);

/* Removes entry `at`, keeping the others in order. */
void ny_sys_record_remove_at(struct ny_sys_record *r, size_t at);

/* Removes the equal entry if there is one; true when there was. */
bool ny_sys_record_forget(struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex,
			  const struct ny_conf_cidr *c);

#endif
