/* Observability: the HTTP endpoint of `observability_addr` (reference §5.3) and what it serves.
 *
 *   GET /healthz    200 "ok\n"; 503 "shutting down" once ny_obs_server_begin_shutdown() was called
 *   GET /readyz     200 "ok\n" when the routing thread answers within 1 s, else 503 "not ready"
 *   GET /metrics    Prometheus text format 0.0.4; 503 "metrics unavailable" when the snapshot times out
 *   GET /discovery  Prometheus HTTP service discovery JSON: every node with addresses, at the observability port
 *
 * Only GET and HEAD (405 otherwise); any other path is 404.
 *
 * Three layers, each testable alone:
 * - ny_prom: a Prometheus text-format writer. Samples are collected per family and rendered at the end, so each
 *   family's HELP and TYPE appear once and its samples are contiguous whatever order they were added in.
 * - ny_obs_discovery_json / ny_obs_metrics_render: the bodies, from plain data (a central config, a status
 *   snapshot), with no I/O.
 * - ny_obs_server: libmicrohttpd on its own threads (one per connection, bounded), asking a struct ny_obs_source
 *   for readiness and metrics. ny_obs_node_source() is the source backed by a running node.
 *
 * Threads: the server's handlers run on libmicrohttpd's connection threads and only call the source, which must
 * be safe from any thread; the node source goes through ny_dp_routing_call. Start, begin_shutdown and stop are
 * called from one thread (the main thread).
 */
#ifndef NYLON_OBS_H
#define NYLON_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ny_conf_central;
struct ny_dp_node;
struct ny_status;

/* ---- Prometheus text format 0.0.4 writer ---- */

enum ny_prom_type { NY_PROM_COUNTER, NY_PROM_GAUGE };

struct ny_prom_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" */
	const char *value; /* any UTF-8; escaped on output (backslash, double quote, newline) */
};

struct ny_prom;

struct ny_prom *ny_prom_new(void);
void ny_prom_free(struct ny_prom *p);
/* Adds one sample of family `name` ([a-zA-Z_:][a-zA-Z0-9_:]*). The first sample of a family fixes its type and
 * help; a later one with another type is -EINVAL. Labels are copied and sorted by name. -EINVAL for a bad metric
 * or label name or a label name given twice, -ENOMEM. The writer remembers the first error: ny_prom_render then
 * fails with it, so callers may add many samples and check once. */
int ny_prom_add(struct ny_prom *p, const char *name, enum ny_prom_type type, const char *help,
		const struct ny_prom_label *labels, size_t n_labels, double value);
/* The first error of ny_prom_add, 0 if none. */
int ny_prom_error(const struct ny_prom *p);
/* The exposition: families in the order of their first sample, each as "# HELP", "# TYPE" and its samples in the
 * order they were added. *out is NUL-terminated and malloc'd (free()). 0, the first error of ny_prom_add, -EEXIST
 * when two samples of a family have the same label set (a duplicate series), -ENOMEM. */
int ny_prom_render(const struct ny_prom *p, char **out, size_t *len);

/* A sample value as the text format wants it: the shortest "%g" form that reads back as the same double (so
 * counters up to 2^53 are exact: 123456789, not 1.23457e+08), "NaN", "+Inf", "-Inf". */
#define NY_PROM_VALUE_STRLEN 32
void ny_prom_format_value(double v, char out[NY_PROM_VALUE_STRLEN]);

/* ---- bodies ---- */

/* The /discovery document (Prometheus HTTP SD): for every router and client with addresses, in configuration
 * order, {"targets":["<addr>:<port>",...],"labels":{"nylon_node":"<id>"}}; IPv6 addresses bracketed. port is this
 * node's observability port (nylon assumes every node listens on the same one). *out malloc'd, NUL-terminated.
 * 0 or -ENOMEM. */
int ny_obs_discovery_json(const struct ny_conf_central *central, uint16_t port, char **out, size_t *len);

/* Adds every metric of a status snapshot (the 15 series of reference §5.3 and ours) to p. 0 or an ny_prom_add
 * error. */
int ny_obs_metrics_add(struct ny_prom *p, const struct ny_status *st);

/* ---- listening address ---- */

/* Splits `host:port` as Go's net.SplitHostPort: "[v6]:port", "v4:port", "name:port", ":port" (every address). The
 * port is a decimal number 0-65535. host gets "" for ":port"; brackets are removed. 0 or -EINVAL. */
int ny_obs_addr_split(const char *text, char *host, size_t host_len, uint16_t *port);

/* ---- server ---- */

/* Where the server gets what it cannot know itself. Every function may be called from several connection threads
 * at once. */
struct ny_obs_source {
	/* 0 when the node's main loop answered within timeout_ms, else a negative errno. */
	int (*ready)(void *ctx, int timeout_ms);
	/* Adds the metrics to p within about timeout_ms: 0, -ETIMEDOUT (503 "metrics unavailable"), or an error. */
	int (*metrics)(void *ctx, struct ny_prom *p, int timeout_ms);
	void *ctx;
};

/* The source of a running node: readiness is a trivial call answered by the routing thread, metrics a status
 * snapshot (ny_dp_status_collect). node must outlive the server. */
struct ny_obs_source ny_obs_node_source(struct ny_dp_node *node);

#define NY_OBS_READY_TIMEOUT_MS 1000   /* reference §5.3: the main loop answers within 1 s */
#define NY_OBS_METRICS_TIMEOUT_MS 1000 /* as nylon's status snapshot dispatch */
#define NY_OBS_CONNECTION_TIMEOUT_S 5  /* idle connections and slow request headers (nylon: ReadHeaderTimeout 5 s) */
#define NY_OBS_CONNECTION_LIMIT 16     /* concurrent connections; more are refused */

struct ny_obs_server;

/* Listens on addr (`host:port`; a host name is resolved once, the first address used) and serves from its own
 * threads. central gives /discovery (rendered once here; it may be freed after this returns). 0, or a negative
 * errno with the reason in err ("listen 127.0.0.1:9100: Address already in use"). */
int ny_obs_server_start(struct ny_obs_server **out, const char *addr, const struct ny_conf_central *central,
			struct ny_obs_source source, char *err, size_t err_len);
/* The port actually bound (useful with port 0). */
uint16_t ny_obs_server_port(const struct ny_obs_server *s);
/* Re-renders /discovery from a new configuration (a reload). 0 or -ENOMEM (the old document stays). */
int ny_obs_server_set_central(struct ny_obs_server *s, const struct ny_conf_central *central);
/* From now on /healthz answers 503 "shutting down". */
void ny_obs_server_begin_shutdown(struct ny_obs_server *s);
/* Begins shutdown if needed, closes the listening socket, waits for the requests in progress (each bounded by the
 * source's timeouts and the connection timeout) and frees everything. NULL is a no-op. */
void ny_obs_server_stop(struct ny_obs_server *s);

#endif
