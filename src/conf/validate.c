/* Cross-field rules of central.yaml and node.yaml (reference §2.1, §2.2, §2.3; nylon's state/validation.go),
 * plus what nylon leaves unchecked but would break a mesh: duplicate public keys (two peers with one key cannot
 * both be told apart by WireGuard) and a local node that is a client (reference §9.3). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

struct peer_ref {
	const struct ny_conf_peer *p;
	size_t index; /* combined index */
};

static void peer_path(const struct ny_conf_central *c, size_t index, const char *suffix, char *buf, size_t len)
{
	if (index < c->n_routers)
		snprintf(buf, len, "routers[%zu]%s", index, suffix);
	else
		snprintf(buf, len, "clients[%zu]%s", index - c->n_routers, suffix);
}

#define error_at(r, file, pos, path, ...) ny_conf_report_add(r, NY_CONF_ERROR, file, pos, path, __VA_ARGS__)

#define ID_EXPECTED "expected lower-case letters, digits and . _ / - (at most 100 characters)"

static int check_ids(const struct ny_conf_central *c, struct ny_conf_report *r)
{
	char path[64], q[NY_CONF_QUOTE_LEN];
	int ret = 0;

	for (size_t i = 0; i < c->n_routers + c->n_clients && !ret; i++) {
		const struct ny_conf_peer *p = ny_conf_central_peer(c, i);

		if (ny_conf_id_valid(p->id))
			continue;
		peer_path(c, i, ".id", path, sizeof(path));
		ret = error_at(r, c->file, p->id_pos, path, "invalid id %s: " ID_EXPECTED, ny_conf_quote(q, p->id));
	}
	return ret;
}

static int ref_id_cmp(const void *a, const void *b)
{
	const struct peer_ref *x = a, *y = b;
	int d = strcmp(x->p->id, y->p->id);

	return d ? d : (x->index > y->index) - (x->index < y->index);
}

static int ref_key_cmp(const void *a, const void *b)
{
	const struct peer_ref *x = a, *y = b;
	int d = memcmp(x->p->pubkey, y->p->pubkey, NY_KEY_LEN);

	return d ? d : (x->index > y->index) - (x->index < y->index);
}

/* Ids are unique across routers and clients; so are public keys. Sorting keeps this O(n log n). */
static int check_unique(const struct ny_conf_central *c, struct ny_conf_report *r, bool keys)
{
	size_t n = c->n_routers + c->n_clients;
	struct peer_ref *v = calloc(n ? n : 1, sizeof(*v));
	char path[64], other[64], q[NY_CONF_QUOTE_LEN];
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct peer_ref){ ny_conf_central_peer(c, i), i };
	qsort(v, n, sizeof(*v), keys ? ref_key_cmp : ref_id_cmp);
	for (size_t i = 1; i < n && !ret; i++) {
		bool same = keys ? !memcmp(v[i].p->pubkey, v[i - 1].p->pubkey, NY_KEY_LEN)
				 : !strcmp(v[i].p->id, v[i - 1].p->id);
		size_t first = i - 1;

		if (!same || (!keys && !v[i].p->id[0]))
			continue;
		while (first > 0 && (keys ? !memcmp(v[first - 1].p->pubkey, v[i].p->pubkey, NY_KEY_LEN)
					  : !strcmp(v[first - 1].p->id, v[i].p->id)))
			first--;
		peer_path(c, v[first].index, "", other, sizeof(other));
		if (keys) {
			peer_path(c, v[i].index, ".pubkey", path, sizeof(path));
			ret = error_at(r, c->file, v[i].p->pubkey_pos, path,
				       "duplicate public key: already used by %s: expected one key per peer", other);
		} else {
			peer_path(c, v[i].index, ".id", path, sizeof(path));
			ret = error_at(r, c->file, v[i].p->id_pos, path,
				       "duplicate id %s: already used by %s, expected ids unique across routers and "
				       "clients", ny_conf_quote(q, v[i].p->id), other);
		}
	}
	free(v);
	return ret;
}

static int check_prefix(const struct ny_conf_central *c, size_t index, size_t j, struct ny_conf_report *r)
{
	const struct ny_conf_peer *p = ny_conf_central_peer(c, index);
	const struct ny_conf_prefix *pf = &p->prefixes[j];
	char path[96], suffix[48], cidr[NY_CONF_CIDR_STRLEN];
	int ret = 0;

	snprintf(suffix, sizeof(suffix), ".prefixes[%zu]", j);
	peer_path(c, index, suffix, path, sizeof(path));
	ny_conf_cidr_format(&pf->prefix, cidr);
	if (p->is_client && pf->type != NY_CONF_PREFIX_STATIC)
		ret = error_at(r, c->file, pf->pos, path, "prefix %s has a health check: expected type static "
			       "(clients are passive WireGuard peers)", cidr);
	if (!ret && pf->type != NY_CONF_PREFIX_STATIC && pf->delay_ns <= 0)
		ret = error_at(r, c->file, pf->pos, path, "delay of %s is not positive: expected a duration > 0", cidr);
	if (!ret && pf->type == NY_CONF_PREFIX_PING && pf->max_failures == 0)
		ret = error_at(r, c->file, pf->pos, path, "max_failures of %s is 0: expected at least 1", cidr);
	for (size_t k = 0; k < j && !ret; k++) {
		if (ny_conf_cidr_equal(&p->prefixes[k].prefix, &pf->prefix)) {
			snprintf(suffix, sizeof(suffix), "prefixes[%zu]", k);
			ret = error_at(r, c->file, pf->pos, path,
				       "duplicate prefix %s: already listed as %s (addresses count as /32 or /128 "
				       "prefixes)", cidr, suffix);
			break;
		}
	}
	return ret;
}

/* One prefix as seen from a gateway. */
struct owned {
	const struct ny_conf_cidr *prefix;
	size_t owner;
	size_t j;
};

static int owned_cmp(const void *a, const void *b)
{
	const struct owned *x = a, *y = b;
	int d = x->prefix->addr.family - y->prefix->addr.family;

	if (!d)
		d = memcmp(x->prefix->addr.bytes, y->prefix->addr.bytes, 16);
	if (!d)
		d = x->prefix->bits - y->prefix->bits;
	if (!d)
		d = (x->owner > y->owner) - (x->owner < y->owner);
	return d;
}

static size_t add_owned(const struct ny_conf_central *c, size_t index, struct owned *v, size_t n)
{
	const struct ny_conf_peer *p = ny_conf_central_peer(c, index);

	for (size_t j = 0; j < p->n_prefixes; j++)
		v[n++] = (struct owned){ &p->prefixes[j].prefix, index, j };
	return n;
}

/* reference §2.2: a router and the clients adjacent to it must not share a prefix, nor two such clients: the
 * gateway has to know which peer owns each prefix. Anycast between routers stays allowed. */
static int check_gateway(const struct ny_conf_central *c, size_t router, const size_t *clients, size_t n_clients,
			 struct ny_conf_report *r)
{
	char path[96], suffix[48], cidr[NY_CONF_CIDR_STRLEN], other[64];
	size_t total = c->routers[router].n_prefixes, n;
	struct owned *v;
	int ret = 0;

	for (size_t i = 0; i < n_clients; i++)
		total += ny_conf_central_peer(c, clients[i])->n_prefixes;
	if (n_clients == 0 || total < 2)
		return 0;
	v = calloc(total, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = add_owned(c, router, v, 0);
	for (size_t i = 0; i < n_clients; i++)
		n = add_owned(c, clients[i], v, n);
	qsort(v, n, sizeof(*v), owned_cmp);
	for (size_t i = 1; i < n && !ret; i++) {
		const struct ny_conf_peer *a, *b;

		if (v[i].owner == v[i - 1].owner || !ny_conf_cidr_equal(v[i].prefix, v[i - 1].prefix))
			continue;
		a = ny_conf_central_peer(c, v[i - 1].owner);
		b = ny_conf_central_peer(c, v[i].owner);
		snprintf(suffix, sizeof(suffix), ".prefixes[%zu]", v[i].j);
		peer_path(c, v[i].owner, suffix, path, sizeof(path));
		ny_conf_cidr_format(v[i].prefix, cidr);
		snprintf(other, sizeof(other), "\"%s\" (gateway \"%s\")", a->id, c->routers[router].id);
		ret = ny_conf_report_add(r, NY_CONF_ERROR, c->file, b->prefixes[v[i].j].pos, path,
					 "prefix %s is also advertised by %s: expected a prefix owned by one peer "
					 "behind a gateway", cidr, other);
	}
	free(v);
	return ret;
}

static int check_ownership(const struct ny_conf_central *c, struct ny_conf_report *r)
{
	size_t *adj = malloc((c->n_edges ? c->n_edges : 1) * sizeof(size_t));
	int ret = 0;

	if (!adj)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_routers && !ret; i++) {
		size_t n = 0;

		/* Edges are sorted by their lower index, and routers come first, so a router's clients are the
		 * edges (i, b) with b >= n_routers. */
		for (size_t e = 0; e < c->n_edges; e++) {
			if (c->edges[e].a == i && c->edges[e].b >= c->n_routers)
				adj[n++] = c->edges[e].b;
		}
		ret = check_gateway(c, i, adj, n, r);
	}
	free(adj);
	return ret;
}

static int check_prefixes(const struct ny_conf_central *c, struct ny_conf_report *r)
{
	int ret = 0;

	for (size_t i = 0; i < c->n_routers + c->n_clients && !ret; i++) {
		for (size_t j = 0; j < ny_conf_central_peer(c, i)->n_prefixes && !ret; j++)
			ret = check_prefix(c, i, j, r);
	}
	return ret;
}

static int check_repos(const struct ny_conf_central *c, struct ny_conf_report *r)
{
	char path[48], q[NY_CONF_QUOTE_LEN];
	int ret = 0;

	for (size_t i = 0; i < c->n_dist_repos && !ret; i++) {
		if (ny_conf_url_valid(c->dist_repos[i]))
			continue;
		snprintf(path, sizeof(path), "dist.repos[%zu]", i);
		ret = error_at(r, c->file, c->dist_repo_pos ? c->dist_repo_pos[i] : (struct ny_conf_pos){ 0, 0 },
			       path, "invalid URL %s: expected file:<path>, http://... or https://...",
			       ny_conf_quote(q, c->dist_repos[i]));
	}
	return ret;
}

static int check_graph(struct ny_conf_central *c, struct ny_conf_report *r)
{
	size_t n = c->n_routers + c->n_clients;
	const char **ids = malloc((n ? n : 1) * sizeof(*ids));
	int ret;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ids[i] = ny_conf_central_peer(c, i)->id;
	free(c->edges);
	c->edges = NULL;
	c->n_edges = 0;
	ret = ny_conf_graph_expand(c->graph, c->n_graph, ids, n, c->file, &c->edges, &c->n_edges, r);
	free(ids);
	return ret;
}

int ny_conf_central_validate(struct ny_conf_central *c, struct ny_conf_report *r)
{
	size_t errors = r->n_errors;
	int ret;

	if ((ret = check_ids(c, r)) || (ret = check_unique(c, r, false)) || (ret = check_unique(c, r, true)) ||
	    (ret = check_prefixes(c, r)) || (ret = check_repos(c, r)))
		return ret;
	ret = check_graph(c, r);
	if (ret == -ENOMEM)
		return ret;
	if (ret == 0 && (ret = check_ownership(c, r)))
		return ret;
	return r->n_errors > errors ? -EINVAL : 0;
}

/* ---- node.yaml ---- */

static int check_local_node(const struct ny_conf_node *n, const struct ny_conf_central *c,
			    struct ny_conf_report *r)
{
	uint8_t pub[NY_KEY_LEN];
	char q[NY_CONF_QUOTE_LEN];
	long i = ny_conf_central_find(c, n->id);
	int ret;

	if (i < 0)
		return error_at(r, n->file, n->id_pos, "id", "node %s is not in %s: expected the id of a router",
				ny_conf_quote(q, n->id), c->file);
	if ((size_t)i >= c->n_routers)
		return error_at(r, n->file, n->id_pos, "id",
				"node %s is a client in %s: expected a router (clients are stock WireGuard peers "
				"and do not run nylon)", ny_conf_quote(q, n->id), c->file);
	ny_crypto_x25519_public(pub, n->key);
	ret = 0;
	if (!ny_crypto_equal(pub, c->routers[i].pubkey, NY_KEY_LEN))
		ret = ny_conf_report_add(r, NY_CONF_WARNING, n->file, n->key_pos, "key",
					 "the public key of this key is not the pubkey of router %s in %s",
					 ny_conf_quote(q, n->id), c->file);
	ny_crypto_wipe(pub, sizeof(pub));
	return ret;
}

int ny_conf_node_validate(const struct ny_conf_node *n, const struct ny_conf_central *c, struct ny_conf_report *r)
{
	size_t errors = r->n_errors;
	char q[NY_CONF_QUOTE_LEN];
	int ret = 0;

	if (ny_crypto_is_zero(n->key, NY_KEY_LEN))
		ret = error_at(r, n->file, n->key_pos, "key", "private key is all zero: expected a key made by `nylon key` or `wg genkey`");
	if (!ret && !ny_conf_id_valid(n->id ? n->id : ""))
		ret = error_at(r, n->file, n->id_pos, "id", "invalid id %s: " ID_EXPECTED, ny_conf_quote(q, n->id ? n->id : ""));
	if (!ret && n->port == 0)
		ret = error_at(r, n->file, n->port_pos, "port", "port 0: expected a UDP port from 1 to 65535");
	if (!ret && !ny_conf_id_valid(n->interface_name))
		ret = error_at(r, n->file, n->interface_pos, "interface_name", "invalid interface name %s: " ID_EXPECTED,
			       ny_conf_quote(q, n->interface_name));
	if (!ret && n->observability_addr && !ny_conf_hostport_valid(n->observability_addr))
		ret = error_at(r, n->file, n->observability_pos, "observability_addr", "invalid address %s: expected host:port such as :9090",
			       ny_conf_quote(q, n->observability_addr));
	if (!ret && n->has_dist && !ny_conf_url_valid(n->dist_url ? n->dist_url : ""))
		ret = error_at(r, n->file, n->dist_url_pos, "dist.url", "invalid URL %s: expected http://..., https://... or file:<path>",
			       ny_conf_quote(q, n->dist_url ? n->dist_url : ""));
	if (!ret && c && n->id && ny_conf_id_valid(n->id))
		ret = check_local_node(n, c, r);
	if (ret)
		return ret;
	return r->n_errors > errors ? -EINVAL : 0;
}
