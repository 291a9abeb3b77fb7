/* The UDP side of a shard on Linux: one dual-stack socket per shard on the shared port (SO_REUSEPORT spreads
 * flows over them), UDP GRO on receive (Linux 5.0) and GSO on send (Linux 4.18) where the kernel has them. */
#include "nylon/io.h"

#include "io/backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static const uint8_t V4_MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

size_t ny_io_addr_to_sockaddr(const struct ny_io_addr *a, void *ss, size_t ss_len)
{
	struct sockaddr_in6 *s6 = ss;

	if (ss_len < sizeof(*s6))
		return 0;
	memset(s6, 0, sizeof(*s6));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(a->port);
	if (a->family == AF_INET) {
		memcpy(s6->sin6_addr.s6_addr, V4_MAPPED, sizeof(V4_MAPPED));
		memcpy(s6->sin6_addr.s6_addr + 12, a->ip, 4);
	} else {
		memcpy(s6->sin6_addr.s6_addr, a->ip, 16);
	}
	return sizeof(*s6);
}

void ny_io_addr_from_sockaddr(struct ny_io_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		a->family = AF_INET;
		a->port = ntohs(s4->sin_port);
		memcpy(a->ip, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		a->port = ntohs(s6->sin6_port);
		if (memcmp(s6->sin6_addr.s6_addr, V4_MAPPED, sizeof(V4_MAPPED)) == 0) {
			a->family = AF_INET;
			memcpy(a->ip, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->ip, s6->sin6_addr.s6_addr, 16);
		}
	}
}

void ny_io_addr_format(const struct ny_io_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip));
	snprintf(buf, len, a->family == AF_INET ? "%s:%u" : "[%s]:%u", ip, a->port);
}

/* SO_REUSEPORT would let a second nylon join our port silently and take half the flows: first check that no
 * one holds the port, with a socket that does not share. */
static int port_is_free(uint16_t port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int off = 0, ret = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&s6, sizeof(s6)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int ny_io_udp_open(uint16_t port, int *fd_out, struct ny_io_features *f)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
	int one = 1, off = 0, buf = 8 << 20, seg = 0, fd, ret;
	socklen_t seg_len = sizeof(seg);

	if (f->udp_probe_port_free && (ret = port_is_free(port)) < 0)
		return ret;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Large buffers absorb bursts between two loop iterations; FORCE needs CAP_NET_ADMIN, which we have. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&s6, sizeof(s6)) < 0) {
		ret = -errno;
		goto fail;
	}
	f->udp_gro = setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	f->udp_gso = getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, &seg_len) == 0;
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

/* UDP_SEGMENT / UDP_GRO control messages, shared by the sendmsg-based backends. */
size_t ny_io_udp_gso_cmsg(void *control, size_t control_len, uint16_t gso_size)
{
	struct msghdr m = { .msg_control = control, .msg_controllen = control_len };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	if (!c || control_len < CMSG_SPACE(sizeof(uint16_t)))
		return 0;
	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
	return CMSG_SPACE(sizeof(uint16_t));
}

uint16_t ny_io_udp_gro_size(const void *msghdr)
{
	const struct msghdr *m = msghdr;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
			int size;

			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return (uint16_t)size;
		}
	}
	return 0;
}
