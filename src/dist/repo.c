/* Bundle repos (reference §5.1): loading a bundle from a repo, the bootstrap of a node without a central file, and
 * the poller that applies newer bundles from the applied config's dist.repos.
 *
 * Threads: the poller owns one thread. It reads the applied config only through ops->current and changes it only
 * through ops->apply, both of which take the reload lock on the other side. p->stop is atomic: set under p->lock
 * (so that the sleeping poller's condition variable sees it), read anywhere, transfers in progress included. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/bundle.h"
#include "nylon/conf.h"
#include "nylon/dist.h"
#include "nylon/dns.h"

#define ERR_LEN 512

/* Parses, expands and validates a bundle's YAML (reference §2.2: expansion before validation on every load). */
static int load_text(const char *name, const char *yaml, size_t len, struct ny_conf_central **central, char *err,
		     size_t err_len)
{
	struct ny_conf_report r;
	int ret;

	ny_conf_report_init(&r);
	ret = ny_conf_central_load_text(central, name, yaml, len, &r);
	if (ret == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	else if (ret < 0)
		ny_conf_report_first_error(&r, err, err_len);
	ny_conf_report_free(&r);
	return ret;
}

int ny_dist_load(const char *url, const uint8_t key[NY_KEY_LEN], const atomic_bool *stop, char **yaml,
		 size_t *yaml_len, struct ny_conf_central **central, char *err, size_t err_len)
{
	char why[ERR_LEN];
	char *body = NULL;
	size_t body_len;
	int ret;

	*yaml = NULL;
	*central = NULL;
	if ((ret = ny_dist_fetch(url, stop, &body, &body_len, err, err_len)) < 0)
		return ret;
	ret = ny_bundle_open(body, body_len, key, yaml, yaml_len, why, sizeof(why));
	free(body);
	if (ret < 0) {
		if ((size_t)snprintf(err, err_len, "%s: %s", url, why) >= err_len && err_len > 4)
			memcpy(err + err_len - 4, "...", 4); /* a cut message says so */
		return ret;
	}
	if ((ret = load_text(url, *yaml, *yaml_len, central, err, err_len)) < 0) { /* names url itself */
		free(*yaml);
		*yaml = NULL;
	}
	return ret;
}

int ny_dist_write_atomic(const char *path, const char *data, size_t len)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8), *dir = NULL;
	int fd, ret = 0;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) { /* 0600, beside path: rename stays in one file system */
		ret = -errno;
		goto out;
	}
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	ret = close(fd);
	fd = -1;
	if (ret < 0 || rename(tmp, path) < 0)
		goto fail;
	if ((dir = strdup(path))) {
		int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd); /* best effort: the new file is in place either way */
			close(dfd);
		}
	}
	goto out;
fail:
	ret = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(dir);
	free(tmp);
	return ret;
}

int ny_dist_bootstrap(const char *central_path, const char *node_path, char *err, size_t err_len)
{
	struct ny_conf_central *central = NULL;
	struct ny_conf_node *node = NULL;
	struct ny_conf_report r;
	struct stat st;
	char *yaml = NULL;
	size_t yaml_len;
	int ret;

	if (stat(central_path, &st) == 0 || errno != ENOENT)
		return 0; /* there is a file (or an error the normal load will report) */
	ny_conf_report_init(&r);
	ret = ny_conf_node_load(&node, node_path, NULL, &r);
	if (ret < 0) {
		char why[ERR_LEN];

		ny_conf_report_first_error(&r, why, sizeof(why));
		snprintf(err, err_len, "central config %s does not exist, and the node config that could name a dist to "
			 "fetch it from does not load: %s", central_path, why);
		goto out;
	}
	if (!node->has_dist) {
		snprintf(err, err_len, "central config %s does not exist, and %s has no `dist {url, key}` to fetch it from",
			 central_path, node_path);
		ret = -ENOENT;
		goto out;
	}
	ny_log_info("dist", "central config %s does not exist: fetching it from %s", central_path, node->dist_url);
	if ((ret = ny_dns_set_default_servers(node->dns_resolvers, node->n_dns_resolvers)) < 0) { /* §2.1 */
		snprintf(err, err_len, "dns_resolvers: %s", strerror(-ret));
		goto out;
	}
	if ((ret = ny_dist_load(node->dist_url, node->dist_key, NULL, &yaml, &yaml_len, &central, err, err_len)) < 0)
		goto out;
	ny_conf_report_free(&r);
	ny_conf_report_init(&r);
	if ((ret = ny_conf_node_validate(node, central, &r)) < 0) {
		ny_conf_report_first_error(&r, err, err_len);
		goto out;
	}
	if ((ret = ny_dist_write_atomic(central_path, yaml, yaml_len)) < 0) {
		snprintf(err, err_len, "writing %s: %s", central_path, strerror(-ret));
		goto out;
	}
	ny_log_info("dist", "wrote %s from %s (timestamp %" PRId64 ")", central_path, node->dist_url, central->timestamp);
out:
	ny_conf_report_free(&r);
	ny_conf_central_free(central);
	ny_conf_node_free(node);
	free(yaml);
	return ret;
}

void ny_dist_current_clear(struct ny_dist_current *c)
{
	for (size_t i = 0; i < c->n_repos; i++)
		free(c->repos[i]);
	free(c->repos);
	*c = (struct ny_dist_current){ 0 };
}

struct ny_dist_poller {
	struct ny_dist_poller_ops ops;
	/* The newest timestamp refused by ops->apply: the same bundle is not applied (nor logged) every round. */
	int64_t rejected_ts;
	unsigned interval_ms;
	pthread_t thread;
	bool started;
	atomic_bool stop;     /* set under lock (for the condition variable); read anywhere */
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* CLOCK_MONOTONIC */
};

int ny_dist_poller_new(struct ny_dist_poller **out, const struct ny_dist_poller_ops *ops)
{
	struct ny_dist_poller *p = calloc(1, sizeof(*p));
	pthread_condattr_t attr;

	if (!p)
		return -ENOMEM;
	p->ops = *ops;
	p->rejected_ts = INT64_MIN;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	*out = p;
	return 0;
}

/* One repo: fetch, open, validate, and apply when newer than the applied config. */
static bool poll_repo(struct ny_dist_poller *p, const struct ny_dist_current *cur, const char *repo)
{
	struct ny_conf_central *next = NULL;
	char err[ERR_LEN], msg[ERR_LEN] = "";
	char *yaml = NULL;
	size_t yaml_len;
	bool applied = false;
	int64_t ts;

	if (ny_dist_load(repo, cur->key, &p->stop, &yaml, &yaml_len, &next, err, sizeof(err)) < 0) {
		if (!p->stop)
			ny_log_warn("dist", "Error updating config: %s", err);
		return false;
	}
	ts = next->timestamp;
	ny_conf_central_free(next);
	if (ts <= cur->timestamp || ts <= p->rejected_ts) {
		ny_log_debug("dist", "repo %s: timestamp %" PRId64 ", not newer than %" PRId64, repo, ts,
			     ts <= cur->timestamp ? cur->timestamp : p->rejected_ts);
		goto out;
	}
	ny_log_info("dist", "Found a new config update in repo %s (timestamp %" PRId64 ", applied %" PRId64 ")", repo, ts,
		    cur->timestamp);
	switch (p->ops.apply(p->ops.ctx, yaml, yaml_len, ts, msg, sizeof(msg))) {
	case NY_DIST_APPLIED:
		ny_log_info("dist", "applied the update from repo %s (timestamp %" PRId64 ")", repo, ts);
		applied = true;
		break;
	case NY_DIST_PERSIST_FAILED:
		ny_log_error("dist", "applied the update from repo %s but could not persist it: %s", repo, msg);
		applied = true;
		break;
	case NY_DIST_NOT_NEWER:
		ny_log_debug("dist", "repo %s: %s", repo, msg);
		break;
	case NY_DIST_REJECTED:
		ny_log_warn("dist", "failed to apply central config update from repo %s (timestamp %" PRId64 "): %s", repo,
			    ts, msg);
		p->rejected_ts = ts;
		break;
	}
out:
	free(yaml);
	return applied;
}

int ny_dist_poller_poll(struct ny_dist_poller *p)
{
	int applied = 0;

	for (size_t i = 0;; i++) {
		struct ny_dist_current cur = { 0 };
		bool done;

		/* Re-read after each repo: an update from one repo changes the timestamp (and maybe the repos). */
		if (p->ops.current(p->ops.ctx, &cur) < 0) {
			ny_log_error("dist", "out of memory reading the applied config");
			return applied;
		}
		done = !cur.has_dist || i >= cur.n_repos || p->stop;
		if (!done && poll_repo(p, &cur, cur.repos[i]))
			applied++;
		ny_dist_current_clear(&cur);
		if (done)
			return applied;
	}
}

static unsigned interval_from_env(void)
{
	const char *v = getenv(NY_DIST_POLL_ENV);
	unsigned long ms;
	char *end;

	if (!v || !*v)
		return NY_DIST_POLL_MS;
	ms = strtoul(v, &end, 10);
	if (*end || ms < 100 || ms > 3600000) {
		ny_log_warn("dist", "%s=%s: expected milliseconds from 100 to 3600000; polling every %u ms", NY_DIST_POLL_ENV,
			    v, NY_DIST_POLL_MS);
		return NY_DIST_POLL_MS;
	}
	return (unsigned)ms;
}

/* Sleeps interval_ms unless stopped; returns false once stopped. */
static bool sleep_interval(struct ny_dist_poller *p)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += p->interval_ms / 1000;
	until.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
		;
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return !stop;
}

static void *poller_main(void *arg)
{
	struct ny_dist_poller *p = arg;

	ny_thread_name("ny-dist-poll");
	while (sleep_interval(p))
		ny_dist_poller_poll(p);
	return NULL;
}

int ny_dist_poller_start(struct ny_dist_poller *p, unsigned interval_ms)
{
	int ret;

	p->interval_ms = interval_ms ? interval_ms : interval_from_env();
	if ((ret = pthread_create(&p->thread, NULL, poller_main, p)) != 0)
		return -ret;
	p->started = true;
	ny_log_debug("dist", "polling the repos of the applied config every %u ms", p->interval_ms);
	return 0;
}

void ny_dist_poller_free(struct ny_dist_poller *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->started)
		pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
