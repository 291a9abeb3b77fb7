/* The observability HTTP server on loopback with a stub source: each endpoint's status, content type and body
 * (reference §5.3), 405 for other methods, 404 for other paths, HEAD, /healthz turning 503 at shutdown, a clear
 * error for a port in use, and the port closed once stopped. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "nylon/conf.h"
#include "nylon/obs.h"

#define PUB_A "/Exmbq5lOa1IZjcMANVZghakHvpD9deXnIqhOfnThkk="

struct stub {
	int ready_ret;
	int ready_sleep_ms; /* a routing thread slow to answer */
	int metrics_ret;
	bool duplicate;
	atomic_int ready_timeout;
};

static int stub_ready(void *ctx, int timeout_ms)
{
	struct stub *s = ctx;

	atomic_store(&s->ready_timeout, timeout_ms);
	if (s->ready_sleep_ms)
		usleep((useconds_t)s->ready_sleep_ms * 1000);
	return s->ready_ret;
}

static int stub_metrics(void *ctx, struct ny_prom *p, int timeout_ms)
{
	struct stub *s = ctx;
	struct ny_prom_label l = { "peer", "b" };

	(void)timeout_ms;
	if (s->metrics_ret)
		return s->metrics_ret;
	ny_prom_add(p, "nylon_up", NY_PROM_GAUGE, "Up.", NULL, 0, 1);
	ny_prom_add(p, "x_total", NY_PROM_COUNTER, "X.", &l, 1, 5);
	if (s->duplicate)
		ny_prom_add(p, "x_total", NY_PROM_COUNTER, "X.", &l, 1, 6);
	return 0;
}

static struct stub stub;
static struct ny_conf_central *central;
static struct ny_obs_server *server;

static void setup(void)
{
	static const char yaml[] = "routers:\n  - {id: a, pubkey: " PUB_A ", addresses: [198.19.0.1, \"fd00::1\"]}\n";
	struct ny_conf_report r;
	char err[256] = "";

	memset(&stub, 0, sizeof(stub));
	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&central, "central.yaml", yaml, strlen(yaml), &r), 0);
	ny_conf_report_free(&r);
	cr_assert_eq(ny_obs_server_start(&server, "127.0.0.1:0", central,
					 (struct ny_obs_source){ stub_ready, stub_metrics, &stub }, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_neq(ny_obs_server_port(server), 0);
}

static void teardown(void)
{
	ny_obs_server_stop(server);
	server = NULL;
	ny_conf_central_free(central);
}

struct reply {
	int status;
	char headers[8200];
	char body[8200];
};

static int connect_to(int family, uint16_t port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((family == AF_INET6 ? connect(fd, (struct sockaddr *)&a6, sizeof(a6))
				: connect(fd, (struct sockaddr *)&a4, sizeof(a4))) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* One request on its own connection; the whole answer is read until the server closes. */
static void request_at(int family, uint16_t port, const char *method, const char *path, struct reply *r)
{
	static char raw[8192];
	char req[256];
	size_t len = 0;
	ssize_t n;
	char *split;
	int fd = connect_to(family, port);

	cr_assert_geq(fd, 0, "connect: %s", strerror(-fd));
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", method, path);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len < sizeof(raw) - 1 && (n = read(fd, raw + len, sizeof(raw) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	raw[len] = '\0';
	memset(r, 0, sizeof(*r));
	cr_assert_eq(sscanf(raw, "HTTP/1.1 %d", &r->status), 1, "no status line in: %s", raw);
	split = strstr(raw, "\r\n\r\n");
	cr_assert_not_null(split);
	*split = '\0';
	snprintf(r->headers, sizeof(r->headers), "%s\r\n", raw);
	snprintf(r->body, sizeof(r->body), "%s", split + 4);
}

static void request(const char *method, const char *path, struct reply *r)
{
	request_at(AF_INET, ny_obs_server_port(server), method, path, r);
}

static bool has_header(const struct reply *r, const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strcasestr(r->headers, want) != NULL;
}

TestSuite(obs_http, .init = setup, .fini = teardown, .timeout = 60);

Test(obs_http, healthz_ok)
{
	struct reply r;

	request("GET", "/healthz", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "ok\n");
	cr_expect(has_header(&r, "Content-Type: text/plain; charset=utf-8"), "%s", r.headers);
}

Test(obs_http, healthz_503_once_shutdown_began)
{
	struct reply r;

	ny_obs_server_begin_shutdown(server);
	request("GET", "/healthz", &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(r.body, "shutting down\n");
}

Test(obs_http, readyz_asks_the_source_with_a_1s_timeout)
{
	struct reply r;

	request("GET", "/readyz", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "ok\n");
	cr_expect_eq(atomic_load(&stub.ready_timeout), 1000);
	stub.ready_ret = -ETIMEDOUT;
	request("GET", "/readyz", &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(r.body, "not ready\n");
}

Test(obs_http, metrics_text_format)
{
	struct reply r;

	request("GET", "/metrics", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "%s", r.headers);
	cr_expect_str_eq(r.body, "# HELP nylon_up Up.\n# TYPE nylon_up gauge\nnylon_up 1\n"
				 "# HELP x_total X.\n# TYPE x_total counter\nx_total{peer=\"b\"} 5\n");
}

Test(obs_http, metrics_503_when_the_snapshot_times_out)
{
	struct reply r;

	stub.metrics_ret = -ETIMEDOUT;
	request("GET", "/metrics", &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(r.body, "metrics unavailable\n");
}

Test(obs_http, metrics_500_rather_than_a_duplicate_series)
{
	struct reply r;

	stub.duplicate = true;
	request("GET", "/metrics", &r);
	cr_expect_eq(r.status, 500);
}

Test(obs_http, discovery_json)
{
	struct reply r;
	char want[256];

	request("GET", "/discovery", &r);
	cr_expect_eq(r.status, 200);
	cr_expect(has_header(&r, "Content-Type: application/json"), "%s", r.headers);
	snprintf(want, sizeof(want),
		 "[{\"targets\":[\"198.19.0.1:%u\",\"[fd00::1]:%u\"],\"labels\":{\"nylon_node\":\"a\"}}]\n",
		 ny_obs_server_port(server), ny_obs_server_port(server));
	cr_expect_str_eq(r.body, want);
}

Test(obs_http, discovery_follows_a_new_central)
{
	static const char yaml[] = "routers:\n  - {id: z, pubkey: " PUB_A ", addresses: [198.19.0.9]}\n";
	struct ny_conf_central *c2 = NULL;
	struct ny_conf_report rep;
	struct reply r;

	ny_conf_report_init(&rep);
	cr_assert_eq(ny_conf_central_parse(&c2, "central.yaml", yaml, strlen(yaml), &rep), 0);
	ny_conf_report_free(&rep);
	cr_assert_eq(ny_obs_server_set_central(server, c2), 0);
	ny_conf_central_free(c2);
	request("GET", "/discovery", &r);
	cr_expect(strstr(r.body, "\"198.19.0.9:") && strstr(r.body, "\"nylon_node\":\"z\""), "%s", r.body);
}

Test(obs_http, other_methods_405)
{
	struct reply r;

	request("POST", "/metrics", &r);
	cr_expect_eq(r.status, 405);
	cr_expect(has_header(&r, "Allow: GET, HEAD"), "%s", r.headers);
	request("DELETE", "/healthz", &r);
	cr_expect_eq(r.status, 405);
}

Test(obs_http, head_has_no_body)
{
	struct reply r;

	request("HEAD", "/healthz", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "");
}

Test(obs_http, unknown_paths_404)
{
	static const char *paths[] = { "/", "/metricsx", "/healthz/", "/debug/pprof" };
	struct reply r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		request("GET", paths[i], &r);
		cr_expect_eq(r.status, 404, "%s", paths[i]);
	}
}

Test(obs_http, port_in_use_is_a_clear_error)
{
	struct ny_obs_server *other = NULL;
	char addr[32], err[256] = "";

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ny_obs_server_port(server));
	cr_expect_eq(ny_obs_server_start(&other, addr, central, (struct ny_obs_source){ stub_ready, stub_metrics, &stub },
					 err, sizeof(err)),
		     -EADDRINUSE);
	cr_expect_null(other);
	cr_expect(strstr(err, "listen 127.0.0.1:") && strstr(err, "Address already in use"), "%s", err);
}

Test(obs_http, bad_address_is_einval)
{
	struct ny_obs_server *other = NULL;
	char err[256] = "";

	cr_expect_eq(ny_obs_server_start(&other, "127.0.0.1", central,
					 (struct ny_obs_source){ stub_ready, stub_metrics, &stub }, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "expected host:port"), "%s", err);
}

Test(obs_http, port_closed_after_stop)
{
	uint16_t port = ny_obs_server_port(server);

	ny_obs_server_stop(server);
	server = NULL;
	cr_expect_eq(connect_to(AF_INET, port), -ECONNREFUSED);
}

Test(obs_http, host_name_and_ipv6_listen)
{
	struct ny_obs_server *s = NULL;
	struct reply r;
	char err[256] = "";
	struct ny_obs_source src = { stub_ready, stub_metrics, &stub };

	cr_assert_eq(ny_obs_server_start(&s, "localhost:0", central, src, err, sizeof(err)), 0, "%s", err);
	ny_obs_server_stop(s);
	s = NULL;
	if (ny_obs_server_start(&s, "[::1]:0", central, src, err, sizeof(err)) < 0)
		cr_skip_test("no IPv6 loopback here: %s", err);
	request_at(AF_INET6, ny_obs_server_port(s), "GET", "/healthz", &r);
	cr_expect_eq(r.status, 200);
	ny_obs_server_stop(s);
}

static void *slow_readyz(void *arg)
{
	struct reply *r = arg;

	request("GET", "/readyz", r);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Each connection has its own thread: a readiness check waiting on the routing thread holds up nothing else. */
Test(obs_http, slow_readyz_does_not_block_healthz)
{
	static struct reply slow;
	struct reply r;
	pthread_t t;
	uint64_t t0;

	stub.ready_sleep_ms = 2000;
	cr_assert_eq(pthread_create(&t, NULL, slow_readyz, &slow), 0);
	usleep(200 * 1000); /* the readyz request is in the stub */
	t0 = now_ms();
	request("GET", "/healthz", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_lt(now_ms() - t0, 1500, "healthz waited for readyz: %llu ms", (unsigned long long)(now_ms() - t0));
	pthread_join(t, NULL);
	cr_expect_eq(slow.status, 200);
}
