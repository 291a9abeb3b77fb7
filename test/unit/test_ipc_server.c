/* The IPC server without a running node (nylon/ipc.h): socket placement and permissions, refusal of a live socket,
 * removal of a stale one, the framing of get=nylon / get=1 / set=1 and garbage, and removal at stop. A node whose
 * routing thread is not running answers every request with "nylon shutting down" or errno=5. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nylon/dataplane.h"
#include "nylon/ipc.h"

static char dir[64];
static struct ny_dp_node node; /* no routing thread: collect fails with -ESHUTDOWN */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ny-ipc-test-%d", (int)getpid());
}

static void teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/t0.sock", dir);
	unlink(path);
	rmdir(dir);
}

static struct ny_ipc_server *start(void)
{
	struct ny_ipc_ops ops = { .node = &node };
	struct ny_ipc_server *s;
	char err[256] = "";
	int ret = ny_ipc_server_start(&s, dir, "t0", &ops, err, sizeof(err));

	cr_assert_eq(ret, 0, "start: %d %s", ret, err);
	return s;
}

/* Sends data, half-closes when asked, and reads until want appears, the server closes, or 5 s pass. */
static char *talk(const char *data, size_t len, const char *want)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char *buf = calloc(1, 65536);
	size_t got = 0;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/t0.sock", dir);
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0, "connect: %s", strerror(errno));
	cr_assert_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
	while (got < 65535 && !(want && strstr(buf, want))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		if ((n = recv(fd, buf + got, 65535 - got, 0)) <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return buf;
}

TestSuite(ipc_server, .init = setup, .fini = teardown);

Test(ipc_server, listens_0600_and_removes_the_socket_at_stop)
{
	struct ny_ipc_server *s = start();
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/t0.sock", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0600);
	ny_ipc_server_stop(s);
	cr_expect_neq(stat(path, &st), 0);
}

Test(ipc_server, refuses_a_live_socket_and_replaces_a_stale_one)
{
	struct ny_ipc_server *s = start(), *s2;
	struct ny_ipc_ops ops = { .node = &node };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char err[256] = "";
	int fd;

	cr_expect_eq(ny_ipc_server_start(&s2, dir, "t0", &ops, err, sizeof(err)), -EADDRINUSE);
	cr_expect(strstr(err, "in use") != NULL, "%s", err);
	ny_ipc_server_stop(s);
	/* A socket file nobody listens on, as a crashed daemon leaves behind. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/t0.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	s = start();
	ny_ipc_server_stop(s);
}

Test(ipc_server, answers_every_operation_and_survives_garbage)
{
	struct ny_ipc_server *s = start();
	char big[NY_IPC_LINE_MAX + 100];
	char *r;

	r = talk("get=nylon\n{\"status\":{}}\n", 24, "\n");
	cr_expect_str_eq(r, "{\"ok\":false,\"error\":\"nylon shutting down\"}\n");
	free(r);
	r = talk("get=nylon\n{}\nget=nylon\n{\"x\n", 27, "}\n{");
	cr_expect(strstr(r, "unknown method") && strstr(r, "invalid JSON"), "%s", r);
	cr_expect_null(strstr(r, "errno="));
	free(r);
	r = talk("get=1\n\n", 7, "\n\n");
	cr_expect_str_eq(r, "errno=5\n\n");
	free(r);
	r = talk("set=1\nlisten_port=1\n\n", 21, "\n\n");
	cr_expect_str_eq(r, "errno=5\n\n");
	free(r);
	r = talk("bogus=1\n\n", 9, "\n\n");
	cr_expect_str_eq(r, "errno=22\n\n");
	free(r);
	memcpy(big, "get=nylon\n", 10);
	memset(big + 10, 'x', sizeof(big) - 11);
	big[sizeof(big) - 1] = '\n';
	r = talk(big, sizeof(big), "}\n");
	cr_expect(strstr(r, "too long") != NULL, "%s", r);
	free(r);
	r = talk("\0\0\0\n\xff\n", 6, "\n\n");
	cr_expect_str_eq(r, "errno=22\n\n");
	free(r);
	/* Still serving. */
	r = talk("get=nylon\n{\"trace\":{}}\n", 23, "\n");
	cr_expect(strstr(r, "tracing not enabled") != NULL, "%s", r);
	free(r);
	ny_ipc_server_stop(s);
}
