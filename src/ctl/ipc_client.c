/* The CLI's side of the IPC socket (nylon/ipc.h): get=nylon, one JSON request line, JSON response lines. */
#include "nylon/ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RESPONSE_MAX (64u << 20) /* a status of a very large mesh still fits */

struct reader {
	int fd;
	char *buf;
	size_t len, cap, used;
};

static int connect_to(const char *ifname, char *err, size_t err_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", NY_IPC_SOCKET_DIR, ifname) >=
	    sizeof(addr.sun_path)) {
		snprintf(err, err_len, "interface name \"%s\" is too long", ifname);
		return -ENAMETOOLONG;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "connecting to %s: %s (is nylon running on interface %s?)", addr.sun_path,
			 strerror(errno), ifname);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

static int send_request(int fd, const char *request, char *err, size_t err_len)
{
	size_t len = strlen(request) + sizeof("get=nylon\n") + 1;
	char *msg = malloc(len);
	size_t at = 0;

	if (!msg)
		return -ENOMEM;
	snprintf(msg, len, "get=nylon\n%s\n", request);
	len = strlen(msg);
	while (at < len) {
		ssize_t n = send(fd, msg + at, len - at, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, err_len, "sending the request: %s", strerror(errno));
			free(msg);
			return -EIO;
		}
		at += (size_t)n;
	}
	free(msg);
	return 0;
}

/* The next line (NUL-terminated, in r->buf) within timeout_ms (-1: no limit). */
static int next_line(struct reader *r, int timeout_ms, char **line, char *err, size_t err_len)
{
	for (;;) {
		char *nl = r->buf ? memchr(r->buf + r->used, '\n', r->len - r->used) : NULL;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		ssize_t n;
		int ready;

		if (nl) {
			*nl = '\0';
			*line = r->buf + r->used;
			r->used = (size_t)(nl - r->buf) + 1;
			return 0;
		}
		if (r->used) {
			memmove(r->buf, r->buf + r->used, r->len - r->used);
			r->len -= r->used;
			r->used = 0;
		}
		if (r->len + 4096 > r->cap) {
			char *b;

			if (r->cap >= RESPONSE_MAX || !(b = realloc(r->buf, r->cap ? r->cap * 2 : 65536))) {
				snprintf(err, err_len, "response too large");
				return -E2BIG;
			}
			r->buf = b;
			r->cap = r->cap ? r->cap * 2 : 65536;
		}
		ready = poll(&p, 1, timeout_ms);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) {
			snprintf(err, err_len, "timed out waiting for nylon's answer");
			return -ETIMEDOUT;
		}
		n = recv(r->fd, r->buf + r->len, r->cap - r->len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, err_len, "%s", n == 0 ? "nylon closed the connection" : strerror(errno));
			return n == 0 ? -ENODATA : -errno;
		}
		r->len += (size_t)n;
	}
}

int ny_ipc_client_call(const char *ifname, const char *request, int timeout_ms, char **response, char *err,
		       size_t err_len)
{
	struct reader r = { .fd = connect_to(ifname, err, err_len) };
	char *line;
	int ret;

	*response = NULL;
	if (r.fd < 0)
		return r.fd;
	if ((ret = send_request(r.fd, request, err, err_len)) == 0 &&
	    (ret = next_line(&r, timeout_ms, &line, err, err_len)) == 0 && !(*response = strdup(line)))
		ret = -ENOMEM;
	free(r.buf);
	close(r.fd);
	return ret;
}

int ny_ipc_client_stream(const char *ifname, const char *request, int (*on_line)(void *ctx, const char *line),
			 void *ctx, char *err, size_t err_len)
{
	struct reader r = { .fd = connect_to(ifname, err, err_len) };
	char *line;
	int ret;

	if (r.fd < 0)
		return r.fd;
	if ((ret = send_request(r.fd, request, err, err_len)) == 0) {
		while ((ret = next_line(&r, -1, &line, err, err_len)) == 0 && on_line(ctx, line) == 0)
			;
		if (ret == -ENODATA)
			ret = 0;
	}
	free(r.buf);
	close(r.fd);
	return ret;
}
