/* UDP_SEGMENT / UDP_GRO control messages (Linux 4.18 / 5.0), shared by the sendmsg-based backends. */
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#include "io/backend.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

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
