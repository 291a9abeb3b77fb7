/* node.yaml (reference §2.1) plus our own keys (shards, io_backend, aead, validate_source): the typed model and its parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/ydoc.h"

static int node_key(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;
	int ret;

	n->key_pos = ny_conf_y_pos(v);
	ret = ny_conf_y_key(y, v, n->key, "a private key");
	/* The document would otherwise keep the key's text until it is freed. */
	if (v->type == YAML_SCALAR_NODE)
		ny_crypto_wipe(v->data.scalar.value, v->data.scalar.length);
	return ret;
}

static int node_id(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	n->id_pos = ny_conf_y_pos(v);
	return ny_conf_y_string(y, v, &n->id);
}

static int node_port(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;
	uint64_t port;

	n->port_pos = ny_conf_y_pos(v);
	if (ny_conf_y_uint(y, v, UINT16_MAX, &port))
		return -EINVAL;
	n->port = (uint16_t)port;
	return 0;
}

static int dist_url(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	n->dist_url_pos = ny_conf_y_pos(v);
	return ny_conf_y_string(y, v, &n->dist_url);
}

static int dist_key(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_key(y, v, ((struct ny_conf_node *)obj)->dist_key, "the distribution public key");
}

static const struct ny_conf_y_field dist_fields[] = {
	{ "url", true, dist_url },
	{ "key", true, dist_key },
};

static int node_dist(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	n->has_dist = true;
	return ny_conf_y_mapping(y, v, dist_fields, ARRAY_LEN(dist_fields), n);
}

static int node_system_routing(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_bool(y, v, &((struct ny_conf_node *)obj)->use_system_routing);
}

static int node_validate_source(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_bool(y, v, &((struct ny_conf_node *)obj)->validate_source);
}

static int node_no_net(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_bool(y, v, &((struct ny_conf_node *)obj)->no_net_configure);
}

static int node_resolvers(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;
	yaml_node_item_t *items;
	size_t count = ny_conf_y_sequence(y, v, &items);

	if (count == 0)
		return 0;
	n->dns_resolvers = calloc(count, sizeof(*n->dns_resolvers));
	if (!n->dns_resolvers)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < count && ny_conf_y_charge(y, v); i++) {
		yaml_node_t *item = ny_conf_y_node(y, items[i]);
		size_t old = ny_conf_y_push_index(y, i);
		const char *s = ny_conf_y_scalar(y, item, "ip:port");
		struct ny_conf_resolver *res = &n->dns_resolvers[n->n_dns_resolvers];
		char q[NY_CONF_QUOTE_LEN];

		if (s && ny_conf_addrport_parse(&res->addr, &res->port, s) == 0)
			n->n_dns_resolvers++;
		else if (s)
			ny_conf_y_error(y, item,
					"invalid DNS resolver %s: expected ip:port such as 1.1.1.1:53 or [2606:4700::1111]:53",
					ny_conf_quote(q, s));
		ny_conf_y_pop(y, old);
	}
	return 0;
}

static int node_interface(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	n->interface_pos = ny_conf_y_pos(v);
	return ny_conf_y_string(y, v, &n->interface_name);
}

static int node_log_path(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_string(y, v, &((struct ny_conf_node *)obj)->log_path);
}

static int node_observability(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	n->observability_pos = ny_conf_y_pos(v);
	return ny_conf_y_string(y, v, &n->observability_addr);
}

static int node_exclude(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	return ny_conf_y_cidr_list(y, v, &n->exclude_ips, &n->n_exclude_ips);
}

static int node_unexclude(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	struct ny_conf_node *n = obj;

	return ny_conf_y_cidr_list(y, v, &n->unexclude_ips, &n->n_unexclude_ips);
}

static int node_pre_up(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_string_list(y, v, &((struct ny_conf_node *)obj)->pre_up);
}

static int node_post_up(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_string_list(y, v, &((struct ny_conf_node *)obj)->post_up);
}

static int node_pre_down(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_string_list(y, v, &((struct ny_conf_node *)obj)->pre_down);
}

static int node_post_down(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	return ny_conf_y_string_list(y, v, &((struct ny_conf_node *)obj)->post_down);
}

static int node_shards(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	uint64_t shards;

	/* More shards than this is a typo, not a machine. */
	if (ny_conf_y_uint(y, v, 1024, &shards))
		return -EINVAL;
	((struct ny_conf_node *)obj)->shards = (unsigned)shards;
	return 0;
}

/* Matches one of names[] and stores its index; reports the list otherwise. */
static int parse_enum(struct ny_conf_y *y, yaml_node_t *v, const char *const *names, size_t n, const char *expected,
		      int *out)
{
	const char *s = ny_conf_y_scalar(y, v, expected);
	char q[NY_CONF_QUOTE_LEN];

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	ny_conf_y_error(y, v, "invalid value %s: expected %s", ny_conf_quote(q, s), expected);
	return -EINVAL;
}

static int node_io_backend(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	static const char *const names[] = { "auto", "io_uring", "epoll" }; /* enum ny_conf_io_backend order */
	int i;

	if (parse_enum(y, v, names, ARRAY_LEN(names), "auto, io_uring or epoll", &i))
		return -EINVAL;
	((struct ny_conf_node *)obj)->io_backend = (enum ny_conf_io_backend)i;
	return 0;
}

static int node_aead(struct ny_conf_y *y, yaml_node_t *v, void *obj)
{
	static const char *const names[] = { "openssl", "sodium" };
	int i;

	if (parse_enum(y, v, names, ARRAY_LEN(names), "openssl or sodium", &i))
		return -EINVAL;
	((struct ny_conf_node *)obj)->aead = i == 0 ? NY_CONF_AEAD_OPENSSL : NY_CONF_AEAD_SODIUM;
	return 0;
}

static const struct ny_conf_y_field node_fields[] = {
	{ "key", true, node_key },
	{ "id", true, node_id },
	{ "port", false, node_port },
	{ "dist", false, node_dist },
	{ "use_system_routing", false, node_system_routing },
	{ "no_net_configure", false, node_no_net },
	{ "dns_resolvers", false, node_resolvers },
	{ "interface_name", false, node_interface },
	{ "log_path", false, node_log_path },
	{ "observability_addr", false, node_observability },
	{ "exclude_ips", false, node_exclude },
	{ "unexclude_ips", false, node_unexclude },
	{ "pre_up", false, node_pre_up },
	{ "post_up", false, node_post_up },
	{ "pre_down", false, node_pre_down },
	{ "post_down", false, node_post_down },
	{ "shards", false, node_shards },
	{ "io_backend", false, node_io_backend },
	{ "aead", false, node_aead },
	{ "validate_source", false, node_validate_source },
};

int ny_conf_node_parse(struct ny_conf_node **out, const char *name, const char *text, size_t len,
		       struct ny_conf_report *r)
{
	struct ny_conf_node *n;
	int ret;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* reference §9.2: nylon's code has no default port, its docs say 57175; we take the docs' word. */
	n->port = NY_CONF_DEFAULT_PORT;
	n->file = strdup(name);
	n->interface_name = strdup(NY_CONF_DEFAULT_INTERFACE);
	if (!n->file || !n->interface_name)
		ret = -ENOMEM;
	else
		ret = ny_conf_y_parse(n->file, text, len, node_fields, ARRAY_LEN(node_fields), n, r);
	if (ret) {
		ny_conf_node_free(n);
		return ret;
	}
	*out = n;
	return 0;
}

void ny_conf_node_free(struct ny_conf_node *n)
{
	if (!n)
		return;
	ny_crypto_wipe(n->key, sizeof(n->key));
	free(n->file);
	free(n->id);
	free(n->dist_url);
	free(n->dns_resolvers);
	free(n->interface_name);
	free(n->log_path);
	free(n->observability_addr);
	free(n->exclude_ips);
	free(n->unexclude_ips);
	ny_conf_strlist_clear(&n->pre_up);
	ny_conf_strlist_clear(&n->post_up);
	ny_conf_strlist_clear(&n->pre_down);
	ny_conf_strlist_clear(&n->post_down);
	free(n);
}
