/* Health-check monitors (include/nylon/health.h): one thread per checked prefix, each probing every `delay` and
 * reporting the metric its prefix should be advertised with. pthread_tryjoin_np needs _GNU_SOURCE, which the build
 * defines for every file. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/health.h"
#include "nylon/route.h"

enum state { STATE_UNKNOWN, STATE_HEALTHY, STATE_FAILING };

struct ny_health_monitor {
	struct ny_conf_prefix conf; /* own copy: bind_if and url are strdup'd; read-only once the thread runs */
	struct ny_health *h;
	pthread_t thread;
	int stop_fd;          /* eventfd, written once to stop the monitor */
	atomic_bool stopped;  /* written by the owner thread (or ny_health_stop), read by anyone */
	struct ny_health_monitor *next;
};

struct ny_health {
	pthread_mutex_t lock; /* guards the lists and closed: the owner thread vs ny_health_stop */
	ny_health_report_fn report;
	void *arg;
	struct ny_health_monitor *running;
	struct ny_health_monitor *retired; /* stopped, not joined yet */
	bool closed;
};

/* ---- pure parts ---- */

uint32_t ny_health_metric(const struct ny_conf_prefix *p, bool healthy, uint64_t elapsed_ns)
{
	uint64_t us = elapsed_ns / 1000;

	if (!healthy)
		return NY_ROUTE_INF;
	if (p->has_metric) /* a healthy prefix is never a retraction, whatever the override says */
		return p->metric >= NY_ROUTE_INF ? NY_ROUTE_INFM : p->metric;
	if (us < 1)
		return 1;
	return us >= NY_ROUTE_INFM ? NY_ROUTE_INFM : (uint32_t)us;
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool ny_health_conf_equal(const struct ny_conf_prefix *a, const struct ny_conf_prefix *b)
{
	if (a->type != b->type || !ny_conf_cidr_equal(&a->prefix, &b->prefix) || a->has_metric != b->has_metric ||
	    (a->has_metric && a->metric != b->metric))
		return false;
	switch (a->type) {
	case NY_CONF_PREFIX_STATIC:
		return a->metric == b->metric;
	case NY_CONF_PREFIX_PING:
		return a->delay_ns == b->delay_ns && a->max_failures == b->max_failures &&
		       a->addr.family == b->addr.family &&
		       memcmp(a->addr.bytes, b->addr.bytes, a->addr.family == AF_INET6 ? 16 : 4) == 0 &&
		       str_equal(a->bind_if, b->bind_if);
	case NY_CONF_PREFIX_HTTP:
		return a->delay_ns == b->delay_ns && str_equal(a->url, b->url);
	}
	return false;
}

/* ---- one monitor ---- */

/* One probe round. true = healthy, with *elapsed_ns; else *err says what failed (-ECANCELED: stopping) and why
 * says it in words for the log. */
static bool probe(const struct ny_health_monitor *m, uint16_t id, uint16_t *seq, uint64_t *elapsed_ns, int *err,
		  char *why, size_t why_len)
{
	const struct ny_conf_prefix *p = &m->conf;
	long status = 0;

	if (p->type == NY_CONF_PREFIX_PING)
		*err = ny_health_ping(&p->addr, p->bind_if, p->max_failures, p->delay_ns / p->max_failures, id, seq,
				      m->stop_fd, elapsed_ns);
	else
		*err = ny_health_http_get(p->url, p->delay_ns, m->stop_fd, elapsed_ns, &status);
	if (*err == -EPROTO && p->type == NY_CONF_PREFIX_HTTP)
		snprintf(why, why_len, "HTTP status %ld, expected 200", status);
	else if (*err == -EHOSTUNREACH && p->type == NY_CONF_PREFIX_HTTP)
		snprintf(why, why_len, "the host name does not resolve");
	else if (*err == -ETIMEDOUT)
		snprintf(why, why_len, "no answer within %" PRId64 " ms", p->delay_ns / 1000000);
	else if (*err == -EMSGSIZE && p->type == NY_CONF_PREFIX_HTTP)
		snprintf(why, why_len, "body over %d bytes", NY_HEALTH_HTTP_BODY_MAX);
	else if (*err)
		snprintf(why, why_len, "%s", strerror(-*err));
	return *err == 0;
}

/* Logs a change between passing and failing once, not every round. */
static void log_transition(const struct ny_health_monitor *m, enum state *state, bool healthy, uint32_t metric,
			   const char *why)
{
	char prefix[NY_CONF_CIDR_STRLEN], target[NY_CONF_ADDR_STRLEN];
	const char *what = m->conf.url;

	if (*state == (healthy ? STATE_HEALTHY : STATE_FAILING))
		return;
	ny_conf_cidr_format(&m->conf.prefix, prefix);
	if (m->conf.type == NY_CONF_PREFIX_PING) {
		ny_conf_addr_format(&m->conf.addr, target);
		what = target;
	}
	if (healthy)
		ny_log_info("health", "prefix %s: %s check of %s passes; advertised with metric %u", prefix,
			    m->conf.type == NY_CONF_PREFIX_PING ? "ping" : "http", what, metric);
	else
		ny_log_warn("health", "prefix %s: %s check of %s fails (%s); not advertised", prefix,
			    m->conf.type == NY_CONF_PREFIX_PING ? "ping" : "http", what, why);
	*state = healthy ? STATE_HEALTHY : STATE_FAILING;
}

/* Sleeps until deadline (monotonic ns) unless stopped. false = stopped. */
static bool wait_until(const struct ny_health_monitor *m, uint64_t deadline)
{
	for (;;) {
		uint64_t now = ny_clock_mono_ns();
		struct pollfd p = { .fd = m->stop_fd, .events = POLLIN };

		if (atomic_load(&m->stopped))
			return false;
		if (now >= deadline)
			return true;
		if (poll(&p, 1, (int)((deadline - now + 999999) / 1000000)) > 0)
			return false;
	}
}

static void *monitor_main(void *arg)
{
	struct ny_health_monitor *m = arg;
	enum state state = STATE_UNKNOWN;
	uint16_t id, seq = 0;

	ny_thread_name("ny-health");
	/* Our echo identifier: distinct per monitor, so two monitors (or `ping`) never take each other's replies. */
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)(uintptr_t)m;
	while (!atomic_load(&m->stopped)) {
		uint64_t start = ny_clock_mono_ns(), elapsed = 0;
		char why[96] = "";
		int err = 0;
		bool healthy = probe(m, id, &seq, &elapsed, &err, why, sizeof(why));
		uint32_t metric;

		if (err == -ECANCELED || atomic_load(&m->stopped))
			break;
		metric = ny_health_metric(&m->conf, healthy, elapsed);
		log_transition(m, &state, healthy, metric, why);
		/* A report that could not be applied (routing thread busy) is simply superseded by the next round's. */
		m->h->report(m->h->arg, m, &m->conf.prefix, metric);
		if (!wait_until(m, start + (uint64_t)m->conf.delay_ns))
			break;
	}
	return NULL;
}

static void monitor_free(struct ny_health_monitor *m)
{
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	free(m->conf.bind_if);
	free(m->conf.url);
	free(m);
}

static void monitor_signal(struct ny_health_monitor *m)
{
	uint64_t one = 1;

	atomic_store(&m->stopped, true);
	if (write(m->stop_fd, &one, sizeof(one)) < 0) {
		/* already signalled */
	}
}

static int monitor_start(struct ny_health *h, const struct ny_conf_prefix *p, struct ny_health_monitor **out)
{
	struct ny_health_monitor *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->h = h;
	m->conf = *p;
	m->conf.bind_if = p->bind_if ? strdup(p->bind_if) : NULL;
	m->conf.url = p->url ? strdup(p->url) : NULL;
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stop_fd < 0 || (p->bind_if && !m->conf.bind_if) || (p->url && !m->conf.url)) {
		monitor_free(m);
		return -ENOMEM;
	}
	if ((ret = pthread_create(&m->thread, NULL, monitor_main, m)) != 0) {
		monitor_free(m);
		return -ret;
	}
	*out = m;
	return 0;
}

/* ---- the set ---- */

struct ny_health *ny_health_new(ny_health_report_fn report, void *arg)
{
	struct ny_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->report = report;
	h->arg = arg;
	return h;
}

/* Joins the retired monitors that have finished. Context: under h->lock. */
static void reap(struct ny_health *h)
{
	for (struct ny_health_monitor **pm = &h->retired; *pm;) {
		struct ny_health_monitor *m = *pm;

		if (pthread_tryjoin_np(m->thread, NULL) != 0) {
			pm = &m->next;
			continue;
		}
		*pm = m->next;
		monitor_free(m);
	}
}

static bool is_checked(const struct ny_conf_prefix *p)
{
	return p->type == NY_CONF_PREFIX_PING || p->type == NY_CONF_PREFIX_HTTP;
}

int ny_health_set(struct ny_health *h, const struct ny_conf_prefix *prefixes, size_t n, bool *kept)
{
	struct ny_health_monitor **pm, *m;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		kept[i] = false;
	pthread_mutex_lock(&h->lock);
	if (h->closed) {
		ret = -ESHUTDOWN;
		goto out;
	}
	reap(h);
	for (pm = &h->running; (m = *pm);) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!kept[i] && is_checked(&prefixes[i]) && ny_health_conf_equal(&m->conf, &prefixes[i]))
				break;
		if (i < n) {
			kept[i] = true;
			pm = &m->next;
			continue;
		}
		*pm = m->next;
		monitor_signal(m);
		m->next = h->retired;
		h->retired = m;
	}
	for (size_t i = 0; i < n; i++) {
		int r;

		if (kept[i] || !is_checked(&prefixes[i]))
			continue;
		if ((r = monitor_start(h, &prefixes[i], &m)) < 0) {
			ret = r;
			continue;
		}
		m->next = h->running;
		h->running = m;
	}
out:
	pthread_mutex_unlock(&h->lock);
	return ret;
}

bool ny_health_monitor_current(const struct ny_health_monitor *m)
{
	return !atomic_load(&m->stopped);
}

void ny_health_stop(struct ny_health *h)
{
	struct ny_health_monitor *list, *m;

	pthread_mutex_lock(&h->lock);
	h->closed = true;
	while ((m = h->running)) {
		h->running = m->next;
		monitor_signal(m);
		m->next = h->retired;
		h->retired = m;
	}
	list = h->retired;
	h->retired = NULL;
	pthread_mutex_unlock(&h->lock);
	/* Joined outside the lock: a monitor may be inside its report callback, waiting for the owner thread. */
	while ((m = list)) {
		list = m->next;
		pthread_join(m->thread, NULL);
		monitor_free(m);
	}
}

void ny_health_free(struct ny_health *h)
{
	if (!h)
		return;
	ny_health_stop(h);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
