/* The ping check (reference §5.2): ICMP / ICMPv6 echo over a raw socket, one round of up to max_failures
 * attempts. Raw sockets see every ICMP message the host receives, so a reply counts only if it comes from the
 * target and carries our identifier and the attempt's sequence number. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/health.h"
#include "nylon/offload.h"

#define ICMP4_ECHO_REQUEST 8
#define ICMP4_ECHO_REPLY 0
#define ICMP6_ECHO_REQ 128
#define ICMP6_ECHO_REP 129

static const uint8_t payload_magic[NY_HEALTH_ICMP_PAYLOAD] = "nylon-health-chk"; /* no NUL: 16 bytes */

void ny_health_icmp_build(uint8_t buf[NY_HEALTH_ICMP_LEN], int family, uint16_t id, uint16_t seq)
{
	uint16_t sum;

	buf[0] = family == AF_INET6 ? ICMP6_ECHO_REQ : ICMP4_ECHO_REQUEST;
	buf[1] = 0; /* code */
	buf[2] = buf[3] = 0;
	buf[4] = (uint8_t)(id >> 8);
	buf[5] = (uint8_t)id;
	buf[6] = (uint8_t)(seq >> 8);
	buf[7] = (uint8_t)seq;
	memcpy(buf + 8, payload_magic, NY_HEALTH_ICMP_PAYLOAD);
	if (family == AF_INET6)
		return;
	sum = ny_csum_finish(ny_csum_partial(buf, NY_HEALTH_ICMP_LEN, 0));
	buf[2] = (uint8_t)(sum >> 8);
	buf[3] = (uint8_t)sum;
}

bool ny_health_icmp_match(const uint8_t *buf, size_t len, int family, uint16_t id, uint16_t seq)
{
	uint8_t want = family == AF_INET6 ? ICMP6_ECHO_REP : ICMP4_ECHO_REPLY;

	if (family == AF_INET) {
		size_t ihl;

		if (len < 20 || buf[0] >> 4 != 4 || buf[9] != IPPROTO_ICMP)
			return false;
		ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (ihl < 20 || len < ihl)
			return false;
		buf += ihl;
		len -= ihl;
	}
	if (len < 8 || buf[0] != want || buf[1] != 0)
		return false;
	/* A valid checksum sums to 0 over the whole message, the checksum field included. */
	if (family == AF_INET && ny_csum_finish(ny_csum_partial(buf, len, 0)) != 0)
		return false;
	return ((uint16_t)(buf[4] << 8 | buf[5])) == id && ((uint16_t)(buf[6] << 8 | buf[7])) == seq;
}

/* The first address of family on interface ifname, as a socket address to bind to. */
static int source_of(const char *ifname, int family, struct sockaddr_storage *out, socklen_t *out_len)
{
	struct ifaddrs *all, *ifa;
	int ret = -EADDRNOTAVAIL;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (ifa = all; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family || strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		*out_len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		memcpy(out, ifa->ifa_addr, *out_len);
		ret = 0;
		break;
	}
	freeifaddrs(all);
	return ret;
}

static int open_socket(int family, const char *bind_if)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, family == AF_INET6 ? IPPROTO_ICMPV6
											    : IPPROTO_ICMP);
	int ret;

	if (fd < 0)
		return -errno;
	/* Only echo replies reach us: the kernel filters the rest of the host's ICMP traffic. */
	if (family == AF_INET) {
		struct icmp_filter f = { .data = ~(1u << ICMP4_ECHO_REPLY) };

		ret = setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
	} else {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REP, &f);
		ret = setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
	if (ret < 0)
		goto fail_errno;
	if (bind_if) {
		struct sockaddr_storage src;
		socklen_t src_len = 0;

		if ((ret = source_of(bind_if, family, &src, &src_len)) < 0)
			goto fail;
		if (bind(fd, (struct sockaddr *)&src, src_len) < 0)
			goto fail_errno;
	}
	return fd;
fail_errno:
	ret = -errno;
fail:
	close(fd);
	return ret;
}

static bool from_target(const struct sockaddr_storage *from, const struct ny_conf_addr *dst)
{
	if (dst->family == AF_INET)
		return from->ss_family == AF_INET &&
		       memcmp(&((const struct sockaddr_in *)from)->sin_addr, dst->bytes, 4) == 0;
	return from->ss_family == AF_INET6 && memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr, dst->bytes, 16) == 0;
}

/* Waits until deadline for the reply to (id, seq). 0, -ETIMEDOUT, -ECANCELED, or a socket error. */
static int await_reply(int fd, const struct ny_conf_addr *dst, uint16_t id, uint16_t seq, uint64_t deadline,
		       int stop_fd)
{
	uint8_t buf[1500];

	for (;;) {
		uint64_t now = ny_clock_mono_ns();
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(p, stop_fd >= 0 ? 2 : 1, (int)((deadline - now + 999999) / 1000000)) < 0 && errno != EINTR)
			return -errno;
		if (stop_fd >= 0 && (p[1].revents & POLLIN))
			return -ECANCELED;
		while ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len)) >= 0) {
			if (from_target(&from, dst) && ny_health_icmp_match(buf, (size_t)n, dst->family, id, seq))
				return 0;
			from_len = sizeof(from);
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
	}
}

int ny_health_ping(const struct ny_conf_addr *dst, const char *bind_if, uint32_t attempts, int64_t timeout_ns,
		   uint16_t id, uint16_t *seq, int stop_fd, uint64_t *rtt_ns)
{
	struct sockaddr_storage to = { 0 };
	socklen_t to_len;
	int fd = open_socket(dst->family, bind_if), ret = -ETIMEDOUT;

	if (fd < 0)
		return fd;
	if (dst->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&to;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, dst->bytes, 4);
		to_len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&to;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, dst->bytes, 16);
		to_len = sizeof(*s);
	}
	for (uint32_t a = 0; a < attempts; a++) {
		uint8_t pkt[NY_HEALTH_ICMP_LEN];
		uint16_t s = (*seq)++;
		struct pollfd p = { .fd = stop_fd, .events = POLLIN };
		uint64_t sent;

		ny_health_icmp_build(pkt, dst->family, id, s);
		sent = ny_clock_mono_ns();
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, to_len) < 0) {
			/* Unreachable now (no route, address gone): the attempt failed at once. The last one ends the
			 * round now; an earlier one waits its turn, in case the route comes back. */
			ret = -errno;
			if (a + 1 == attempts)
				break;
			if (stop_fd >= 0 && poll(&p, 1, (int)(timeout_ns / 1000000)) > 0) {
				ret = -ECANCELED;
				break;
			}
			continue;
		}
		ret = await_reply(fd, dst, id, s, sent + (uint64_t)timeout_ns, stop_fd);
		if (ret == 0) {
			*rtt_ns = ny_clock_mono_ns() - sent;
			break;
		}
		if (ret != -ETIMEDOUT)
			break;
	}
	close(fd);
	return ret;
}
