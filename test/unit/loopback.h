/* The unit suites' own local servers: a socket on 127.0.0.1 and a port the kernel picks. */
#ifndef NYLON_TEST_LOOPBACK_H
#define NYLON_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

/* A SOCK_DGRAM or SOCK_STREAM socket bound to 127.0.0.1 on a free port, listening with backlog for SOCK_STREAM.
 * Its port (host order) is in *port. Asserts on any failure. */
static inline int loopback_socket(int type, int backlog, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

#endif
