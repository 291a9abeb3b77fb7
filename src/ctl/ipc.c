/* The IPC server (nylon/ipc.h): one thread accepts on the UAPI socket, each connection gets its own thread (at most
 * NY_IPC_MAX_CONNS), because a request may legitimately block for seconds (a probe waits for pongs, status waits up
 * to 1 s for the routing thread) and trace streams until the client leaves. Every read and write is bounded by
 * NY_IPC_READ_TIMEOUT_MS and every line by NY_IPC_LINE_MAX, so a slow or hostile client holds one slot for a few
 * seconds at most and no memory beyond its buffer.
 *
 * Operations on one connection follow the UAPI framing: an `op=...` line, its body, an empty line; several may
 * follow each other. `get=nylon` is followed by one JSON line and answered by one JSON line without `errno=`
 * (reference §5.4).
 */
#include "nylon/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/dataplane.h"
#include "nylon/status.h"
#include "nylon/trace.h"

#define SET_BODY_MAX (1u << 20)
#define TRACE_POLL_MS 50      /* a trace stream checks for new lines, its client leaving and shutdown this often */
#define TRACE_OUT_MAX 16384   /* one send() of trace lines */
#define TRACE_BURST 256       /* lines read before looking at the socket again */
#define STOP_WAIT_MS (NY_IPC_PROBE_MAX_MS + 2000)

struct conn {
	struct ny_ipc_server *srv;
	int fd;
	char *buf; /* NY_IPC_LINE_MAX + 1 */
	size_t len;  /* bytes in buf */
	size_t used; /* bytes of buf already returned as lines */
	struct conn *next;
};

struct ny_ipc_server {
	struct ny_ipc_ops ops;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int stop_fd; /* eventfd */
	pthread_t thread;
	bool thread_started;
	atomic_bool stopping;
	pthread_mutex_t lock; /* guards conns, n_conns */
	pthread_cond_t idle;  /* signalled when n_conns drops */
	struct conn *conns;
	unsigned n_conns;
	pthread_mutex_t reload_lock; /* one reload at a time */
};

/* ---- connection I/O ------------------------------------------------------------------------------------------ */

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int write_all(struct conn *c, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret;

		if (n > 0) {
			data += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			if ((ret = wait_fd(c->fd, POLLOUT, NY_IPC_READ_TIMEOUT_MS)) < 0)
				return ret;
		} else {
			return n < 0 ? -errno : -EPIPE;
		}
	}
	return 0;
}

/* The next line, without its newline, NUL-terminated in place. 0 with *line set, -ENODATA at end of input, -E2BIG
 * for a line longer than NY_IPC_LINE_MAX, -ETIMEDOUT, or another -errno. */
static int read_line(struct conn *c, char **line, size_t *line_len)
{
	for (;;) {
		char *nl = memchr(c->buf + c->used, '\n', c->len - c->used);
		ssize_t n;
		int ret;

		if (nl) {
			*nl = '\0';
			*line = c->buf + c->used;
			*line_len = (size_t)(nl - *line);
			c->used = (size_t)(nl - c->buf) + 1;
			return 0;
		}
		if (c->used) { /* keep the partial line at the start */
			memmove(c->buf, c->buf + c->used, c->len - c->used);
			c->len -= c->used;
			c->used = 0;
		}
		if (c->len >= NY_IPC_LINE_MAX)
			return -E2BIG;
		if ((ret = wait_fd(c->fd, POLLIN, NY_IPC_READ_TIMEOUT_MS)) < 0)
			return ret;
		n = recv(c->fd, c->buf + c->len, NY_IPC_LINE_MAX - c->len, MSG_DONTWAIT);
		if (n == 0)
			return -ENODATA;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		c->len += (size_t)n;
	}
}

static int write_errno(struct conn *c, int err)
{
	char text[32];

	snprintf(text, sizeof(text), "errno=%d\n\n", err);
	return write_all(c, text, strlen(text));
}

/* Writes a JSON response line and frees it; a NULL response (out of memory) becomes an error response. */
static int write_json(struct conn *c, char *json)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";
	int ret;

	if (!json)
		return write_all(c, oom, sizeof(oom) - 1);
	ret = write_all(c, json, strlen(json));
	if (ret == 0)
		ret = write_all(c, "\n", 1);
	free(json);
	return ret;
}

/* ---- nylon's requests ---------------------------------------------------------------------------------------- */

static char *collect_error(int err)
{
	if (err == -ETIMEDOUT)
		return ny_ipc_response_error("timed out waiting for dispatch");
	if (err == -ESHUTDOWN)
		return ny_ipc_response_error("nylon shutting down");
	return ny_ipc_response_error(strerror(-err));
}

static char *do_status(struct ny_ipc_server *s)
{
	struct ny_status *st;
	char *out;
	int ret = ny_dp_status_collect(s->ops.node, &st, NY_IPC_DISPATCH_MS);

	if (ret < 0)
		return collect_error(ret);
	st->node.trace_enabled = s->ops.trace_enabled;
	out = ny_ipc_response_status(st);
	ny_status_free(st);
	return out;
}

static char *do_probe(struct ny_ipc_server *s, const struct ny_ipc_request *req)
{
	struct ny_probe_result *res;
	size_t n;
	char msg[NY_STATUS_ID_LEN + 40];
	char *out;
	int ret = ny_dp_probe(s->ops.node, req->peer_id, (int)req->timeout_ms, &res, &n);

	if (ret == -ENOENT) {
		snprintf(msg, sizeof(msg), "peer \"%s\" is not a neighbour", req->peer_id);
		return ny_ipc_response_error(msg);
	}
	if (ret < 0)
		return collect_error(ret);
	out = ny_ipc_response_probe(res, n);
	free(res);
	return out;
}

static char *do_reload(struct ny_ipc_server *s)
{
	char msg[1024] = "";
	int result;

	if (!s->ops.reload)
		return ny_ipc_response_reload(NY_IPC_RELOAD_REJECTED, "reload is not supported by this daemon");
	pthread_mutex_lock(&s->reload_lock);
	result = s->ops.reload(s->ops.reload_ctx, msg, sizeof(msg));
	pthread_mutex_unlock(&s->reload_lock);
	if (result < NY_IPC_RELOAD_NOOP || result > NY_IPC_RELOAD_RESTART_REQUIRED)
		result = NY_IPC_RELOAD_REJECTED;
	return ny_ipc_response_reload((enum ny_ipc_reload_result)result, msg);
}

/* Waits up to TRACE_POLL_MS for the trace client to go away: 0 when it is still there, -ENODATA once it closed (or
 * the server shut the socket down), -errno on an error. Whatever it sends meanwhile is read and ignored; a client
 * that only shut its sending side (*eof) still gets the stream until it closes. */
static int trace_idle(struct conn *c, bool *eof)
{
	struct pollfd p = { .fd = c->fd, .events = *eof ? 0 : POLLIN };
	char sink[256];
	ssize_t n;

	if (poll(&p, 1, TRACE_POLL_MS) <= 0)
		return 0; /* timeout or EINTR */
	if (p.revents & (POLLERR | POLLNVAL))
		return -EPIPE;
	if (p.revents & POLLHUP) /* both directions closed: by the client, or by ny_ipc_server_stop */
		return -ENODATA;
	n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
	if (n == 0)
		*eof = true;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

/* Appends one response line for a trace line to out; flushes out first when it would not fit. */
static int trace_append(struct conn *c, char *out, size_t *len, const char *line)
{
	char *json = ny_ipc_response_trace(line);
	size_t n;
	int ret = 0;

	if (!json)
		return 0; /* out of memory: the line is lost, the stream goes on */
	n = strlen(json);
	if (*len + n + 1 > TRACE_OUT_MAX) {
		ret = write_all(c, out, *len);
		*len = 0;
	}
	if (ret == 0 && n + 1 <= TRACE_OUT_MAX) {
		memcpy(out + *len, json, n);
		out[*len + n] = '\n';
		*len += n + 1;
	}
	free(json);
	return ret;
}

/* Streams the trace ring to the client from now on until it leaves or the server stops (reference §5.4): the first
 * line is {"ok":true}, then one {"ok":true,"trace":{"line":...}} per line. A client too slow to keep up misses
 * lines (the ring overwrites them), and is told how many by a "Missed <n> trace lines" line; nothing waits for it
 * but this connection's thread, and a socket that stays full for NY_IPC_READ_TIMEOUT_MS ends the stream. Always
 * returns < 0: the connection ends with the stream. */
static int do_trace(struct conn *c, struct ny_trace_ring *ring)
{
	struct ny_trace_reader rd;
	char line[NY_TRACE_LINE_MAX], *out = malloc(TRACE_OUT_MAX);
	uint64_t told = 0, sent = 0;
	bool eof = false;
	int ret;

	if (!out)
		return write_json(c, ny_ipc_response_error("out of memory")) < 0 ? -EIO : -ENOMEM;
	ny_trace_reader_attach(ring, &rd);
	ret = write_json(c, ny_ipc_response_trace(NULL));
	while (ret == 0 && !atomic_load(&c->srv->stopping)) {
		size_t len = 0, n = 0;

		while (ret == 0 && n < TRACE_BURST && ny_trace_read(ring, &rd, line)) {
			if (rd.missed != told) {
				char note[64];

				snprintf(note, sizeof(note), "Missed %llu trace lines", (unsigned long long)(rd.missed - told));
				told = rd.missed;
				ret = trace_append(c, out, &len, note);
			}
			if (ret == 0)
				ret = trace_append(c, out, &len, line);
			n++;
		}
		if (ret == 0 && len)
			ret = write_all(c, out, len);
		sent += n;
		if (ret == 0 && n < TRACE_BURST)
			ret = trace_idle(c, &eof);
	}
	ny_trace_reader_detach(ring, &rd);
	free(out);
	ny_log_debug("ipc", "trace stream ended after %llu lines, %llu missed", (unsigned long long)sent,
		     (unsigned long long)rd.missed);
	return ret < 0 ? ret : -ESHUTDOWN;
}

static int handle_nylon(struct conn *c)
{
	struct ny_ipc_server *s = c->srv;
	struct ny_ipc_request req;
	char err[256];
	char *line;
	size_t len;
	int ret = read_line(c, &line, &len);

	if (ret == -E2BIG) {
		write_json(c, ny_ipc_response_error("request line too long"));
		return ret;
	}
	if (ret < 0)
		return ret;
	if (ny_ipc_request_parse(line, len, &req, err, sizeof(err)) < 0)
		return write_json(c, ny_ipc_response_error(err));
	if (atomic_load(&s->stopping))
		return write_json(c, ny_ipc_response_error("nylon shutting down"));
	switch (req.method) {
	case NY_IPC_STATUS: return write_json(c, do_status(s));
	case NY_IPC_PROBE: return write_json(c, do_probe(s, &req));
	case NY_IPC_RELOAD: return write_json(c, do_reload(s));
	case NY_IPC_TRACE:
		if (!s->ops.trace_enabled || !s->ops.node || !s->ops.node->trace)
			return write_json(c, ny_ipc_response_error("tracing not enabled; restart with --dbg-trace-tc"));
		return do_trace(c, s->ops.node->trace);
	case NY_IPC_UNKNOWN: break;
	}
	return write_json(c, ny_ipc_response_error("unknown method"));
}

/* ---- UAPI ---------------------------------------------------------------------------------------------------- */

/* Reads up to the empty line that ends an operation. 0, or -EPROTO when something else came first. */
static int expect_end(struct conn *c)
{
	char *line;
	size_t len;
	int ret = read_line(c, &line, &len);

	return ret < 0 ? ret : len == 0 ? 0 : -EPROTO;
}

static int with_snapshot(struct conn *c, struct ny_status **st, uint8_t key[32])
{
	struct ny_dp_node *node = c->srv->ops.node;
	int ret = ny_dp_status_collect(node, st, NY_IPC_DISPATCH_MS);

	if (ret < 0) {
		ny_log_warn("ipc", "UAPI: no status snapshot: %s", strerror(-ret));
		return ret;
	}
	pthread_mutex_lock(&node->wg_lock);
	memcpy(key, node->dev.static_private, 32);
	pthread_mutex_unlock(&node->wg_lock);
	return 0;
}

static int handle_get(struct conn *c)
{
	struct ny_status *st;
	uint8_t key[32];
	char *text;
	int ret;

	if ((ret = expect_end(c)) < 0)
		return ret == -EPROTO ? write_errno(c, EPROTO) : ret;
	if (with_snapshot(c, &st, key) < 0)
		return write_errno(c, EIO);
	text = ny_ipc_uapi_get(st, key);
	explicit_bzero(key, sizeof(key));
	ny_status_free(st);
	if (!text)
		return write_errno(c, ENOMEM);
	ret = write_all(c, text, strlen(text));
	explicit_bzero(text, strlen(text));
	free(text);
	return ret;
}

static int handle_set(struct conn *c)
{
	size_t cap = 4096, len = 0, nlines = 0;
	char *body = malloc(cap), why[256] = "";
	struct ny_status *st = NULL;
	uint8_t key[32];
	int ret, err;

	if (!body)
		return -ENOMEM;
	for (;;) {
		char *line;
		size_t n;

		if ((ret = read_line(c, &line, &n)) < 0)
			goto out;
		if (n == 0)
			break;
		if (len + n + 1 > SET_BODY_MAX || ++nlines > NY_IPC_SET_MAX_LINES) {
			ret = write_errno(c, E2BIG);
			ret = ret < 0 ? ret : -E2BIG;
			goto out;
		}
		if (len + n + 1 > cap) {
			char *p;

			while (len + n + 1 > cap)
				cap *= 2;
			if (!(p = realloc(body, cap))) {
				ret = -ENOMEM;
				goto out;
			}
			body = p;
		}
		memcpy(body + len, line, n);
		body[len + n] = '\n';
		len += n + 1;
		explicit_bzero(line, n);
	}
	if (with_snapshot(c, &st, key) < 0) {
		ret = write_errno(c, EIO);
		goto out;
	}
	err = ny_ipc_uapi_set(body, len, st, key, why, sizeof(why));
	explicit_bzero(key, sizeof(key));
	if (err)
		ny_log_warn("ipc", "UAPI set refused (errno %d): %s", err, why);
	ret = write_errno(c, err);
out:
	ny_status_free(st);
	explicit_bzero(body, len);
	free(body);
	return ret;
}

static void serve(struct conn *c)
{
	for (;;) {
		char *line;
		size_t len;
		int ret = read_line(c, &line, &len);

		if (ret < 0) {
			if (ret == -E2BIG)
				write_errno(c, EINVAL);
			return;
		}
		if (len == 0)
			continue; /* a stray empty line between operations */
		if (strcmp(line, "get=nylon") == 0)
			ret = handle_nylon(c);
		else if (strcmp(line, "get=1") == 0)
			ret = handle_get(c);
		else if (strcmp(line, "set=1") == 0)
			ret = handle_set(c);
		else
			ret = write_errno(c, EINVAL) < 0 ? -EIO : -EINVAL; /* unknown operation: the stream is lost */
		if (ret < 0)
			return;
	}
}

/* ---- threads ------------------------------------------------------------------------------------------------- */

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct ny_ipc_server *s = c->srv;

	ny_thread_name("ny-ipc-conn");
	serve(c);
	pthread_mutex_lock(&s->lock);
	for (struct conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	close(c->fd);
	free(c->buf);
	free(c);
	s->n_conns--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void accept_one(struct ny_ipc_server *s)
{
	static struct ny_log_ratelimit rl;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	pthread_attr_t attr;
	pthread_t thread;
	struct conn *c;
	int err;

	if (fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->n_conns >= NY_IPC_MAX_CONNS || atomic_load(&s->stopping)) {
		pthread_mutex_unlock(&s->lock);
		if (ny_log_ratelimit_allow(&rl, 5))
			ny_log_warn("ipc", "%u connections open: refusing another", (unsigned)NY_IPC_MAX_CONNS);
		close(fd);
		return;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->buf = malloc(NY_IPC_LINE_MAX + 1))) {
		pthread_mutex_unlock(&s->lock);
		if (c)
			free(c);
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if ((err = pthread_create(&thread, &attr, conn_main, c)) != 0) {
		pthread_mutex_unlock(&s->lock);
		ny_log_warn("ipc", "cannot start a connection thread: %s", strerror(err));
		pthread_attr_destroy(&attr);
		close(fd);
		free(c->buf);
		free(c);
		return;
	}
	pthread_attr_destroy(&attr);
	c->next = s->conns;
	s->conns = c;
	s->n_conns++;
	pthread_mutex_unlock(&s->lock);
}

static void *accept_main(void *arg)
{
	struct ny_ipc_server *s = arg;

	ny_thread_name("ny-ipc");
	while (!atomic_load(&s->stopping)) {
		struct pollfd p[2] = { { .fd = s->stop_fd, .events = POLLIN }, { .fd = s->listen_fd, .events = POLLIN } };
		bool full;

		pthread_mutex_lock(&s->lock);
		full = s->n_conns >= NY_IPC_MAX_CONNS;
		pthread_mutex_unlock(&s->lock);
		/* With every slot busy, new clients wait in the listen backlog rather than being accepted and closed
		 * unanswered: a client that just read its answer may reconnect before its old connection's thread has
		 * seen the close and freed the slot. Slots are looked at again every 50 ms. */
		if (poll(p, full ? 1 : 2, full ? 50 : -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!full && (p[1].revents & POLLIN))
			accept_one(s);
	}
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------------------------- */

/* Whether some process accepts on path: a stale socket file (a crashed daemon) refuses the connection. */
static bool socket_alive(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return alive;
}

static int open_socket(struct ny_ipc_server *s, const char *dir, char *err, size_t err_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat sb;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, err_len, "ipc: creating %s: %s", dir, strerror(errno));
		return -errno;
	}
	memcpy(addr.sun_path, s->path, sizeof(addr.sun_path));
	if (lstat(s->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, err_len, "ipc: %s exists and is not a socket", s->path);
			return -EEXIST;
		}
		if (socket_alive(&addr)) {
			snprintf(err, err_len, "ipc: %s is in use (is another nylon or WireGuard running on it?)", s->path);
			return -EADDRINUSE;
		}
		unlink(s->path); /* stale: left by a process that died */
	}
	if ((s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(err, err_len, "ipc: binding %s: %s", s->path, strerror(errno));
		return -errno;
	}
	/* The socket hands out the private key (get=1): root only. The window between bind and chmod is covered by
	 * the directory, which only root can write. */
	if (chmod(s->path, 0600) < 0 || listen(s->listen_fd, 64) < 0) {
		snprintf(err, err_len, "ipc: %s: %s", s->path, strerror(errno));
		unlink(s->path);
		return -errno;
	}
	return 0;
}

int ny_ipc_server_start(struct ny_ipc_server **out, const char *dir, const char *ifname, const struct ny_ipc_ops *ops,
			char *err, size_t err_len)
{
	struct ny_ipc_server *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->ops = *ops;
	s->listen_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->reload_lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	dir = dir ? dir : NY_IPC_SOCKET_DIR;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s.sock", dir, ifname) >= sizeof(s->path)) {
		snprintf(err, err_len, "ipc: socket path %s/%s.sock is too long", dir, ifname);
		ret = -ENAMETOOLONG;
		goto fail;
	}
	if ((s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		ret = -errno;
		snprintf(err, err_len, "ipc: eventfd: %s", strerror(-ret));
		goto fail;
	}
	if ((ret = open_socket(s, dir, err, err_len)) < 0)
		goto fail;
	if ((ret = pthread_create(&s->thread, NULL, accept_main, s)) != 0) {
		unlink(s->path);
		snprintf(err, err_len, "ipc: cannot start its thread: %s", strerror(ret));
		ret = -ret;
		goto fail;
	}
	s->thread_started = true;
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->stop_fd > 0)
		close(s->stop_fd);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->reload_lock);
	free(s);
	return ret;
}

void ny_ipc_server_stop(struct ny_ipc_server *s)
{
	struct timespec deadline;
	uint64_t one = 1;
	bool idle;

	if (!s)
		return;
	atomic_store(&s->stopping, true);
	if (write(s->stop_fd, &one, sizeof(one)) < 0) {
		/* already signalled */
	}
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	unlink(s->path);
	close(s->listen_fd);
	/* Wake every connection out of its read; one in the middle of a request finishes it (bounded). */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_WAIT_MS / 1000;
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (s->n_conns && pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == 0)
		;
	idle = s->n_conns == 0;
	pthread_mutex_unlock(&s->lock);
	close(s->stop_fd);
	if (!idle) {
		/* A connection thread still runs (it cannot outlive a routing call's bound, so this is "cannot
		 * happen"): leak the server rather than free what it uses. */
		ny_log_error("ipc", "connections still busy after %d ms; not freeing the server", STOP_WAIT_MS);
		return;
	}
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->reload_lock);
	free(s);
}
