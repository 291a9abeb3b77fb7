/* The I/O contract (io.h), run over every backend the host has: UDP receive with sources, UDP sends with GSO
 * trains, TUN-side packets (a SOCK_SEQPACKET pair stands in for the TUN queue: both keep packet boundaries),
 * wake-ups, and no datagram lost when more are ready than one batch takes. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nylon/io.h"

struct fixture {
	struct ny_io *io;
	int tun_pair[2]; /* [0] given to the backend, [1] plays the kernel */
	int udp_fd;
	uint16_t port;
	int peer_fd; /* a plain UDP socket on 127.0.0.1 */
	struct sockaddr_in peer_addr;
};

static uint16_t bound_port(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);

	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin6_port);
}

/* Returns false (and the test skips) when the host lacks the backend, e.g. io_uring disabled. */
static bool setup(struct fixture *f, enum ny_io_backend backend)
{
	struct ny_io_features feat = { 0 };
	socklen_t len = sizeof(f->peer_addr);
	const char *why = NULL;
	int ret;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->tun_pair), 0);
	cr_assert_eq(ny_io_udp_open(0, &f->udp_fd, &feat), 0);
	f->port = bound_port(f->udp_fd);
	f->peer_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	f->peer_addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(f->peer_fd, (struct sockaddr *)&f->peer_addr, sizeof(f->peer_addr)), 0);
	cr_assert_eq(getsockname(f->peer_fd, (struct sockaddr *)&f->peer_addr, &len), 0);
	ret = ny_io_create(&f->io, backend, f->tun_pair[0], f->udp_fd, &feat, &why);
	if (ret < 0) {
		cr_log_info("%s unavailable: %s", ny_io_backend_name(backend), why ? why : strerror(-ret));
		return false;
	}
	cr_assert_eq(ny_io_backend_of(f->io), backend);
	return true;
}

static void teardown(struct fixture *f)
{
	ny_io_destroy(f->io);
	close(f->tun_pair[0]);
	close(f->tun_pair[1]);
	close(f->udp_fd);
	close(f->peer_fd);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void peer_send(struct fixture *f, const void *buf, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	cr_assert_eq(sendto(f->peer_fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* Receives UDP datagrams until `want` arrived or 3 s passed; copies their first byte into tags. */
static size_t recv_udp_until(struct fixture *f, size_t want, uint8_t *tags, struct ny_io_dgram *last)
{
	uint64_t deadline = now_ms() + 3000;
	size_t got = 0;

	while (got < want && now_ms() < deadline) {
		struct ny_io_dgram d[NY_IO_BATCH];
		int n;

		cr_assert_geq(ny_io_wait(f->io, 100), 0);
		n = ny_io_recv_udp(f->io, d, NY_IO_BATCH);
		cr_assert_geq(n, 0);
		for (int i = 0; i < n; i++) {
			cr_assert_eq(d[i].gso_size, 0);
			if (tags)
				tags[got] = d[i].data[0];
			got++;
			*last = d[i];
		}
	}
	return got;
}

static enum ny_io_backend backends[] = { NY_IO_EPOLL, NY_IO_URING };

ParameterizedTestParameters(io, receives_datagrams_with_their_source)
{
	return cr_make_param_array(enum ny_io_backend, backends, sizeof(backends) / sizeof(backends[0]));
}

ParameterizedTest(enum ny_io_backend *backend, io, receives_datagrams_with_their_source)
{
	struct fixture f;
	struct ny_io_dgram last;
	uint8_t tags[8];

	if (!setup(&f, *backend))
		cr_skip_test("backend unavailable");
	for (uint8_t i = 0; i < 5; i++) {
		uint8_t msg[100];

		memset(msg, i, sizeof(msg));
		peer_send(&f, msg, sizeof(msg));
	}
	cr_assert_eq(recv_udp_until(&f, 5, tags, &last), 5);
	for (uint8_t i = 0; i < 5; i++)
		cr_assert_eq(tags[i], i, "datagrams in order");
	cr_assert_eq(last.len, 100);
	/* A v4 sender on the dual-stack socket comes back as AF_INET, not v4-mapped. */
	cr_assert_eq(last.src.family, AF_INET);
	cr_assert_eq(last.src.port, ntohs(f.peer_addr.sin_port));
	cr_assert_eq(memcmp(last.src.ip, "\x7f\0\0\x01", 4), 0);
	teardown(&f);
}

ParameterizedTestParameters(io, no_datagram_is_lost_beyond_one_batch)
{
	return cr_make_param_array(enum ny_io_backend, backends, sizeof(backends) / sizeof(backends[0]));
}

ParameterizedTest(enum ny_io_backend *backend, io, no_datagram_is_lost_beyond_one_batch)
{
	enum { COUNT = 5 * NY_IO_BATCH };
	struct fixture f;
	struct ny_io_dgram last;
	uint8_t tags[COUNT];

	if (!setup(&f, *backend))
		cr_skip_test("backend unavailable");
	for (int i = 0; i < COUNT; i++) {
		uint8_t msg[64] = { (uint8_t)i };

		peer_send(&f, msg, sizeof(msg));
	}
	cr_assert_eq(recv_udp_until(&f, COUNT, tags, &last), COUNT);
	for (int i = 0; i < COUNT; i++)
		cr_assert_eq(tags[i], (uint8_t)i, "datagram %d out of place", i);
	teardown(&f);
}

ParameterizedTestParameters(io, sends_a_gso_train_as_separate_datagrams)
{
	return cr_make_param_array(enum ny_io_backend, backends, sizeof(backends) / sizeof(backends[0]));
}

ParameterizedTest(enum ny_io_backend *backend, io, sends_a_gso_train_as_separate_datagrams)
{
	static const size_t sizes[] = { 200, 200, 200, 120 };
	uint8_t bufs[4][200];
	struct iovec iov[4];
	struct fixture f;
	struct ny_io_send s = { .iovcnt = 4, .gso_size = 200 };

	if (!setup(&f, *backend))
		cr_skip_test("backend unavailable");
	for (int i = 0; i < 4; i++) {
		memset(bufs[i], 'a' + i, sizeof(bufs[i]));
		iov[i] = (struct iovec){ bufs[i], sizes[i] };
	}
	s.iov = iov;
	s.dst = (struct ny_io_addr){ .family = AF_INET, .port = ntohs(f.peer_addr.sin_port) };
	memcpy(s.dst.ip, "\x7f\0\0\x01", 4);
	cr_assert_eq(ny_io_send_udp(f.io, &s, 1), 1);
	cr_assert_geq(ny_io_wait(f.io, 0), 0); /* hands queued sends to the kernel */
	for (int i = 0; i < 4; i++) {
		uint8_t got[512];
		struct pollfd p = { .fd = f.peer_fd, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 2000), 1, "datagram %d never came", i);
		cr_assert_eq(recv(f.peer_fd, got, sizeof(got), 0), (ssize_t)sizes[i]);
		cr_assert_eq(got[0], 'a' + i);
	}
	teardown(&f);
}

ParameterizedTestParameters(io, moves_tun_packets_both_ways)
{
	return cr_make_param_array(enum ny_io_backend, backends, sizeof(backends) / sizeof(backends[0]));
}

ParameterizedTest(enum ny_io_backend *backend, io, moves_tun_packets_both_ways)
{
	struct fixture f;
	uint8_t pkt[300], back[400];
	struct ny_io_pkt in[NY_IO_BATCH], out;
	uint64_t deadline;
	int n = 0;

	if (!setup(&f, *backend))
		cr_skip_test("backend unavailable");
	memset(pkt, 0x45, sizeof(pkt));
	cr_assert_eq(write(f.tun_pair[1], pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
	deadline = now_ms() + 3000;
	while (n == 0 && now_ms() < deadline) {
		cr_assert_geq(ny_io_wait(f.io, 100), 0);
		n = ny_io_recv_tun(f.io, in, NY_IO_BATCH);
	}
	cr_assert_eq(n, 1);
	cr_assert_eq(in[0].len, sizeof(pkt));
	cr_assert_eq(memcmp(in[0].data, pkt, sizeof(pkt)), 0);

	out = (struct ny_io_pkt){ pkt, 123 };
	cr_assert_eq(ny_io_send_tun(f.io, &out, 1), 1);
	cr_assert_geq(ny_io_wait(f.io, 0), 0);
	cr_assert_eq(read(f.tun_pair[1], back, sizeof(back)), 123);
	teardown(&f);
}

static void *wake_later(void *arg)
{
	usleep(50 * 1000);
	ny_io_wake(arg);
	return NULL;
}

ParameterizedTestParameters(io, wake_ends_a_wait_early)
{
	return cr_make_param_array(enum ny_io_backend, backends, sizeof(backends) / sizeof(backends[0]));
}

ParameterizedTest(enum ny_io_backend *backend, io, wake_ends_a_wait_early)
{
	struct fixture f;
	pthread_t t;
	uint64_t start;

	if (!setup(&f, *backend))
		cr_skip_test("backend unavailable");
	start = now_ms();
	cr_assert_eq(pthread_create(&t, NULL, wake_later, f.io), 0);
	/* The first wait may return at once to arm things; a woken wait returns long before 5 s. */
	while (now_ms() - start < 40)
		cr_assert_geq(ny_io_wait(f.io, 5000), 0);
	pthread_join(t, NULL);
	cr_assert_lt(now_ms() - start, 2500, "wake did not end the wait");
	teardown(&f);
}

/* The shard's life: its own thread waits on the backend, quiesces it and exits; another thread destroys it. */
static void *wait_then_quiesce(void *arg)
{
	struct ny_io *io = arg;

	cr_assert_geq(ny_io_wait(io, 10), 0);
	ny_io_quiesce(io);
	return NULL;
}

ParameterizedTestParameters(io, destroy_after_quiesce_lets_go_of_the_tun)
{
	return cr_make_param_array(enum ny_io_backend, backends, sizeof(backends) / sizeof(backends[0]));
}

/* No read may still hold the TUN queue once destroy returns: the interface must go away with the daemon. Here the
 * far end of the socket pair sees the hang-up only when no reference to the near end is left. */
ParameterizedTest(enum ny_io_backend *backend, io, destroy_after_quiesce_lets_go_of_the_tun)
{
	struct fixture f;
	struct pollfd p;
	pthread_t t;

	if (!setup(&f, *backend))
		cr_skip_test("backend unavailable");
	cr_assert_eq(pthread_create(&t, NULL, wait_then_quiesce, f.io), 0);
	pthread_join(t, NULL);
	ny_io_destroy(f.io);
	close(f.tun_pair[0]);
	p = (struct pollfd){ .fd = f.tun_pair[1], .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 1, "the TUN stand-in is still held after destroy");
	cr_assert(p.revents & POLLHUP);
	close(f.tun_pair[1]);
	close(f.udp_fd);
	close(f.peer_fd);
}

Test(io, backend_names_round_trip)
{
	enum ny_io_backend b;

	cr_assert_eq(ny_io_backend_parse("io_uring", &b), 0);
	cr_assert_eq(b, NY_IO_URING);
	cr_assert_eq(ny_io_backend_parse("epoll", &b), 0);
	cr_assert_eq(b, NY_IO_EPOLL);
	cr_assert_eq(ny_io_backend_parse("auto", &b), 0);
	cr_assert_eq(b, NY_IO_AUTO);
	cr_assert_eq(ny_io_backend_parse("kqueue", &b), -EINVAL);
	cr_assert_str_eq(ny_io_backend_name(NY_IO_URING), "io_uring");
}

Test(io, addresses_convert_both_ways)
{
	struct ny_io_addr a = { .family = AF_INET, .port = 57175, .ip = { 198, 18, 0, 1 } }, b;
	struct sockaddr_in6 ss;
	char text[64];

	cr_assert_eq(ny_io_addr_to_sockaddr(&a, &ss, sizeof(ss)), sizeof(ss));
	ny_io_addr_from_sockaddr(&b, (struct sockaddr *)&ss);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	ny_io_addr_format(&a, text, sizeof(text));
	cr_assert_str_eq(text, "198.18.0.1:57175");
	a.family = AF_INET6;
	memset(a.ip, 0, 16);
	a.ip[0] = 0xfd;
	a.ip[15] = 1;
	ny_io_addr_to_sockaddr(&a, &ss, sizeof(ss));
	ny_io_addr_from_sockaddr(&b, (struct sockaddr *)&ss);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	ny_io_addr_format(&a, text, sizeof(text));
	cr_assert_str_eq(text, "[fd00::1]:57175");
}
