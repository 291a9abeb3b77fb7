/* Config distribution (reference §5.1): fetching bundles from repos, the bootstrap of a node that has no central
 * file yet, and the poller that keeps a running node on the newest bundle of its central's `dist.repos`.
 *
 *   repo URL        file:<path> (relative or absolute; file:///abs too) | http://... | https://...
 *   body            at most NY_DIST_MAX_BODY bytes; a longer one is an error (-EFBIG), never truncated
 *   http(s)         libcurl, connect timeout NY_DIST_CONNECT_TIMEOUT_MS, whole transfer NY_DIST_TOTAL_TIMEOUT_MS,
 *                   redirects followed to http(s) only, a status >= 400 is an error. The URL's host is looked up
 *                   through node.yaml's dns_resolvers when it has some (include/nylon/dns.h), else by libcurl.
 *
 * The poller runs on its own thread: every interval it copies the applied config's dist settings (ops->current),
 * fetches each repo in turn, opens the bundle with dist.key, parses, expands and validates the YAML, and hands a
 * config whose timestamp is newer than the applied one to ops->apply (which applies it through the reload path,
 * checks the timestamp again under its lock, and persists it). Nothing it does blocks the routing thread or the
 * data plane; a stop interrupts a transfer in progress.
 *
 * NYLON_DIST_POLL_MS in the environment overrides the 10 s interval (tests; 100 to 3600000).
 */
#ifndef NYLON_DIST_H
#define NYLON_DIST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/crypto.h"

#define NY_DIST_MAX_BODY (1u << 20)        /* reference §5.1: the body is capped at 1 MiB */
#define NY_DIST_POLL_MS 10000u             /* reference §5.1: every 10 s */
#define NY_DIST_CONNECT_TIMEOUT_MS 5000L
#define NY_DIST_TOTAL_TIMEOUT_MS 10000L
#define NY_DIST_POLL_ENV "NYLON_DIST_POLL_MS"

struct ny_conf_central;

/* Fetches a repo's body. *body is NUL-terminated (free()), *len its length. stop, when not NULL, is polled during
 * an http(s) transfer: once it reads true the transfer is abandoned (-ECANCELED). On failure a one-line reason is
 * in err and: -EINVAL (not a URL we fetch), -EPROTONOSUPPORT (another scheme), -EFBIG (over NY_DIST_MAX_BODY),
 * -ETIMEDOUT, -EIO (HTTP error status, transfer failure), -ENOMEM, or a file's -errno. Context: any thread. */
int ny_dist_fetch(const char *url, const atomic_bool *stop, char **body, size_t *len, char *err, size_t err_len);

/* Fetches a bundle, opens it with the distribution public key, parses, expands and validates the config inside.
 * On success *yaml (free()) / *yaml_len are the YAML text and *central (ny_conf_central_free()) its model. On
 * failure a one-line reason is in err (the first config error, or why the fetch or open failed). */
int ny_dist_load(const char *url, const uint8_t key[NY_KEY_LEN], const atomic_bool *stop, char **yaml,
		 size_t *yaml_len, struct ny_conf_central **central, char *err, size_t err_len);

/* Writes data to path atomically with mode 0600: a temporary file in the same directory, fsync, rename, then a
 * best-effort fsync of the directory. A crash leaves the old file or the new one, never a part. 0 or -errno. */
int ny_dist_write_atomic(const char *path, const char *data, size_t len);

/* Bootstrap (reference §5.1): when central_path does not exist, loads node_path, fetches the bundle of its
 * `dist {url, key}`, checks that this node is a router in it, and writes it to central_path (0600, atomically).
 * Returns 0 when central_path exists or was written; otherwise a negative errno with a reason in err (-ENOENT
 * when node.yaml has no dist). Context: startup, before the central file is loaded. */
int ny_dist_bootstrap(const char *central_path, const char *node_path, char *err, size_t err_len);

/* The applied config's distribution settings, copied for the poller. */
struct ny_dist_current {
	bool has_dist;
	uint8_t key[NY_KEY_LEN];
	char **repos; /* malloc'd copies */
	size_t n_repos;
	int64_t timestamp;
};
void ny_dist_current_clear(struct ny_dist_current *c);

enum ny_dist_apply_result {
	NY_DIST_APPLIED,     /* applied and persisted */
	NY_DIST_NOT_NEWER,   /* another update got in first: nothing done */
	NY_DIST_REJECTED,    /* refused (invalid for this node, needs a restart, ...): nothing changed */
	NY_DIST_PERSIST_FAILED, /* applied, but writing the central file failed */
};

struct ny_dist_poller_ops {
	/* Fills *out from the applied config (free it with ny_dist_current_clear). 0 or -ENOMEM. */
	int (*current)(void *ctx, struct ny_dist_current *out);
	/* Applies a validated bundle YAML whose timestamp is timestamp; msg says why not. */
	enum ny_dist_apply_result (*apply)(void *ctx, const char *yaml, size_t len, int64_t timestamp, char *msg,
					   size_t msg_len);
	void *ctx;
};

struct ny_dist_poller;

/* A poller with no thread yet. 0 or -ENOMEM. */
int ny_dist_poller_new(struct ny_dist_poller **out, const struct ny_dist_poller_ops *ops);
/* One round over the applied config's repos; returns how many updates were applied. Context: one thread at a
 * time (the poller's own once started). */
int ny_dist_poller_poll(struct ny_dist_poller *p);
/* Starts the thread: a first round after interval_ms, then one every interval_ms (0: NY_DIST_POLL_MS, or
 * NYLON_DIST_POLL_MS). 0 or -errno. */
int ny_dist_poller_start(struct ny_dist_poller *p, unsigned interval_ms);
/* Stops the thread (interrupting a transfer) and frees the poller. NULL is a no-op. */
void ny_dist_poller_free(struct ny_dist_poller *p);

#endif
