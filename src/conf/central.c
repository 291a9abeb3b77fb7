/* central.yaml (reference §2.2): the typed model, its parser and address expansion. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf/ydoc.h"

/* ---- prefixes: a tagged map (PrefixHealthWrapper) ---- */

static int prefix_type(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return 0; /* read before the walk, see parse_prefix() */
}

static int prefix_prefix(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_cidr(y, v, &((struct ny_conf_prefix *)obj)->prefix);
}

static int prefix_metric(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_prefix *p = obj;
	uint64_t m;

	if (ny_conf_y_uint(y, v, UINT32_MAX, &m))
		return -EINVAL;
	p->metric = (uint32_t)m;
	p->has_metric = true;
	return 0;
}

static int prefix_delay(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_duration(y, v, &((struct ny_conf_prefix *)obj)->delay_ns);
}

static int prefix_max_failures(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	uint64_t m;

	if (ny_conf_y_uint(y, v, UINT32_MAX, &m))
		return -EINVAL;
	((struct ny_conf_prefix *)obj)->max_failures = (uint32_t)m;
	return 0;
}

static int prefix_addr(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_addr(y, v, &((struct ny_conf_prefix *)obj)->addr);
}

static int prefix_bind_if(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_string(y, v, &((struct ny_conf_prefix *)obj)->bind_if);
}

static int prefix_url(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_prefix *p = obj;
	char q[NY_CONF_QUOTE_LEN];

	if (ny_conf_y_string(y, v, &p->url))
		return -EINVAL;
	if (!ny_conf_url_valid(p->url) || (strncmp(p->url, "http://", 7) && strncmp(p->url, "https://", 8))) {
		ny_conf_y_error(y, v, "invalid URL %s: expected an http:// or https:// URL", ny_conf_quote(q, p->url));
		return -EINVAL;
	}
	return 0;
}

static const struct ny_conf_y_field static_fields[] = {
	{ "type", true, prefix_type },
	{ "prefix", true, prefix_prefix },
	{ "metric", false, prefix_metric },
};

static const struct ny_conf_y_field ping_fields[] = {
	{ "type", true, prefix_type },       { "prefix", true, prefix_prefix },
	{ "addr", true, prefix_addr },       { "delay", false, prefix_delay },
	{ "max_failures", false, prefix_max_failures }, { "bind_if", false, prefix_bind_if },
	{ "metric", false, prefix_metric },
};

static const struct ny_conf_y_field http_fields[] = {
	{ "type", true, prefix_type },   { "prefix", true, prefix_prefix }, { "url", true, prefix_url },
	{ "delay", false, prefix_delay }, { "metric", false, prefix_metric },
};

static yaml_node_t *mapping_get(struct ny_conf_y *y, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ny_conf_y_node(y, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
			return ny_conf_y_node(y, p->value);
	}
	return NULL;
}

static int parse_prefix(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_prefix *p)
{
	const struct ny_conf_y_field *fields;
	char q[NY_CONF_QUOTE_LEN];
	yaml_node_t *t;
	const char *type;
	size_t n, old;

	p->pos = ny_conf_y_pos(node);
	p->delay_ns = NY_CONF_DEFAULT_DELAY_NS;
	p->max_failures = NY_CONF_DEFAULT_MAX_FAILURES;
	if (node->type != YAML_MAPPING_NODE) {
		ny_conf_y_error(y, node, "expected a mapping with a type (static, ping or http)");
		return -EINVAL;
	}
	t = mapping_get(y, node, "type");
	if (!t) {
		ny_conf_y_error(y, node, "missing required key \"type\": expected static, ping or http");
		return -EINVAL;
	}
	old = ny_conf_y_push_key(y, "type");
	type = ny_conf_y_scalar(y, t, "static, ping or http");
	if (type && !strcmp(type, "static")) {
		p->type = NY_CONF_PREFIX_STATIC;
		fields = static_fields;
		n = ARRAY_LEN(static_fields);
		p->has_metric = true;
	} else if (type && !strcmp(type, "ping")) {
		p->type = NY_CONF_PREFIX_PING;
		fields = ping_fields;
		n = ARRAY_LEN(ping_fields);
	} else if (type && !strcmp(type, "http")) {
		p->type = NY_CONF_PREFIX_HTTP;
		fields = http_fields;
		n = ARRAY_LEN(http_fields);
	} else {
		if (type)
			ny_conf_y_error(y, t, "unknown prefix type %s: expected static, ping or http",
					ny_conf_quote(q, type));
		ny_conf_y_pop(y, old);
		return -EINVAL;
	}
	ny_conf_y_pop(y, old);
	return ny_conf_y_mapping(y, node, fields, n, p);
}

void ny_conf_prefix_clear(struct ny_conf_prefix *p)
{
	free(p->bind_if);
	free(p->url);
	memset(p, 0, sizeof(*p));
}

/* ---- routers and clients ---- */

static int peer_id(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_peer *p = obj;

	p->id_pos = ny_conf_y_pos(v);
	return ny_conf_y_string(y, v, &p->id);
}

static int peer_pubkey(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_peer *p = obj;

	p->pubkey_pos = ny_conf_y_pos(v);
	return ny_conf_y_key(y, v, p->pubkey, "a public key");
}

static int peer_addresses(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_peer *p = obj;
	yaml_node_item_t *items;
	size_t n = ny_conf_y_sequence(y, v, &items);

	if (n == 0)
		return 0;
	p->addresses = calloc(n, sizeof(*p->addresses));
	p->address_pos = calloc(n, sizeof(*p->address_pos));
	if (!p->addresses || !p->address_pos)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < n && ny_conf_y_charge(y, v); i++) {
		yaml_node_t *item = ny_conf_y_node(y, items[i]);
		size_t old = ny_conf_y_push_index(y, i);

		if (ny_conf_y_addr(y, item, &p->addresses[p->n_addresses]) == 0)
			p->address_pos[p->n_addresses++] = ny_conf_y_pos(item);
		ny_conf_y_pop(y, old);
	}
	return 0;
}

static int peer_prefixes(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_peer *p = obj;
	yaml_node_item_t *items;
	size_t n = ny_conf_y_sequence(y, v, &items);

	if (n == 0)
		return 0;
	p->prefixes = calloc(n, sizeof(*p->prefixes));
	if (!p->prefixes)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < n && ny_conf_y_charge(y, v); i++) {
		size_t old = ny_conf_y_push_index(y, i);
		struct ny_conf_prefix *pf = &p->prefixes[p->n_prefixes];

		if (parse_prefix(y, ny_conf_y_node(y, items[i]), pf) == 0)
			p->n_prefixes++;
		else
			ny_conf_prefix_clear(pf);
		ny_conf_y_pop(y, old);
	}
	return 0;
}

static int peer_endpoints(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_peer *p = obj;
	yaml_node_item_t *items;
	size_t n = ny_conf_y_sequence(y, v, &items);

	if (n == 0)
		return 0;
	p->endpoints = calloc(n, sizeof(*p->endpoints));
	if (!p->endpoints)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < n && ny_conf_y_charge(y, v); i++) {
		yaml_node_t *item = ny_conf_y_node(y, items[i]);
		size_t old = ny_conf_y_push_index(y, i);
		const char *s = ny_conf_y_scalar(y, item, "an endpoint");
		char q[NY_CONF_QUOTE_LEN];
		int ret;

		if (s) {
			ret = ny_conf_endpoint_parse(&p->endpoints[p->n_endpoints], s);
			if (ret == -ENOMEM)
				y->err = ret;
			else if (ret)
				ny_conf_y_error(y, item,
						"invalid endpoint %s: expected ip:port, [ipv6]:port, an IP, host:port or "
						"a host name (default port 57175), without a scheme",
						ny_conf_quote(q, s));
			else
				p->endpoints[p->n_endpoints++].pos = ny_conf_y_pos(item);
		}
		ny_conf_y_pop(y, old);
	}
	return 0;
}

static const struct ny_conf_y_field router_fields[] = {
	{ "id", true, peer_id },
	{ "pubkey", true, peer_pubkey },
	{ "addresses", false, peer_addresses },
	{ "prefixes", false, peer_prefixes },
	{ "endpoints", false, peer_endpoints },
};

/* Clients have no endpoints key at all in nylon's model: one there is unknown, so a warning. */
static const struct ny_conf_y_field client_fields[] = {
	{ "id", true, peer_id },
	{ "pubkey", true, peer_pubkey },
	{ "addresses", false, peer_addresses },
	{ "prefixes", false, peer_prefixes },
};

void ny_conf_peer_clear(struct ny_conf_peer *p)
{
	free(p->id);
	free(p->addresses);
	free(p->address_pos);
	for (size_t i = 0; i < p->n_prefixes; i++)
		ny_conf_prefix_clear(&p->prefixes[i]);
	free(p->prefixes);
	for (size_t i = 0; i < p->n_endpoints; i++)
		ny_conf_endpoint_clear(&p->endpoints[i]);
	free(p->endpoints);
	memset(p, 0, sizeof(*p));
}

static int parse_peers(struct ny_conf_y *y, yaml_node_t *v, struct ny_conf_peer **out, size_t *count,
		       bool clients)
{
	yaml_node_item_t *items;
	size_t n = ny_conf_y_sequence(y, v, &items);

	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < n && ny_conf_y_charge(y, v); i++) {
		yaml_node_t *item = ny_conf_y_node(y, items[i]);
		struct ny_conf_peer *p = &(*out)[(*count)++];
		size_t old = ny_conf_y_push_index(y, i);

		p->is_client = clients;
		p->pos = ny_conf_y_pos(item);
		if (clients)
			ny_conf_y_mapping(y, item, client_fields, ARRAY_LEN(client_fields), p);
		else
			ny_conf_y_mapping(y, item, router_fields, ARRAY_LEN(router_fields), p);
		if (!p->id) /* a missing id was reported; keep ids non-NULL for later lookups */
			p->id = strdup("");
		if (!p->id)
			y->err = -ENOMEM;
		ny_conf_y_pop(y, old);
	}
	return 0;
}

/* ---- the top level ---- */

static int central_routers(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_central *c = obj;

	return parse_peers(y, v, &c->routers, &c->n_routers, false);
}

static int central_clients(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_central *c = obj;

	return parse_peers(y, v, &c->clients, &c->n_clients, true);
}

/* reference §2.3: each line is lower-cased and trimmed before it is read. */
static char *normalise_line(const char *s)
{
	size_t len;
	char *out;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	out = strndup(s, len);
	for (size_t i = 0; out && i < len; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	return out;
}

static int central_graph(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_central *c = obj;
	yaml_node_item_t *items;
	size_t n = ny_conf_y_sequence(y, v, &items);

	if (n == 0)
		return 0;
	c->graph = calloc(n, sizeof(*c->graph));
	if (!c->graph)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < n && ny_conf_y_charge(y, v); i++) {
		yaml_node_t *item = ny_conf_y_node(y, items[i]);
		size_t old = ny_conf_y_push_index(y, i);
		const char *s = ny_conf_y_scalar(y, item, "a graph line such as \"a, b\" or \"group = a, b\"");

		if (s) {
			c->graph[c->n_graph].text = normalise_line(s);
			if (!c->graph[c->n_graph].text)
				y->err = -ENOMEM;
			c->graph[c->n_graph++].pos = ny_conf_y_pos(item);
		}
		ny_conf_y_pop(y, old);
	}
	return 0;
}

static int central_timestamp(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_int64(y, v, &((struct ny_conf_central *)obj)->timestamp);
}

static int central_exclude(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_central *c = obj;

	return ny_conf_y_cidr_list(y, v, &c->exclude_ips, &c->n_exclude_ips);
}

static int dist_key(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_key(y, v, ((struct ny_conf_central *)obj)->dist_key, "the distribution public key");
}

static int dist_repos(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_central *c = obj;
	struct ny_conf_strlist l = { NULL, 0 };
	yaml_node_item_t *items;
	int ret = ny_conf_y_string_list(y, v, &l);

	c->dist_repos = l.v;
	c->n_dist_repos = l.n;
	if (ret || l.n == 0)
		return ret;
	c->dist_repo_pos = calloc(l.n, sizeof(*c->dist_repo_pos));
	if (!c->dist_repo_pos)
		return y->err = -ENOMEM;
	ny_conf_y_sequence(y, v, &items);
	for (size_t i = 0; i < l.n; i++)
		c->dist_repo_pos[i] = ny_conf_y_pos(ny_conf_y_node(y, items[i]));
	return 0;
}

static const struct ny_conf_y_field dist_fields[] = {
	{ "key", true, dist_key },
	{ "repos", false, dist_repos },
};

static int central_dist(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_central *c = obj;

	c->has_dist = true;
	return ny_conf_y_mapping(y, v, dist_fields, ARRAY_LEN(dist_fields), c);
}

static const struct ny_conf_y_field central_fields[] = {
	{ "dist", false, central_dist },
	{ "routers", false, central_routers },
	{ "clients", false, central_clients },
	{ "graph", false, central_graph },
	{ "timestamp", false, central_timestamp },
	{ "exclude_ips", false, central_exclude },
};

int ny_conf_central_parse(struct ny_conf_central **out, const char *name, const char *text, size_t len,
			  struct ny_conf_report *r)
{
	struct ny_conf_central *c;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->file = strdup(name);
	if (!c->file)
		ret = -ENOMEM;
	else
		ret = ny_conf_y_parse(c->file, text, len, central_fields, ARRAY_LEN(central_fields), c, r);
	if (ret) {
		ny_conf_central_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void ny_conf_central_free(struct ny_conf_central *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_routers; i++)
		ny_conf_peer_clear(&c->routers[i]);
	free(c->routers);
	for (size_t i = 0; i < c->n_clients; i++)
		ny_conf_peer_clear(&c->clients[i]);
	free(c->clients);
	for (size_t i = 0; i < c->n_graph; i++)
		free(c->graph[i].text);
	free(c->graph);
	for (size_t i = 0; i < c->n_dist_repos; i++)
		free(c->dist_repos[i]);
	free(c->dist_repos);
	free(c->dist_repo_pos);
	free(c->exclude_ips);
	free(c->edges);
	free(c->file);
	free(c);
}

/* ---- address expansion (reference §2.2, ExpandCentralConfig) ---- */

static bool has_prefix(const struct ny_conf_peer *p, const struct ny_conf_cidr *c)
{
	for (size_t i = 0; i < p->n_prefixes; i++) {
		if (ny_conf_cidr_equal(&p->prefixes[i].prefix, c))
			return true;
	}
	return false;
}

static int expand_peer(struct ny_conf_peer *p)
{
	struct ny_conf_prefix *v;
	size_t added = 0;

	if (p->n_addresses == 0)
		return 0;
	v = calloc(p->n_addresses + p->n_prefixes, sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* Addresses go first, in their order, each once. */
	for (size_t i = 0; i < p->n_addresses; i++) {
		struct ny_conf_cidr c;
		bool dup = false;

		ny_conf_cidr_from_addr(&c, &p->addresses[i]);
		for (size_t j = 0; j < added; j++)
			dup |= ny_conf_cidr_equal(&v[j].prefix, &c);
		if (dup || has_prefix(p, &c))
			continue;
		v[added].type = NY_CONF_PREFIX_STATIC;
		v[added].prefix = c;
		v[added].has_metric = true;
		v[added].pos = p->address_pos ? p->address_pos[i] : (struct ny_conf_pos){ 0, 0 };
		added++;
	}
	if (p->n_prefixes)
		memcpy(v + added, p->prefixes, p->n_prefixes * sizeof(*v));
	free(p->prefixes);
	p->prefixes = v;
	p->n_prefixes += added;
	return 0;
}

int ny_conf_central_expand(struct ny_conf_central *c)
{
	for (size_t i = 0; i < c->n_routers; i++) {
		if (expand_peer(&c->routers[i]))
			return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_clients; i++) {
		if (expand_peer(&c->clients[i]))
			return -ENOMEM;
	}
	return 0;
}

long ny_conf_central_find(const struct ny_conf_central *c, const char *id)
{
	for (size_t i = 0; i < c->n_routers + c->n_clients; i++) {
		if (!strcmp(ny_conf_central_peer(c, i)->id, id))
			return (long)i;
	}
	return -1;
}

const struct ny_conf_peer *ny_conf_central_peer(const struct ny_conf_central *c, size_t index)
{
	return index < c->n_routers ? &c->routers[index] : &c->clients[index - c->n_routers];
}

static int edge_cmp(const void *pa, const void *pb)
{
	const struct ny_conf_edge *a = pa, *b = pb;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

bool ny_conf_central_adjacent(const struct ny_conf_central *c, size_t a, size_t b)
{
	struct ny_conf_edge key = { a < b ? a : b, a < b ? b : a };

	return c->n_edges && bsearch(&key, c->edges, c->n_edges, sizeof(key), edge_cmp);
}
