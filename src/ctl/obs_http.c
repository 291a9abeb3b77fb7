/* The observability HTTP server (reference §5.3) on libmicrohttpd: one polling thread accepts, each connection
 * gets its own thread (at most NY_OBS_CONNECTION_LIMIT), so a /metrics request waiting up to a second for the
 * routing thread never holds up /healthz. We bind the listening socket ourselves so that a listen error carries
 * its errno ("Address already in use"); libmicrohttpd only says that it failed. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/obs.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define PROM_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define JSON "application/json"

struct ny_obs_server {
	struct MHD_Daemon *daemon;
	struct ny_obs_source source;
	atomic_bool shutting_down;
	uint16_t port;
	pthread_mutex_t lock; /* guards discovery: connection threads copy it, a reload replaces it */
	char *discovery;
	size_t discovery_len;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, void *body,
			       size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO; /* libmicrohttpd closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A constant text body, with the newline Go's http.Error adds. */
static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return respond(conn, status, TEXT_PLAIN, (void *)text, strlen(text), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_healthz(struct ny_obs_server *s, struct MHD_Connection *conn)
{
	if (atomic_load(&s->shutting_down))
		return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
	return respond_text(conn, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result serve_readyz(struct ny_obs_server *s, struct MHD_Connection *conn)
{
	if (s->source.ready(s->source.ctx, NY_OBS_READY_TIMEOUT_MS) < 0)
		return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
	return respond_text(conn, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result serve_metrics(struct ny_obs_server *s, struct MHD_Connection *conn)
{
	struct ny_prom *p = ny_prom_new();
	char *body = NULL;
	size_t len = 0;
	int ret;

	if (!p)
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	if ((ret = s->source.metrics(s->source.ctx, p, NY_OBS_METRICS_TIMEOUT_MS)) < 0) {
		ny_prom_free(p);
		ny_log_debug("obs", "metrics: no snapshot: %s", strerror(-ret));
		return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics unavailable\n");
	}
	ret = ny_prom_render(p, &body, &len);
	ny_prom_free(p);
	if (ret < 0) {
		/* A renderer bug (a bad name, a duplicate series): say so rather than serve a scrape Prometheus rejects. */
		ny_log_error("obs", "metrics: rendering failed: %s", ret == -EEXIST ? "a duplicate series" : strerror(-ret));
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics rendering failed\n");
	}
	return respond(conn, MHD_HTTP_OK, PROM_TEXT, body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve_discovery(struct ny_obs_server *s, struct MHD_Connection *conn)
{
	char *body;
	size_t len;

	pthread_mutex_lock(&s->lock);
	len = s->discovery_len;
	body = malloc(len + 1);
	if (body)
		memcpy(body, s->discovery, len + 1);
	pthread_mutex_unlock(&s->lock);
	if (!body)
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return respond(conn, MHD_HTTP_OK, JSON, body, len, MHD_RESPMEM_MUST_FREE);
}

/* Context: a libmicrohttpd connection thread. Requests have no body that matters: any method but GET and HEAD is
 * answered at once, without reading what it uploads. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **req)
{
	struct ny_obs_server *s = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/healthz"))
		return serve_healthz(s, conn);
	if (!strcmp(url, "/readyz"))
		return serve_readyz(s, conn);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(s, conn);
	if (!strcmp(url, "/discovery"))
		return serve_discovery(s, conn);
	return respond_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
}

/* libmicrohttpd's error logger: fmt is its own printf format (MHD_OPTION_EXTERNAL_LOGGER). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	ny_log_warn("obs", "http: %s", line);
}

/* An empty host listens on every address: IPv6 with IPv4-mapped addresses, or IPv4 alone on a host without IPv6. */
static int open_listener(const char *host, uint16_t port, int *fd_out, char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai, any6 = { 0 }, any4 = { 0 };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in sa4 = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	char service[8];
	int fd = -1, one = 1, zero = 0, ret;

	if (*host) {
		snprintf(service, sizeof(service), "%u", (unsigned)port);
		if ((ret = getaddrinfo(host, service, &hints, &res)) != 0) {
			snprintf(err, err_len, "resolving %.100s: %s", host, gai_strerror(ret));
			return -EADDRNOTAVAIL;
		}
		ai = res; /* resolved once; the first answer is the address */
	} else {
		any6 = (struct addrinfo){ .ai_family = AF_INET6, .ai_addr = (struct sockaddr *)&sa6,
					  .ai_addrlen = sizeof(sa6), .ai_next = &any4 };
		any4 = (struct addrinfo){ .ai_family = AF_INET, .ai_addr = (struct sockaddr *)&sa4,
					  .ai_addrlen = sizeof(sa4) };
		ai = &any6;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && !*host && errno == EAFNOSUPPORT) {
		ai = ai->ai_next;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "socket: %s", strerror(errno));
		goto out;
	}
	/* SO_REUSEADDR lets a restarted node take its port back from TIME_WAIT; a port another socket listens on
	 * still fails with EADDRINUSE. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6 && !*host)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		ret = -errno;
		snprintf(err, err_len, "%s", strerror(errno));
		close(fd);
		goto out;
	}
	*fd_out = fd;
	ret = 0;
out:
	if (res)
		freeaddrinfo(res);
	return ret;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int ny_obs_server_start(struct ny_obs_server **out, const char *addr, const struct ny_conf_central *central,
			struct ny_obs_source source, char *err, size_t err_len)
{
	struct ny_obs_server *s;
	char host[256], why[256] = "";
	uint16_t port;
	int fd = -1, ret;

	*out = NULL;
	if (ny_obs_addr_split(addr, host, sizeof(host), &port) < 0) {
		snprintf(err, err_len, "observability_addr \"%s\": expected host:port such as :9090", addr ? addr : "");
		return -EINVAL;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		snprintf(err, err_len, "observability: out of memory");
		return -ENOMEM;
	}
	s->source = source;
	atomic_init(&s->shutting_down, false);
	pthread_mutex_init(&s->lock, NULL);
	if ((ret = open_listener(host, port, &fd, why, sizeof(why))) < 0) {
		snprintf(err, err_len, "observability: listen %s: %s", addr, why);
		goto fail;
	}
	s->port = bound_port(fd);
	if ((ret = ny_obs_discovery_json(central, s->port, &s->discovery, &s->discovery_len)) < 0) {
		snprintf(err, err_len, "observability: out of memory");
		close(fd);
		goto fail;
	}
	s->daemon = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, or it warns */
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)NY_OBS_CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)NY_OBS_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!s->daemon) {
		/* libmicrohttpd may already have closed fd on its failure path: leave it rather than risk closing a
		 * descriptor another thread has since been given. This only happens at start, which then fails. */
		snprintf(err, err_len, "observability: listen %s: the HTTP server failed to start", addr);
		ret = -EIO;
		goto fail;
	}
	ny_log_info("obs", "serving /healthz /readyz /metrics /discovery on %s (port %u)", addr, (unsigned)s->port);
	*out = s;
	return 0;
fail:
	pthread_mutex_destroy(&s->lock);
	free(s->discovery);
	free(s);
	return ret;
}

uint16_t ny_obs_server_port(const struct ny_obs_server *s)
{
	return s->port;
}

int ny_obs_server_set_central(struct ny_obs_server *s, const struct ny_conf_central *central)
{
	char *doc, *old;
	size_t len;
	int ret;

	if ((ret = ny_obs_discovery_json(central, s->port, &doc, &len)) < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	old = s->discovery;
	s->discovery = doc;
	s->discovery_len = len;
	pthread_mutex_unlock(&s->lock);
	free(old);
	return 0;
}

void ny_obs_server_begin_shutdown(struct ny_obs_server *s)
{
	if (s)
		atomic_store(&s->shutting_down, true);
}

void ny_obs_server_stop(struct ny_obs_server *s)
{
	if (!s)
		return;
	ny_obs_server_begin_shutdown(s);
	MHD_stop_daemon(s->daemon); /* closes the listening socket, joins every connection thread */
	pthread_mutex_destroy(&s->lock);
	free(s->discovery);
	free(s);
}
