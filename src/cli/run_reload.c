/* `nylon run`'s live reload (reference §5.1): on SIGHUP or an IPC reload request, re-read the central file it was
 * started with and apply it while the node runs. NOOP when the file did not change, REJECTED when it does not load or
 * validate (nothing changes), RESTART_REQUIRED when this node is no longer a router in it, APPLIED otherwise:
 * neighbours, keys, endpoints and prefixes follow the file, and the node's own addresses on the interface too.
 * node.yaml changes need a restart, as in the reference.
 *
 * The bundle poller (nylon/dist.h) applies a bundle's YAML through the same lock and steps, newer timestamps only,
 * and persists it to the central file under that lock (ny_run_reload_apply_text). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/dataplane.h"
#include "nylon/dist.h"
#include "nylon/ipc.h"
#include "nylon/sys.h"

#define NY_RELOAD_MAX_FILE (1u << 20) /* MaxConfigSize, reference §3.8 */

const char *ny_run_reload_name(enum ny_run_reload_result r)
{
	switch (r) {
	case NY_RELOAD_NOOP: return "NOOP";
	case NY_RELOAD_APPLIED: return "APPLIED";
	case NY_RELOAD_REJECTED: return "REJECTED";
	case NY_RELOAD_RESTART_REQUIRED: return "RESTART_REQUIRED";
	}
	return "UNKNOWN";
}

/* The file's bytes (at most 1 MiB), to tell an unchanged file from a changed one. */
static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(NY_RELOAD_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, NY_RELOAD_MAX_FILE + 1, f);
	fclose(f);
	if (n > NY_RELOAD_MAX_FILE) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*len = n;
	return 0;
}

int ny_run_reload_init(struct ny_run_reload *rl, const char *central_path, struct ny_conf_central *central,
		       const struct ny_conf_node *node, struct ny_dp_node *dp)
{
	*rl = (struct ny_run_reload){ .central_path = central_path, .central = central, .node = node, .dp = dp };
	pthread_mutex_init(&rl->lock, NULL);
	return read_file(central_path, &rl->text, &rl->len);
}

void ny_run_reload_set_os(struct ny_run_reload *rl, struct ny_sys *sys, unsigned ifindex)
{
	pthread_mutex_lock(&rl->lock);
	rl->sys = sys;
	rl->ifindex = ifindex;
	pthread_mutex_unlock(&rl->lock);
}

static bool has_addr(const struct ny_conf_peer *p, const struct ny_conf_addr *a)
{
	for (size_t i = 0; i < p->n_addresses; i++)
		if (p->addresses[i].family == a->family && memcmp(p->addresses[i].bytes, a->bytes, 16) == 0)
			return true;
	return false;
}

/* New addresses of this node before old ones go (reference §4.4: Linux flushes routes with the last address). */
static void sync_addresses(struct ny_run_reload *rl, const struct ny_conf_peer *old, const struct ny_conf_peer *now)
{
	char text[NY_CONF_ADDR_STRLEN];
	int ret;

	if (!rl->sys)
		return;
	for (size_t i = 0; i < now->n_addresses; i++) {
		if (has_addr(old, &now->addresses[i]))
			continue;
		ny_conf_addr_format(&now->addresses[i], text);
		if ((ret = ny_sys_addr_add(rl->sys, rl->ifindex, &now->addresses[i])) < 0)
			ny_log_warn("reload", "adding address %s: %s", text, strerror(-ret));
	}
	for (size_t i = 0; i < old->n_addresses; i++) {
		if (has_addr(now, &old->addresses[i]))
			continue;
		ny_conf_addr_format(&old->addresses[i], text);
		if ((ret = ny_sys_addr_del(rl->sys, rl->ifindex, &old->addresses[i])) < 0 && ret != -EADDRNOTAVAIL)
			ny_log_warn("reload", "removing address %s: %s", text, strerror(-ret));
	}
}

/* Parses, expands and validates central text, and checks this node against it (reference §2.2). */
static int load_text(struct ny_run_reload *rl, const char *name, const char *text, size_t len,
		     struct ny_conf_central **next, char *msg, size_t msg_len)
{
	struct ny_conf_report r;
	int ret;

	ny_conf_report_init(&r);
	ret = ny_conf_central_load_text(next, name, text, len, &r);
	if (ret == 0)
		ret = ny_conf_node_validate(rl->node, *next, &r);
	if (ret == 0 && r.n_errors)
		ret = -EINVAL;
	if (ret < 0) {
		ny_conf_report_first_error(&r, msg, msg_len);
		ny_conf_central_free(*next);
		*next = NULL;
	}
	ny_conf_report_free(&r);
	return ret;
}

/* Applies text (owned: kept as the applied text, or freed). With newer_only, a config whose timestamp is not newer
 * than the applied one is a NOOP. With persist, an APPLIED text is written to the central file before the lock is
 * released; *persist_err is the write's result. */
static enum ny_run_reload_result apply_text_locked(struct ny_run_reload *rl, const char *name, char *text,
						   size_t text_len, bool newer_only, int *persist_err, char *msg,
						   size_t len)
{
	struct ny_conf_central *next = NULL;

	if (text_len == rl->len && memcmp(text, rl->text, text_len) == 0) {
		free(text);
		snprintf(msg, len, "configuration unchanged");
		return NY_RELOAD_NOOP;
	}
	if (load_text(rl, name, text, text_len, &next, msg, len) < 0) {
		free(text);
		return NY_RELOAD_REJECTED;
	}
	if (newer_only && next->timestamp <= rl->central->timestamp) {
		snprintf(msg, len, "timestamp %lld is not newer than the applied %lld", (long long)next->timestamp,
			 (long long)rl->central->timestamp);
		ny_conf_central_free(next);
		free(text);
		return NY_RELOAD_NOOP;
	}
	switch (ny_dp_node_apply(rl->dp, next, msg, len)) {
	case NY_DP_APPLY_APPLIED:
		sync_addresses(rl, ny_conf_central_peer(rl->central, (size_t)ny_conf_central_find(rl->central, rl->node->id)),
			       ny_conf_central_peer(next, (size_t)ny_conf_central_find(next, rl->node->id)));
		ny_conf_central_free(rl->central);
		free(rl->text);
		rl->central = next;
		rl->text = text;
		rl->len = text_len;
		if (persist_err)
			*persist_err = ny_dist_write_atomic(rl->central_path, text, text_len);
		if (rl->applied)
			rl->applied(rl->applied_ctx, next);
		return NY_RELOAD_APPLIED;
	case NY_DP_APPLY_RESTART_REQUIRED:
		ny_conf_central_free(next);
		free(text);
		return NY_RELOAD_RESTART_REQUIRED;
	default:
		ny_conf_central_free(next);
		free(text);
		return NY_RELOAD_REJECTED;
	}
}

static void log_result(enum ny_run_reload_result res, const char *msg)
{
	if (res == NY_RELOAD_REJECTED || res == NY_RELOAD_RESTART_REQUIRED)
		ny_log_warn("reload", "%s: %s", ny_run_reload_name(res), msg);
	else
		ny_log_info("reload", "%s: %s", ny_run_reload_name(res), msg);
}

enum ny_run_reload_result ny_run_reload_apply(struct ny_run_reload *rl, char *msg, size_t len)
{
	enum ny_run_reload_result res;
	char *text = NULL;
	size_t text_len = 0;
	int ret;

	pthread_mutex_lock(&rl->lock);
	if ((ret = read_file(rl->central_path, &text, &text_len)) < 0) {
		snprintf(msg, len, "%s: %s", rl->central_path, strerror(-ret));
		res = NY_RELOAD_REJECTED;
	} else {
		res = apply_text_locked(rl, rl->central_path, text, text_len, false, NULL, msg, len);
	}
	pthread_mutex_unlock(&rl->lock);
	log_result(res, msg);
	return res;
}

enum ny_run_reload_result ny_run_reload_apply_text(struct ny_run_reload *rl, const char *name, const char *text,
						   size_t len, int *persist_err, char *msg, size_t msg_len)
{
	enum ny_run_reload_result res;
	char *copy = malloc(len + 1);

	*persist_err = 0;
	if (!copy) {
		snprintf(msg, msg_len, "out of memory");
		log_result(NY_RELOAD_REJECTED, msg);
		return NY_RELOAD_REJECTED;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&rl->lock);
	res = apply_text_locked(rl, name, copy, len, true, persist_err, msg, msg_len);
	pthread_mutex_unlock(&rl->lock);
	log_result(res, msg);
	return res;
}

int ny_run_reload_dist_current(void *ctx, struct ny_dist_current *out)
{
	struct ny_run_reload *rl = ctx;
	const struct ny_conf_central *c;
	int ret = 0;

	*out = (struct ny_dist_current){ 0 };
	pthread_mutex_lock(&rl->lock);
	c = rl->central;
	out->timestamp = c->timestamp;
	out->has_dist = c->has_dist && c->n_dist_repos > 0;
	memcpy(out->key, c->dist_key, NY_KEY_LEN);
	if (out->has_dist && !(out->repos = calloc(c->n_dist_repos, sizeof(*out->repos))))
		ret = -ENOMEM;
	for (size_t i = 0; ret == 0 && out->has_dist && i < c->n_dist_repos; i++, out->n_repos++)
		if (!(out->repos[i] = strdup(c->dist_repos[i])))
			ret = -ENOMEM;
	pthread_mutex_unlock(&rl->lock);
	if (ret < 0)
		ny_dist_current_clear(out);
	return ret;
}

enum ny_dist_apply_result ny_run_reload_dist_apply(void *ctx, const char *yaml, size_t len, int64_t timestamp,
						   char *msg, size_t msg_len)
{
	struct ny_run_reload *rl = ctx;
	int persist_err;
	char name[64];

	snprintf(name, sizeof(name), "bundle (timestamp %lld)", (long long)timestamp);
	switch (ny_run_reload_apply_text(rl, name, yaml, len, &persist_err, msg, msg_len)) {
	case NY_RELOAD_APPLIED:
		if (persist_err < 0) {
			snprintf(msg, msg_len, "writing %s: %s", rl->central_path, strerror(-persist_err));
			return NY_DIST_PERSIST_FAILED;
		}
		return NY_DIST_APPLIED;
	case NY_RELOAD_NOOP:
		return NY_DIST_NOT_NEWER;
	default:
		return NY_DIST_REJECTED;
	}
}

int ny_run_reload_ipc(void *ctx, char *msg, size_t len)
{
	switch (ny_run_reload_apply(ctx, msg, len)) {
	case NY_RELOAD_NOOP: return NY_IPC_RELOAD_NOOP;
	case NY_RELOAD_APPLIED: return NY_IPC_RELOAD_APPLIED;
	case NY_RELOAD_RESTART_REQUIRED: return NY_IPC_RELOAD_RESTART_REQUIRED;
	default: return NY_IPC_RELOAD_REJECTED;
	}
}

void ny_run_reload_free(struct ny_run_reload *rl)
{
	free(rl->text);
	rl->text = NULL;
	pthread_mutex_destroy(&rl->lock);
}
