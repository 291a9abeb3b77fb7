/* OS networking: the node's addresses, its link state and its kernel routes (reference §4.4).
 *
 * A struct ny_sys is one handle on the OS's network configuration (on Linux, one rtnetlink socket) plus the record
 * of what this handle changed, so that shutdown removes exactly what nylon added and nothing an administrator put
 * there. The record holds addresses and routes; link state (up, MTU) is not recorded: the interface is ours (the
 * TUN layer creates it, and it disappears when its last queue is closed).
 *
 * Ownership rules, the same for addresses and routes:
 *   - an add that succeeds is recorded as ours;
 *   - an add of something that already exists (EEXIST) returns 0, because the OS is in the wanted state, but is
 *     NOT recorded: it was there before us, so no later del, sync or undo of ours takes it away;
 *   - a del (or sync, or undo) that finds the thing already gone (interface removed, address or route flushed by
 *     the kernel) forgets it and is not an error for undo.
 *
 * Routes are device routes on the main table without a gateway (nylon #48/#49 removed `via`). On Linux they carry
 * the protocol number NY_SYS_ROUTE_PROTO, so `ip route show proto 78` lists nylon's routes, and deletes ask the
 * kernel for that protocol only: a route someone else installed for the same prefix never matches our delete.
 *
 * Errors are returned as 0 or -errno (the kernel's answer, or -EINVAL for bad arguments, checked before anything is
 * sent); nothing here prints or logs, the caller does.
 *
 * Context: main thread. A handle is not thread-safe: one thread at a time, and every call blocks until the kernel
 * has answered (at most NY_SYS_REPLY_TIMEOUT_MS).
 */
#ifndef NYLON_SYS_H
#define NYLON_SYS_H

#include <stddef.h>

struct ny_conf_addr;
struct ny_conf_cidr;
struct ny_sys;

/* rtm_protocol of our routes. Linux does not interpret values above RTPROT_STATIC (4); 78 ('N') is unassigned in
 * iproute2's rt_protos, so our routes are told apart from boot (3, `ip route add`), static, kernel and routing
 * daemons. An administrator can name it: `echo '78 nylon' > /etc/iproute2/rt_protos.d/nylon.conf`. */
#define NY_SYS_ROUTE_PROTO 78

/* A kernel reply should come back before sendmsg() even returns (rtnetlink handles requests synchronously); the
 * timeout only bounds the wait if one is ever lost, and is then reported as -ETIMEDOUT. */
#define NY_SYS_REPLY_TIMEOUT_MS 5000

/* Opens a handle with an empty record. 0 or -errno; *out is NULL on error. Needs no privileges: only changes do. */
int ny_sys_open(struct ny_sys **out);

/* Closes the socket and frees the record. Does NOT undo anything: call ny_sys_undo_all() first to clean up, or
 * skip it deliberately to leave the configuration in place. NULL is allowed. */
void ny_sys_close(struct ny_sys *s);

/* The index of interface `ifname`: 0, -ENODEV when there is none, -EINVAL for an empty or too long name. */
int ny_sys_link_index(struct ny_sys *s, const char *ifname, unsigned *ifindex);

/* Sets the link administratively up. Not recorded (see above). */
int ny_sys_link_set_up(struct ny_sys *s, unsigned ifindex);

/* Sets the link's MTU. Not recorded. -EINVAL from the kernel when the MTU is out of the device's range. */
int ny_sys_link_set_mtu(struct ny_sys *s, unsigned ifindex, unsigned mtu);

/* Adds `addr` as a /32 (IPv4) or /128 (IPv6) host address on ifindex, recorded as ours unless it already existed.
 * IPv6 addresses skip duplicate address detection (IFA_F_NODAD): the address is assigned by the mesh's central
 * config, so DAD on a point-to-point tunnel proves nothing, and until DAD ends (about 1 s, longer when the link is
 * still down) the address stays "tentative": the kernel will not use it as a source nor bind() to it. */
int ny_sys_addr_add(struct ny_sys *s, unsigned ifindex, const struct ny_conf_addr *addr);

/* Removes the /32 or /128 address from ifindex and forgets it. -EADDRNOTAVAIL when it is not there (it is forgotten
 * all the same). Linux flushes every IPv4 route of an interface when its last IPv4 address goes; the next
 * ny_sys_routes_sync() puts ours back. */
int ny_sys_addr_del(struct ny_sys *s, unsigned ifindex, const struct ny_conf_addr *addr);

/* Adds the device route `dst dev ifindex` (main table, no gateway, protocol NY_SYS_ROUTE_PROTO), recorded as ours
 * unless a route for dst with the same metric already existed. dst must be masked (no host bits): -EINVAL. */
int ny_sys_route_add(struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *dst);

/* Removes our route `dst dev ifindex` and forgets it. Only a route with protocol NY_SYS_ROUTE_PROTO matches, so
 * this never removes a route we did not add; -ESRCH when there is none. */
int ny_sys_route_del(struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *dst);

/* Brings the OS to exactly this route set on ifindex (reference §4.4): first adds every wanted route (new routes
 * before old ones go, so traffic never loses a covering route), then removes the routes we added on ifindex that
 * are no longer wanted; routes we did not add are never removed. Every wanted route is re-added on each call, not
 * only those missing from the record, so routes the kernel flushed behind our back (link down, last IPv4 address
 * removed) come back at the next sync. Keeps going after an error and returns the first one, or 0. Duplicates in
 * `want` are harmless; want may be NULL when n is 0. */
int ny_sys_routes_sync(struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *want, size_t n);

/* Removes every route and address this handle added, newest first (so routes go before the addresses they may
 * depend on). Things already gone (-ENODEV: interface removed; -ESRCH, -EADDRNOTAVAIL: flushed) are forgotten and
 * are not errors. Other errors keep the entry recorded, so a later call can retry; returns the first, or 0. */
int ny_sys_undo_all(struct ny_sys *s);

/* How many addresses and routes the record holds (for status output and tests). */
size_t ny_sys_recorded_count(const struct ny_sys *s);

#endif
