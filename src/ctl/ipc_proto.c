/* nylon's IPC messages in proto3 JSON (reference nylon-behaviour.md §5.4; nylon's protocol/nylon_ipc.proto):
 * lowerCamel names, 64-bit integers as strings, enums as their names, unpopulated fields emitted except unset
 * optional ones (a status endpoint's `resolved`, a WireGuard `endpoint`) and unset oneof members, as protojson with
 * EmitUnpopulated does. A Go nylon CLI must be able to read what this writes and the other way round.
 */
#include "nylon/ipc.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests ----------------------------------------------------------------------------------------------- */

static bool is_name(const char *key, const char *camel, const char *snake)
{
	return strcmp(key, camel) == 0 || (snake && strcmp(key, snake) == 0);
}

/* A proto3 JSON int64 / uint32: a number or a decimal string. */
static int parse_uint(struct json_object *v, uint64_t max, uint64_t *out)
{
	const char *s;
	char *end;

	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0 || (uint64_t)i > max)
			return -ERANGE;
		*out = (uint64_t)i;
		return 0;
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if (d < 0 || d > (double)max || d != (double)(uint64_t)d)
			return -ERANGE;
		*out = (uint64_t)d;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (*end || errno)
		return -EINVAL;
	return *out > max ? -ERANGE : 0;
}

static int parse_probe(struct json_object *o, struct ny_ipc_request *out, char *err, size_t err_len)
{
	json_object_object_foreach(o, key, v) {
		if (is_name(key, "peerId", "peer_id")) {
			if (json_object_is_type(v, json_type_null))
				continue;
			if (!json_object_is_type(v, json_type_string)) {
				snprintf(err, err_len, "invalid value for string field peerId");
				return -EINVAL;
			}
			if (strlen(json_object_get_string(v)) >= sizeof(out->peer_id)) {
				snprintf(err, err_len, "peerId is longer than %zu characters", sizeof(out->peer_id) - 1);
				return -EINVAL;
			}
			snprintf(out->peer_id, sizeof(out->peer_id), "%s", json_object_get_string(v));
		} else if (is_name(key, "timeoutMs", "timeout_ms")) {
			uint64_t ms = 0;

			if (!json_object_is_type(v, json_type_null) && parse_uint(v, INT64_MAX, &ms) < 0) {
				snprintf(err, err_len, "invalid value for int64 field timeoutMs");
				return -EINVAL;
			}
			out->timeout_ms = ms == 0 ? NY_IPC_PROBE_DEFAULT_MS :
					  ms > NY_IPC_PROBE_MAX_MS ? NY_IPC_PROBE_MAX_MS : (uint32_t)ms;
		} else {
			snprintf(err, err_len, "unknown field \"%.64s\" in probe request", key);
			return -EINVAL;
		}
	}
	return 0;
}

/* Members with no fields of ours: reload's `file` (declared by nylon, unused, reference §1) is accepted. */
static int parse_empty(const char *what, struct json_object *o, char *err, size_t err_len)
{
	json_object_object_foreach(o, key, v) {
		(void)v;
		if (strcmp(what, "reload") == 0 && strcmp(key, "file") == 0 &&
		    (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_null)))
			continue;
		snprintf(err, err_len, "unknown field \"%.64s\" in %s request", key, what);
		return -EINVAL;
	}
	return 0;
}

static int parse_member(const char *key, struct json_object *v, struct ny_ipc_request *out, char *err,
			size_t err_len)
{
	static const struct {
		const char *name;
		enum ny_ipc_method method;
	} members[] = {
		{ "status", NY_IPC_STATUS }, { "probe", NY_IPC_PROBE }, { "reload", NY_IPC_RELOAD },
		{ "trace", NY_IPC_TRACE },
	};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (strcmp(key, members[i].name) != 0)
			continue;
		if (json_object_is_type(v, json_type_null))
			return 0; /* protojson: null is the member left unset */
		if (!json_object_is_type(v, json_type_object)) {
			snprintf(err, err_len, "invalid value for message field %s", key);
			return -EINVAL;
		}
		if (out->method != NY_IPC_UNKNOWN) {
			snprintf(err, err_len, "error parsing \"%s\", oneof request is already set", key);
			return -EINVAL;
		}
		out->method = members[i].method;
		if (members[i].method == NY_IPC_PROBE)
			return parse_probe(v, out, err, err_len);
		return parse_empty(key, v, err, err_len);
	}
	snprintf(err, err_len, "unknown field \"%.64s\"", key);
	return -EINVAL;
}

/* Whether a ' appears outside a double-quoted string. */
static bool outside_quote(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (in_string && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			in_string = !in_string;
		else if (!in_string && s[i] == '\'')
			return true;
	}
	return false;
}

int ny_ipc_request_parse(const char *line, size_t len, struct ny_ipc_request *out, char *err, size_t err_len)
{
	struct json_tokener *tok;
	struct json_object *root;
	int ret = 0;

	*out = (struct ny_ipc_request){ .method = NY_IPC_UNKNOWN };
	if (len > NY_IPC_LINE_MAX) {
		snprintf(err, err_len, "request longer than %d bytes", NY_IPC_LINE_MAX);
		return -EINVAL;
	}
	if (memchr(line, '\0', len)) {
		snprintf(err, err_len, "invalid JSON: NUL byte in the request");
		return -EINVAL;
	}
	if (outside_quote(line, len)) { /* json-c takes 'single-quoted' strings even in strict mode */
		snprintf(err, err_len, "invalid JSON: single-quoted string");
		return -EINVAL;
	}
	if (!(tok = json_tokener_new_ex(32)))
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* RFC 8259 only: no single quotes, NaN or comments */
	root = json_tokener_parse_ex(tok, line, (int)len);
	if (!root) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		snprintf(err, err_len, "invalid JSON: %s",
			 e == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(e));
		json_tokener_free(tok);
		return -EINVAL;
	}
	for (size_t at = json_tokener_get_parse_end(tok); at < len; at++) {
		if (line[at] != ' ' && line[at] != '\t' && line[at] != '\r' && line[at] != '\n') {
			snprintf(err, err_len, "invalid JSON: unexpected data after the object at offset %zu", at);
			ret = -EINVAL;
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, err_len, "invalid JSON: expected an object, got %s",
			 json_type_to_name(json_object_get_type(root)));
		ret = -EINVAL;
		goto out;
	}
	json_object_object_foreach(root, key, v) {
		if ((ret = parse_member(key, v, out, err, err_len)) < 0)
			break;
	}
out:
	if (ret < 0)
		*out = (struct ny_ipc_request){ .method = NY_IPC_UNKNOWN };
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

/* ---- responses ---------------------------------------------------------------------------------------------- */

const char *ny_ipc_reload_result_name(enum ny_ipc_reload_result r)
{
	switch (r) {
	case NY_IPC_RELOAD_NOOP: return "NOOP";
	case NY_IPC_RELOAD_APPLIED: return "APPLIED";
	case NY_IPC_RELOAD_REJECTED: return "REJECTED";
	case NY_IPC_RELOAD_RESTART_REQUIRED: return "RESTART_REQUIRED";
	}
	return "NOOP";
}

const char *ny_ipc_probe_status_name(enum ny_probe_status s)
{
	switch (s) {
	case NY_PROBE_REPLIED: return "REPLIED";
	case NY_PROBE_TIMEOUT: return "TIMEOUT";
	case NY_PROBE_SEND_ERROR: return "SEND_ERROR";
	case NY_PROBE_RESOLVE_ERROR: return "RESOLVE_ERROR";
	case NY_PROBE_UNKNOWN: break;
	}
	return "UNKNOWN";
}

static void put(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static void put_str(struct json_object *o, const char *key, const char *s)
{
	put(o, key, json_object_new_string(s ? s : ""));
}

static void put_bool(struct json_object *o, const char *key, bool b)
{
	put(o, key, json_object_new_boolean(b));
}

static void put_u32(struct json_object *o, const char *key, uint32_t v)
{
	put(o, key, json_object_new_int64(v));
}

/* proto3 JSON writes 64-bit integers as strings (JavaScript numbers lose precision beyond 2^53). */
static void put_i64(struct json_object *o, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	put_str(o, key, buf);
}

static void put_u64(struct json_object *o, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	put_str(o, key, buf);
}

static struct json_object *source_json(const struct ny_status_source *s)
{
	struct json_object *o = json_object_new_object();

	put_str(o, "nodeId", s->node_id);
	put_str(o, "prefix", s->prefix);
	return o;
}

static struct json_object *fd_json(const struct ny_status_fd *fd)
{
	struct json_object *o = json_object_new_object();

	put_u32(o, "seqno", fd->seqno);
	put_u32(o, "metric", fd->metric);
	return o;
}

static struct json_object *pub_route_json(const struct ny_status_pub_route *r)
{
	struct json_object *o = json_object_new_object();

	put(o, "source", source_json(&r->source));
	put(o, "fd", fd_json(&r->fd));
	return o;
}

static struct json_object *adverts_json(const struct ny_status_advert *a, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		put_str(o, "nodeId", a[i].node_id);
		put_str(o, "prefix", a[i].prefix);
		put_u32(o, "metric", a[i].metric);
		put_i64(o, "expiryUnix", a[i].expiry_unix);
		put_bool(o, "passiveHold", a[i].passive_hold);
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *node_json(const struct ny_status_node *nd)
{
	struct json_object *o = json_object_new_object(), *seqnos = json_object_new_array(),
			   *stats = json_object_new_object();

	put_str(o, "nodeId", nd->node_id);
	put_str(o, "interface", nd->interface);
	put_str(o, "publicKey", nd->public_key);
	put_u32(o, "listenPort", nd->listen_port);
	put_i64(o, "configTimestamp", nd->config_timestamp);
	put_bool(o, "traceEnabled", nd->trace_enabled);
	put(o, "advertised", adverts_json(nd->advertised, nd->n_advertised));
	for (size_t i = 0; i < nd->n_seqnos; i++) {
		struct json_object *s = json_object_new_object();

		put_str(s, "prefix", nd->seqnos[i].prefix);
		put_u32(s, "seqno", nd->seqnos[i].seqno);
		json_object_array_add(seqnos, s);
	}
	put(o, "seqnos", seqnos);
	put(stats, "neighbourCount", json_object_new_int64(nd->stats.neighbour_count));
	put(stats, "activeEndpointCount", json_object_new_int64(nd->stats.active_endpoint_count));
	put(stats, "selectedRouteCount", json_object_new_int64(nd->stats.selected_route_count));
	put(stats, "advertisedPrefixCount", json_object_new_int64(nd->stats.advertised_prefix_count));
	put_u64(stats, "txBytes", nd->stats.tx_bytes);
	put_u64(stats, "rxBytes", nd->stats.rx_bytes);
	put(o, "stats", stats);
	return o;
}

static struct json_object *endpoint_json(const struct ny_status_endpoint *e)
{
	struct json_object *o = json_object_new_object();

	put_str(o, "address", e->address);
	if (e->resolved[0])
		put_str(o, "resolved", e->resolved);
	put_bool(o, "active", e->active);
	put_bool(o, "remoteInit", e->remote_init);
	put_u32(o, "metric", e->metric);
	put_bool(o, "isBest", e->is_best);
	put_i64(o, "filteredRttNs", e->filtered_rtt_ns);
	put_i64(o, "stabilizedRttNs", e->stabilized_rtt_ns);
	return o;
}

static struct json_object *wireguard_json(const struct ny_status_wg_peer *w)
{
	struct json_object *o = json_object_new_object();

	/* Nanoseconds despite the name, as nylon writes it (reference §5.4). */
	put_i64(o, "latestHandshakeUnix", w->latest_handshake_unix_ns);
	put_u64(o, "txBytes", w->tx_bytes);
	put_u64(o, "rxBytes", w->rx_bytes);
	put_u32(o, "persistentKeepaliveInterval", w->persistent_keepalive_interval);
	if (w->endpoint[0])
		put_str(o, "endpoint", w->endpoint);
	return o;
}

static struct json_object *neighbour_json(const struct ny_status_neighbour *n)
{
	struct json_object *o = json_object_new_object(), *eps = json_object_new_array(),
			   *routes = json_object_new_array();

	put_str(o, "peerId", n->peer_id);
	put_str(o, "publicKey", n->public_key);
	put_bool(o, "passiveClient", n->passive_client);
	put_u32(o, "bestMetric", n->best_metric);
	for (size_t i = 0; i < n->n_endpoints; i++)
		json_object_array_add(eps, endpoint_json(&n->endpoints[i]));
	put(o, "endpoints", eps);
	for (size_t i = 0; i < n->n_routes; i++) {
		struct json_object *r = json_object_new_object();

		put(r, "pubRoute", pub_route_json(&n->routes[i].pub_route));
		put_i64(r, "expireAtUnix", n->routes[i].expire_at_unix);
		json_object_array_add(routes, r);
	}
	put(o, "routes", routes);
	put(o, "advertised", adverts_json(n->advertised, n->n_advertised));
	put(o, "wireguard", wireguard_json(&n->wireguard));
	return o;
}

static struct json_object *table_json(const struct ny_status_table_entry *t, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		put_str(o, "prefix", t[i].prefix);
		put_str(o, "nh", t[i].nh);
		put_bool(o, "blackhole", t[i].blackhole);
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *routes_json(const struct ny_status *st)
{
	struct json_object *o = json_object_new_object(), *sel = json_object_new_array();

	for (size_t i = 0; i < st->n_selected; i++) {
		const struct ny_status_selected *s = &st->selected[i];
		struct json_object *r = json_object_new_object(), *by = json_object_new_array();

		put(r, "pubRoute", pub_route_json(&s->pub_route));
		put_str(r, "nh", s->nh);
		put_i64(r, "expireAtUnix", s->expire_at_unix);
		for (size_t j = 0; j < s->n_retracted_by; j++)
			json_object_array_add(by, json_object_new_string(s->retracted_by[j]));
		put(r, "retractedBy", by);
		json_object_array_add(sel, r);
	}
	put(o, "selected", sel);
	put(o, "forward", table_json(st->forward, st->n_forward));
	put(o, "exit", table_json(st->exit, st->n_exit));
	return o;
}

static struct json_object *status_json(const struct ny_status *st)
{
	struct json_object *o = json_object_new_object(), *nbs = json_object_new_array(),
			   *fds = json_object_new_array();

	put(o, "node", node_json(&st->node));
	for (size_t i = 0; i < st->n_neighbours; i++)
		json_object_array_add(nbs, neighbour_json(&st->neighbours[i]));
	put(o, "neighbours", nbs);
	put(o, "routes", routes_json(st));
	for (size_t i = 0; i < st->n_fds; i++) {
		struct json_object *f = json_object_new_object();

		put(f, "source", source_json(&st->fds[i].source));
		put(f, "fd", fd_json(&st->fds[i].fd));
		json_object_array_add(fds, f);
	}
	put(o, "feasibilityDistances", fds);
	return o;
}

/* Serialises o (and drops it): one line, or 2-space indented with "key": value. */
static char *to_text(struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
	const char *s;
	char *copy;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, flags);
	copy = s ? strdup(s) : NULL;
	json_object_put(o);
	return copy;
}

static struct json_object *response(bool ok, const char *error)
{
	struct json_object *o = json_object_new_object();

	put_bool(o, "ok", ok);
	put_str(o, "error", error);
	return o;
}

char *ny_ipc_response_error(const char *error)
{
	return to_text(response(false, error), false);
}

char *ny_ipc_status_json(const struct ny_status *st, bool pretty)
{
	return to_text(status_json(st), pretty);
}

char *ny_ipc_response_status(const struct ny_status *st)
{
	struct json_object *o = response(true, "");

	put(o, "status", status_json(st));
	return to_text(o, false);
}

char *ny_ipc_response_probe(const struct ny_probe_result *res, size_t n)
{
	struct json_object *o = response(true, ""), *p = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_new_object();

		put_str(r, "address", res[i].address);
		if (res[i].resolved[0])
			put_str(r, "resolved", res[i].resolved);
		put_str(r, "status", ny_ipc_probe_status_name(res[i].status));
		put_i64(r, "latencyNs", res[i].latency_ns);
		json_object_array_add(arr, r);
	}
	put(p, "results", arr);
	put(o, "probe", p);
	return to_text(o, false);
}

char *ny_ipc_response_reload(enum ny_ipc_reload_result result, const char *message)
{
	struct json_object *o = response(result != NY_IPC_RELOAD_REJECTED,
					 result == NY_IPC_RELOAD_REJECTED ? message : ""),
			   *r = json_object_new_object();

	put_str(r, "result", ny_ipc_reload_result_name(result));
	put_str(r, "message", message);
	put(o, "reload", r);
	return to_text(o, false);
}

char *ny_ipc_response_trace(const char *line)
{
	struct json_object *o = response(true, "");

	if (line) {
		struct json_object *t = json_object_new_object();

		put_str(t, "line", line);
		put(o, "trace", t);
	}
	return to_text(o, false);
}
