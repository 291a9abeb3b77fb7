/* Configuration: central.yaml and node.yaml as typed models, their validation, and the split-tunnel route set.
 *
 * Compatible with nylon's files (reference §2): same keys, same defaults, same rules. Parsing collects every
 * independent problem into a struct ny_conf_report (file, line, column, field path, what was found and what was
 * expected) instead of stopping at the first one. Unknown keys are warnings.
 *
 * Ownership: every model is owned by its caller and freed with its ny_conf_*_free(). Nothing here keeps global
 * state; all functions are reentrant. ny_conf_node_free() wipes the private key.
 */
#ifndef NYLON_CONF_H
#define NYLON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nylon/crypto.h"

#define NY_CONF_DEFAULT_PORT 57175             /* node `port` and endpoint default port (reference §2.2, §9.2) */
#define NY_CONF_MAX_FILE_SIZE (1024 * 1024)    /* larger files are an error (nylon #107) */
#define NY_CONF_ID_MAX 100                     /* ids and interface names: ^[0-9a-z._/-]+$, <= 100 chars */
#define NY_CONF_DEFAULT_DELAY_NS 15000000000LL /* ping/http health-check delay: 15s */
#define NY_CONF_DEFAULT_MAX_FAILURES 3
#define NY_CONF_DEFAULT_INTERFACE "nylon"

/* ---- diagnostics ---- */

enum ny_conf_severity { NY_CONF_ERROR, NY_CONF_WARNING };

/* One problem. line and column are 1-based; 0 when the problem has no place in the file. path is the field path
 * (`routers[2].prefixes[0].delay`), "" for the whole file. */
struct ny_conf_diag {
	enum ny_conf_severity severity;
	char *file;
	unsigned line;
	unsigned column;
	char *path;
	char *message;
};

#define NY_CONF_REPORT_MAX 256 /* diagnostics kept; more are only counted */

struct ny_conf_report {
	struct ny_conf_diag *diags;
	size_t n;
	size_t cap;
	size_t n_errors;   /* including the ones not kept */
	size_t n_warnings; /* including the ones not kept */
};

void ny_conf_report_init(struct ny_conf_report *r);
void ny_conf_report_free(struct ny_conf_report *r);
/* "file:line:col: path: message" (warnings: "file:line:col: warning: path: message"). snprintf semantics. */
int ny_conf_diag_format(const struct ny_conf_diag *d, char *buf, size_t len);
/* The first kept error as one line ("invalid configuration" when none was kept). snprintf semantics. */
int ny_conf_report_first_error(const struct ny_conf_report *r, char *buf, size_t len);
/* Prints every kept diagnostic of the given severity, one per line. */
void ny_conf_report_print(const struct ny_conf_report *r, enum ny_conf_severity severity, FILE *f);

/* ---- values ---- */

/* Where a value was written, to name it in later errors; line 0 = not from a file. */
struct ny_conf_pos {
	unsigned line;
	unsigned column;
};

/* An IPv4 or IPv6 address; IPv4 uses bytes[0..3]. */
struct ny_conf_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* A prefix, always stored masked (10.0.0.1/24 is kept as 10.0.0.0/24). */
struct ny_conf_cidr {
	struct ny_conf_addr addr;
	uint8_t bits;
};

#define NY_CONF_ADDR_STRLEN 46
#define NY_CONF_CIDR_STRLEN 50

/* Text forms. All return 0 or -EINVAL; none allocates. */
int ny_conf_addr_parse(struct ny_conf_addr *out, const char *text);
int ny_conf_cidr_parse(struct ny_conf_cidr *out, const char *text);
void ny_conf_addr_format(const struct ny_conf_addr *a, char out[NY_CONF_ADDR_STRLEN]);
void ny_conf_cidr_format(const struct ny_conf_cidr *c, char out[NY_CONF_CIDR_STRLEN]);
bool ny_conf_cidr_equal(const struct ny_conf_cidr *a, const struct ny_conf_cidr *b);
/* The /32 or /128 of an address. */
void ny_conf_cidr_from_addr(struct ny_conf_cidr *out, const struct ny_conf_addr *a);

/* Go's time.ParseDuration: `10s`, `1m30s`, `500ms`, `1.5h`, `-2us`, `0`. Units ns us µs μs ms s m h. */
int ny_conf_duration_parse(int64_t *ns, const char *text);

/* `ip:port` with a literal IP (v6 in brackets), as Go's netip.ParseAddrPort (dns_resolvers). */
int ny_conf_addrport_parse(struct ny_conf_addr *addr, uint16_t *port, const char *text);

/* A router endpoint (reference §2.2): `ip:port`, `[v6]:port`, bare IP, `host:port` or bare host; the default port
 * is 57175. Empty text and anything containing `://` are rejected. */
struct ny_conf_endpoint {
	char *text;   /* as written */
	char *host;   /* IP literal (no brackets) or host name */
	uint16_t port;
	bool is_ip;
	struct ny_conf_addr ip; /* when is_ip */
	struct ny_conf_pos pos;
};
int ny_conf_endpoint_parse(struct ny_conf_endpoint *out, const char *text);
void ny_conf_endpoint_clear(struct ny_conf_endpoint *e);

/* ^[0-9a-z._/-]+$ and at most 100 characters (node ids, interface names). */
bool ny_conf_id_valid(const char *id);

/* ---- central.yaml (reference §2.2) ---- */

enum ny_conf_prefix_type { NY_CONF_PREFIX_STATIC, NY_CONF_PREFIX_PING, NY_CONF_PREFIX_HTTP };

struct ny_conf_prefix {
	enum ny_conf_prefix_type type;
	struct ny_conf_cidr prefix;
	uint32_t metric;
	bool has_metric;         /* ping/http: the metric override was given; static: always true */
	int64_t delay_ns;        /* ping/http; default 15s, must be > 0 */
	uint32_t max_failures;   /* ping; default 3, must be > 0 */
	struct ny_conf_addr addr; /* ping target */
	char *bind_if;           /* ping; NULL if absent */
	char *url;               /* http */
	struct ny_conf_pos pos;
};

/* A router (runs nylon) or a passive client (stock WireGuard; no endpoints, static prefixes only). */
struct ny_conf_peer {
	char *id;
	uint8_t pubkey[NY_KEY_LEN];
	bool is_client;
	struct ny_conf_addr *addresses;
	size_t n_addresses;
	struct ny_conf_prefix *prefixes;
	size_t n_prefixes;
	struct ny_conf_endpoint *endpoints;
	size_t n_endpoints;
	struct ny_conf_pos pos;        /* the entry */
	struct ny_conf_pos id_pos;
	struct ny_conf_pos pubkey_pos;
	struct ny_conf_pos *address_pos; /* one per address */
};

/* One graph line, lower-cased and trimmed as nylon reads it (reference §2.3). */
struct ny_conf_graph_line {
	char *text;
	struct ny_conf_pos pos;
};

/* A peering (an edge of the graph): indexes into the combined list routers[0..n_routers) followed by
 * clients[0..n_clients). a < b. */
struct ny_conf_edge {
	size_t a;
	size_t b;
};

struct ny_conf_central {
	char *file;              /* name used in diagnostics */
	bool has_dist;
	uint8_t dist_key[NY_KEY_LEN];
	char **dist_repos;
	struct ny_conf_pos *dist_repo_pos;
	size_t n_dist_repos;
	struct ny_conf_peer *routers;
	size_t n_routers;
	struct ny_conf_peer *clients;
	size_t n_clients;
	struct ny_conf_graph_line *graph;
	size_t n_graph;
	int64_t timestamp;
	struct ny_conf_cidr *exclude_ips;
	size_t n_exclude_ips;
	/* Filled by ny_conf_central_validate(): the expanded graph, sorted by (a, b), without duplicates. */
	struct ny_conf_edge *edges;
	size_t n_edges;
};

/* Parses central.yaml text. name is used in diagnostics. On success *out is a new model (free it), and 0 is
 * returned. Returns -EINVAL (with errors in r, *out NULL) for invalid YAML or values, -ENOMEM. Does not run
 * address expansion or the cross-field validation. */
int ny_conf_central_parse(struct ny_conf_central **out, const char *name, const char *text, size_t len,
			  struct ny_conf_report *r);
/* Parses central text, expands addresses and validates (reference §2.2: expansion before validation on every
 * load, seal and apply). 0 with *out set, else an error (-EINVAL when the report gained errors) and *out NULL. */
int ny_conf_central_load_text(struct ny_conf_central **out, const char *name, const char *text, size_t len,
			      struct ny_conf_report *r);
/* Reads the file (at most 1 MiB) and loads its text with ny_conf_central_load_text(). */
int ny_conf_central_load(struct ny_conf_central **out, const char *path, struct ny_conf_report *r);
/* Address expansion (reference §2.2): each address becomes a static /32 or /128 prefix, metric 0, put first
 * unless the same prefix is already listed. Idempotent. 0 or -ENOMEM. */
int ny_conf_central_expand(struct ny_conf_central *c);
/* Central validation (reference §2.2, §2.3) plus public keys unique. Computes c->edges. 0 or -EINVAL / -ENOMEM. */
int ny_conf_central_validate(struct ny_conf_central *c, struct ny_conf_report *r);
void ny_conf_central_free(struct ny_conf_central *c);
/* Index of a router or client in the combined list, or -1. */
long ny_conf_central_find(const struct ny_conf_central *c, const char *id);
/* The peer at a combined index (routers first, then clients). */
const struct ny_conf_peer *ny_conf_central_peer(const struct ny_conf_central *c, size_t index);
bool ny_conf_central_adjacent(const struct ny_conf_central *c, size_t a, size_t b);

/* Graph expansion alone (reference §2.3), for tests and tools: ids are the node ids (combined list order). */
int ny_conf_graph_expand(const struct ny_conf_graph_line *lines, size_t n_lines, const char *const *ids,
			 size_t n_ids, const char *file, struct ny_conf_edge **edges, size_t *n_edges,
			 struct ny_conf_report *r);

/* ---- node.yaml (reference §2.1) ---- */

enum ny_conf_io_backend { NY_CONF_IO_AUTO, NY_CONF_IO_URING, NY_CONF_IO_EPOLL };
enum ny_conf_aead { NY_CONF_AEAD_DEFAULT, NY_CONF_AEAD_OPENSSL, NY_CONF_AEAD_SODIUM };

struct ny_conf_resolver {
	struct ny_conf_addr addr;
	uint16_t port;
};

struct ny_conf_strlist {
	char **v;
	size_t n;
};

struct ny_conf_node {
	char *file;
	uint8_t key[NY_KEY_LEN]; /* private key; wiped by ny_conf_node_free() */
	char *id;
	uint16_t port;           /* default 57175 (reference §9.2: nylon's code has none; its docs say 57175) */
	bool has_dist;
	char *dist_url;
	uint8_t dist_key[NY_KEY_LEN];
	bool use_system_routing;
	bool no_net_configure;
	struct ny_conf_resolver *dns_resolvers;
	size_t n_dns_resolvers;
	char *interface_name;    /* default "nylon" */
	char *log_path;          /* NULL if absent */
	char *observability_addr; /* NULL if absent (off) */
	struct ny_conf_cidr *exclude_ips;
	size_t n_exclude_ips;
	struct ny_conf_cidr *unexclude_ips;
	size_t n_unexclude_ips;
	struct ny_conf_strlist pre_up, post_up, pre_down, post_down;
	/* Our additions. */
	unsigned shards;         /* 0 = one per CPU */
	enum ny_conf_io_backend io_backend;
	enum ny_conf_aead aead;  /* DEFAULT = let the data path choose */
	/* Drop packets from a neighbour whose source address is not routed back through that neighbour (strict
	 * reverse-path check against the selected routes). Off by default: the reference accepts any source from any
	 * authenticated neighbour (reference §4.1), and asymmetric paths would be dropped. */
	bool validate_source;
	/* Positions for later diagnostics. */
	struct ny_conf_pos id_pos, key_pos, port_pos, dist_url_pos, interface_pos, observability_pos;
};

int ny_conf_node_parse(struct ny_conf_node **out, const char *name, const char *text, size_t len,
		       struct ny_conf_report *r);
/* Reads (at most 1 MiB), parses and validates; against central too when central is not NULL. */
int ny_conf_node_load(struct ny_conf_node **out, const char *path, const struct ny_conf_central *central,
		      struct ny_conf_report *r);
/* Node validation (reference §2.1): key not all zero, port > 0, interface name, observability_addr, dist url;
 * with central: the id names a router (reference §9.3: a client would crash nylon at start). */
int ny_conf_node_validate(const struct ny_conf_node *n, const struct ny_conf_central *central,
			  struct ny_conf_report *r);
void ny_conf_node_free(struct ny_conf_node *n);

/* ---- split-tunnel route set (reference §2.4) ---- */

struct ny_conf_cidr_set {
	const struct ny_conf_cidr *v;
	size_t n;
};

struct ny_conf_routeset_input {
	struct ny_conf_cidr_set routes;          /* every prefix of the selected-route table, INF/held included */
	struct ny_conf_cidr_set central_exclude; /* central exclude_ips */
	struct ny_conf_cidr_set own;             /* prefixes whose selected next hop is this node */
	struct ny_conf_cidr_set node_unexclude;  /* node unexclude_ips */
	struct ny_conf_cidr_set node_exclude;    /* node exclude_ips */
};

/* routes − (((central_exclude ∪ own) − node_unexclude) ∪ node_exclude), as the fewest CIDRs, IPv4 first, each
 * family in address order. *out is malloc'd (free()); may be NULL when *n_out is 0. 0 or -ENOMEM. */
int ny_conf_routeset_compute(const struct ny_conf_routeset_input *in, struct ny_conf_cidr **out, size_t *n_out);

#endif
