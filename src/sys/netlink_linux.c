/* nylon/sys.h on Linux: addresses, link state and routes over one rtnetlink socket (libmnl).
 *
 * Every request carries NLM_F_ACK and its own sequence number, and we read until the kernel's NLMSG_ERROR for
 * that number arrives: error 0 is the ACK, anything else is the -errno we return. Replies with another sequence
 * number or port id are skipped (they could only be late answers to a request abandoned on an error). Adds use
 * NLM_F_CREATE | NLM_F_EXCL, so the kernel tells us with EEXIST when a thing was there before us.
 */
#include "nylon/sys.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "nylon/conf.h"
#include "sys/record.h"

/* Large enough for any reply we ask for (an RTM_NEWLINK without stats is about 1-2 KiB) and the size libmnl
 * recommends for dumps; a longer reply would fail with -ENOSPC (MSG_TRUNC) rather than be misread. */
#define NY_SYS_BUF_SIZE 32768

struct ny_sys {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	struct ny_sys_record rec;
	/* Requests are built here and replies read into it: a request is no longer needed once sent. */
	_Alignas(struct nlmsghdr) uint8_t buf[NY_SYS_BUF_SIZE];
};

typedef int (*reply_fn)(const struct nlmsghdr *nlh, void *data);

/* Things that are already gone: the interface (ENODEV), the route (ESRCH) or the address (EADDRNOTAVAIL). */
static bool gone(int err)
{
	return err == -ENODEV || err == -ESRCH || err == -EADDRNOTAVAIL;
}

static void keep_first(int *first, int err)
{
	if (*first == 0)
		*first = err;
}

static int socket_setup(struct ny_sys *s)
{
	struct timeval tv = { .tv_sec = NY_SYS_REPLY_TIMEOUT_MS / 1000,
			      .tv_usec = (NY_SYS_REPLY_TIMEOUT_MS % 1000) * 1000 };
	int one = 1;

	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	s->portid = mnl_socket_get_portid(s->nl);
	if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	/* Error replies without a copy of our request (Linux >= 4.3); older kernels just send the longer form. */
	(void)mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

int ny_sys_open(struct ny_sys **out)
{
	struct ny_sys *s;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ny_sys_record_init(&s->rec);
	s->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s->nl) {
		err = -errno;
		free(s);
		return err;
	}
	err = socket_setup(s);
	if (err) {
		ny_sys_close(s);
		return err;
	}
	*out = s;
	return 0;
}

void ny_sys_close(struct ny_sys *s)
{
	if (!s)
		return;
	mnl_socket_close(s->nl);
	ny_sys_record_free(&s->rec);
	free(s);
}

size_t ny_sys_recorded_count(const struct ny_sys *s)
{
	return s ? s->rec.n : 0;
}

/* ---- one request, one answer ---- */

static struct nlmsghdr *msg_start(struct ny_sys *s, uint16_t type, uint16_t flags, void **extra, size_t extra_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(s->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	*extra = mnl_nlmsg_put_extra_header(nlh, extra_len);
	return nlh;
}

/* Walks one datagram of replies. Sets *done when our ACK or error arrived; returns its -errno, or the first
 * non-zero result of fn. */
static int replies_walk(struct ny_sys *s, int len, uint32_t seq, reply_fn fn, void *data, bool *done)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)s->buf;
	int rc = 0;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != s->portid)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			*done = true;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				return -EBADMSG;
			return rc ? rc : e->error;
		}
		if (fn && rc == 0 && nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			rc = fn(nlh, data);
	}
	return rc;
}

static int request(struct ny_sys *s, struct nlmsghdr *nlh, reply_fn fn, void *data)
{
	uint32_t seq = ++s->seq;
	bool done = false;
	int rc = 0;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(s->nl, s->buf, sizeof(s->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		rc = replies_walk(s, (int)n, seq, fn, data, &done);
	}
	return rc;
}

/* ---- links ---- */

static int link_index_reply(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EBADMSG;
	*(unsigned *)data = (unsigned)ifi->ifi_index;
	return 0;
}

int ny_sys_link_index(struct ny_sys *s, const char *ifname, unsigned *ifindex)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned found = 0;
	int err;

	if (!s || !ifname || !ifindex || !ifname[0] || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	nlh = msg_start(s, RTM_GETLINK, 0, (void **)&ifi, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	/* Only the index is wanted: spare the kernel the statistics (a kernel that does not know the bit ignores it). */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = request(s, nlh, link_index_reply, &found);
	if (err)
		return err;
	if (found == 0)
		return -EBADMSG;
	*ifindex = found;
	return 0;
}

static struct nlmsghdr *link_msg(struct ny_sys *s, unsigned ifindex, unsigned change, unsigned flags)
{
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = msg_start(s, RTM_NEWLINK, 0, (void **)&ifi, sizeof(*ifi));

	/* RTM_NEWLINK without NLM_F_CREATE on an existing index changes that link (do_setlink); -ENODEV if none. */
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_change = change;
	ifi->ifi_flags = flags;
	return nlh;
}

int ny_sys_link_set_up(struct ny_sys *s, unsigned ifindex)
{
	if (!s || ifindex == 0)
		return -EINVAL;
	return request(s, link_msg(s, ifindex, IFF_UP, IFF_UP), NULL, NULL);
}

int ny_sys_link_set_mtu(struct ny_sys *s, unsigned ifindex, unsigned mtu)
{
	struct nlmsghdr *nlh;

	if (!s || ifindex == 0 || mtu == 0)
		return -EINVAL;
	nlh = link_msg(s, ifindex, 0, 0);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return request(s, nlh, NULL, NULL);
}

/* ---- addresses ---- */

static int addr_request(struct ny_sys *s, uint16_t type, uint16_t flags, unsigned ifindex, const struct ny_conf_addr *a)
{
	size_t len = ny_sys_addr_len(a->family);
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = msg_start(s, type, flags, (void **)&ifa, sizeof(*ifa));

	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = (uint8_t)(len * 8);
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	if (a->family == AF_INET6 && type == RTM_NEWADDR) {
		/* Why no DAD: see ny_sys_addr_add() in sys.h. The u8 field is enough for NODAD; IFA_FLAGS (Linux
		 * >= 3.14) carries the same bit for kernels that read the 32-bit form first. */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	/* Local and peer address equal: a plain host address, not a point-to-point peer. */
	mnl_attr_put(nlh, IFA_LOCAL, len, a->bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, len, a->bytes);
	return request(s, nlh, NULL, NULL);
}

static int addr_args(const struct ny_sys *s, unsigned ifindex, const struct ny_conf_addr *a)
{
	if (!s || ifindex == 0 || !a || ny_sys_addr_len(a->family) == 0)
		return -EINVAL;
	return 0;
}

int ny_sys_addr_add(struct ny_sys *s, unsigned ifindex, const struct ny_conf_addr *addr)
{
	struct ny_conf_cidr host;
	int err = addr_args(s, ifindex, addr);

	if (err == 0)
		err = ny_sys_record_reserve(&s->rec);
	if (err)
		return err;
	err = addr_request(s, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr);
	if (err == -EEXIST)
		return 0; /* someone else's: in place, but not ours to remove */
	if (err)
		return err;
	host = ny_sys_cidr_host(addr);
	ny_sys_record_add(&s->rec, NY_SYS_ADDR, ifindex, &host);
	return 0;
}

int ny_sys_addr_del(struct ny_sys *s, unsigned ifindex, const struct ny_conf_addr *addr)
{
	struct ny_conf_cidr host;
	int err = addr_args(s, ifindex, addr);

	if (err)
		return err;
	err = addr_request(s, RTM_DELADDR, 0, ifindex, addr);
	if (err == 0 || gone(err)) {
		host = ny_sys_cidr_host(addr);
		ny_sys_record_forget(&s->rec, NY_SYS_ADDR, ifindex, &host);
	}
	return err;
}

/* ---- routes ---- */

static int route_request(struct ny_sys *s, uint16_t type, uint16_t flags, unsigned ifindex,
			 const struct ny_conf_cidr *dst)
{
	size_t len = ny_sys_addr_len(dst->addr.family);
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = msg_start(s, type, flags, (void **)&rtm, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)dst->addr.family;
	rtm->rtm_dst_len = dst->bits;
	rtm->rtm_table = RT_TABLE_MAIN;
	/* On delete, a non-zero protocol must match too, in fib_table_delete (IPv4) and ip6_route_del (IPv6):
	 * test/netns/sys_netlink.sh checks both on the running kernel (a `proto boot` route survives our delete). */
	rtm->rtm_protocol = NY_SYS_ROUTE_PROTO;
	rtm->rtm_type = RTN_UNICAST;
	/* A device route without gateway is link-scoped for IPv4, as `ip route add P dev X` makes it (IPv6 has no
	 * route scopes). On delete, RT_SCOPE_NOWHERE matches any scope. */
	if (type == RTM_DELROUTE)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	else
		rtm->rtm_scope = dst->addr.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, RTA_DST, len, dst->addr.bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return request(s, nlh, NULL, NULL);
}

static int route_args(const struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *dst)
{
	if (!s || ifindex == 0 || !dst)
		return -EINVAL;
	return ny_sys_cidr_check(dst);
}

int ny_sys_route_add(struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *dst)
{
	int err = route_args(s, ifindex, dst);

	if (err == 0)
		err = ny_sys_record_reserve(&s->rec);
	if (err)
		return err;
	/* No metric is set: the kernel's default (0 for IPv4, 1024 for IPv6) is what `ip route add` gives. EEXIST
	 * means a route for dst with that metric is already there, whoever owns it: ours stays recorded (a sync
	 * re-asserting it), another's stays unrecorded. */
	err = route_request(s, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst);
	if (err == -EEXIST)
		return 0;
	if (err)
		return err;
	ny_sys_record_add(&s->rec, NY_SYS_ROUTE, ifindex, dst);
	return 0;
}

int ny_sys_route_del(struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *dst)
{
	int err = route_args(s, ifindex, dst);

	if (err)
		return err;
	err = route_request(s, RTM_DELROUTE, 0, ifindex, dst);
	if (err == 0 || gone(err))
		ny_sys_record_forget(&s->rec, NY_SYS_ROUTE, ifindex, dst);
	return err;
}

static bool wanted(const struct ny_conf_cidr *c, const struct ny_conf_cidr *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ny_sys_cidr_same(c, &want[i]))
			return true;
	}
	return false;
}

int ny_sys_routes_sync(struct ny_sys *s, unsigned ifindex, const struct ny_conf_cidr *want, size_t n)
{
	int first = 0;
	size_t i;

	if (!s || ifindex == 0 || (n && !want))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int err = ny_sys_route_add(s, ifindex, &want[i]);

		if (err)
			keep_first(&first, err);
	}
	/* Backwards: a delete removes entry i, shifting only entries already visited. */
	for (i = s->rec.n; i-- > 0;) {
		struct ny_sys_entry e = s->rec.v[i];
		int err;

		if (e.kind != NY_SYS_ROUTE || e.ifindex != ifindex || wanted(&e.cidr, want, n))
			continue;
		err = ny_sys_route_del(s, ifindex, &e.cidr);
		if (err && !gone(err))
			keep_first(&first, err);
	}
	return first;
}

int ny_sys_undo_all(struct ny_sys *s)
{
	int first = 0;
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = s->rec.n; i-- > 0;) {
		struct ny_sys_entry e = s->rec.v[i];
		int err;

		if (e.kind == NY_SYS_ADDR)
			err = addr_request(s, RTM_DELADDR, 0, e.ifindex, &e.cidr.addr);
		else
			err = route_request(s, RTM_DELROUTE, 0, e.ifindex, &e.cidr);
		if (err == 0 || gone(err))
			ny_sys_record_remove_at(&s->rec, i);
		else
			keep_first(&first, err);
	}
	return first;
}
