/* The IPC protocol as pure functions (nylon/ipc.h): the get=nylon JSON request parser, the proto3 JSON responses of
 * a hand-built status snapshot, the UAPI get=1 answer and the set=1 policy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/ipc.h"
#include "nylon/route.h"

/* ---- requests ---------------------------------------------------------------------------------------------- */

struct req_case {
	const char *line;
	int ret;
	enum ny_ipc_method method;
	const char *peer;
	uint32_t timeout_ms;
};

static const struct req_case valid[] = {
	{ "{\"status\":{}}", 0, NY_IPC_STATUS, "", 0 },
	{ " { \"status\" : { } } \r", 0, NY_IPC_STATUS, "", 0 },
	{ "{\"reload\":{}}", 0, NY_IPC_RELOAD, "", 0 },
	{ "{\"reload\":{\"file\":\"x.yaml\"}}", 0, NY_IPC_RELOAD, "", 0 },
	{ "{\"trace\":{}}", 0, NY_IPC_TRACE, "", 0 },
	{ "{\"probe\":{\"peerId\":\"b\",\"timeoutMs\":2000}}", 0, NY_IPC_PROBE, "b", 2000 },
	{ "{\"probe\":{\"peerId\":\"b\",\"timeoutMs\":\"500\"}}", 0, NY_IPC_PROBE, "b", 500 },
	{ "{\"probe\":{\"peer_id\":\"b\",\"timeout_ms\":0}}", 0, NY_IPC_PROBE, "b", NY_IPC_PROBE_DEFAULT_MS },
	{ "{\"probe\":{\"peerId\":\"b\",\"timeoutMs\":99999}}", 0, NY_IPC_PROBE, "b", NY_IPC_PROBE_MAX_MS },
	{ "{\"probe\":{\"peerId\":\"b\"}}", 0, NY_IPC_PROBE, "b", 0 },
	{ "{}", 0, NY_IPC_UNKNOWN, "", 0 },
	{ "", -EINVAL, NY_IPC_UNKNOWN, "", 0 },
	{ "{\"status\":null}", 0, NY_IPC_UNKNOWN, "", 0 },
};

static const char *const malformed[] = {
	"{",
	"}",
	"[]",
	"null",
	"42",
	"\"status\"",
	"{\"status\":{}",
	"{\"status\":{}}x",
	"{\"status\":{}}{}",
	"{'status':{}}",
	"{\"status\":[]}",
	"{\"status\":1}",
	"{\"status\":{\"x\":1}}",
	"{\"nope\":{}}",
	"{\"status\":{},\"reload\":{}}",
	"{\"probe\":{\"peerId\":5}}",
	"{\"probe\":{\"timeoutMs\":-1}}",
	"{\"probe\":{\"timeoutMs\":\"-1\"}}",
	"{\"probe\":{\"timeoutMs\":\"1x\"}}",
	"{\"probe\":{\"timeoutMs\":1.5}}",
	"{\"probe\":{\"timeoutMs\":true}}",
	"{\"probe\":{\"other\":1}}",
	"{\"reload\":{\"file\":3}}",
	"{\"status\":{}} /* c */",
	"\xff\xfe",
	"{\"status\":{}}\x01",
};

Test(ipc_request, parses_valid_requests)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct ny_ipc_request r;
		char err[256] = "";
		int ret = ny_ipc_request_parse(valid[i].line, strlen(valid[i].line), &r, err, sizeof(err));

		cr_expect_eq(ret, valid[i].ret, "%s: ret %d (%s)", valid[i].line, ret, err);
		if (ret < 0)
			continue;
		cr_expect_eq(r.method, valid[i].method, "%s: method %d", valid[i].line, r.method);
		cr_expect_str_eq(r.peer_id, valid[i].peer, "%s", valid[i].line);
		cr_expect_eq(r.timeout_ms, valid[i].timeout_ms, "%s: timeout %u", valid[i].line, r.timeout_ms);
	}
}

Test(ipc_request, rejects_malformed_requests_with_a_message)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct ny_ipc_request r;
		char err[256] = "";

		cr_expect_eq(ny_ipc_request_parse(malformed[i], strlen(malformed[i]), &r, err, sizeof(err)), -EINVAL,
			     "accepted %s", malformed[i]);
		cr_expect_neq(err[0], '\0', "no message for %s", malformed[i]);
		cr_expect_eq(r.method, NY_IPC_UNKNOWN);
	}
}

Test(ipc_request, rejects_nul_bytes_deep_nesting_and_oversized_lines)
{
	struct ny_ipc_request r;
	char err[256];
	size_t big = NY_IPC_LINE_MAX + 1;
	char *line = malloc(big + 1);

	cr_assert_not_null(line);
	cr_expect_eq(ny_ipc_request_parse("{\"status\":{}}\0", 14, &r, err, sizeof(err)), -EINVAL);
	memset(line, '[', 5000);
	cr_expect_eq(ny_ipc_request_parse(line, 5000, &r, err, sizeof(err)), -EINVAL);
	memset(line, ' ', big);
	memcpy(line, "{\"status\":{}}", 13);
	cr_expect_eq(ny_ipc_request_parse(line, big, &r, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "longer") != NULL, "%s", err);
	free(line);
}

Test(ipc_request, peer_ids_longer_than_a_node_id_are_refused)
{
	char line[400], id[200];
	struct ny_ipc_request r;
	char err[256];

	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(line, sizeof(line), "{\"probe\":{\"peerId\":\"%s\"}}", id);
	cr_expect_eq(ny_ipc_request_parse(line, strlen(line), &r, err, sizeof(err)), -EINVAL);
}

/* ---- a hand-built status ------------------------------------------------------------------------------------ */

static struct ny_status *sample(void)
{
	struct ny_status *st = calloc(1, sizeof(*st));
	struct ny_status_neighbour *n;

	cr_assert_not_null(st);
	strcpy(st->node.node_id, "b");
	strcpy(st->node.interface, "nylon0");
	strcpy(st->node.public_key, "PUB/B=");
	st->node.listen_port = 57175;
	st->node.config_timestamp = 1754000000123456789LL;
	st->node.n_advertised = 1;
	st->node.advertised = calloc(1, sizeof(*st->node.advertised));
	strcpy(st->node.advertised[0].node_id, "b");
	strcpy(st->node.advertised[0].prefix, "10.0.0.2/32");
	st->node.stats = (struct ny_status_node_stats){ 2, 1, 3, 1, 18446744073709551615ull, 7 };

	st->n_neighbours = 2;
	st->neighbours = calloc(2, sizeof(*st->neighbours));
	n = &st->neighbours[0];
	strcpy(n->peer_id, "a");
	memset(n->public_key_raw, 0xab, 32);
	n->best_metric = 120;
	n->n_endpoints = 2;
	n->endpoints = calloc(2, sizeof(*n->endpoints));
	strcpy(n->endpoints[0].address, "a.example:57175");
	strcpy(n->endpoints[0].resolved, "192.0.2.1:57175");
	n->endpoints[0].active = n->endpoints[0].is_best = true;
	n->endpoints[0].metric = 120;
	n->endpoints[0].filtered_rtt_ns = 120000;
	strcpy(n->endpoints[1].address, "unresolvable:1");
	n->endpoints[1].metric = NY_ROUTE_INF;
	n->wireguard = (struct ny_status_wg_peer){ .latest_handshake_unix_ns = 1754000001500000000LL, .tx_bytes = 10,
						   .rx_bytes = 20, .persistent_keepalive_interval = 25 };
	strcpy(n->wireguard.endpoint, "192.0.2.1:57175");
	n = &st->neighbours[1];
	strcpy(n->peer_id, "phone");
	n->passive_client = true;
	memset(n->public_key_raw, 0xcd, 32);
	n->best_metric = NY_ROUTE_INF;

	st->n_selected = 1;
	st->selected = calloc(1, sizeof(*st->selected));
	strcpy(st->selected[0].pub_route.source.node_id, "a");
	strcpy(st->selected[0].pub_route.source.prefix, "10.0.0.1/32");
	st->selected[0].pub_route.fd = (struct ny_status_fd){ 3, 125 };
	strcpy(st->selected[0].nh, "a");
	st->selected[0].expire_at_unix = 1754000025;
	st->n_forward = 3;
	st->forward = calloc(3, sizeof(*st->forward));
	strcpy(st->forward[0].prefix, "10.0.0.1/32");
	strcpy(st->forward[0].nh, "a");
	strcpy(st->forward[1].prefix, "10.0.9.0/24");
	strcpy(st->forward[1].nh, "a");
	st->forward[1].blackhole = true;
	strcpy(st->forward[2].prefix, "fd00::1/128");
	strcpy(st->forward[2].nh, "a");
	st->n_exit = 1;
	st->exit = calloc(1, sizeof(*st->exit));
	strcpy(st->exit[0].prefix, "10.0.0.2/32");
	strcpy(st->exit[0].nh, "b");
	return st;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	cr_assert_not_null(o, "not JSON: %s", text);
	return o;
}

static struct json_object *path(struct json_object *o, const char *keys)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", keys);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			o = json_object_array_get_idx(o, (size_t)atoi(k));
		} else if (!json_object_object_get_ex(o, k, &o)) {
			cr_assert_fail("no %s in %s", k, keys);
		}
	}
	return o;
}

static const char *s(struct json_object *o, const char *keys)
{
	return json_object_get_string(path(o, keys));
}

Test(ipc_json, status_response_is_proto3_json)
{
	struct ny_status *st = sample();
	char *text = ny_ipc_response_status(st);
	struct json_object *o = parse(text), *v;

	cr_expect_null(strchr(text, '\n'), "one line");
	cr_expect(json_object_get_boolean(path(o, "ok")));
	cr_expect_str_eq(s(o, "error"), "");
	cr_expect_str_eq(s(o, "status.node.nodeId"), "b");
	cr_expect_eq(json_object_get_int(path(o, "status.node.listenPort")), 57175);
	/* int64 and uint64 as strings */
	cr_expect(json_object_is_type(path(o, "status.node.configTimestamp"), json_type_string));
	cr_expect_str_eq(s(o, "status.node.configTimestamp"), "1754000000123456789");
	cr_expect_str_eq(s(o, "status.node.stats.txBytes"), "18446744073709551615");
	cr_expect_eq(json_object_get_int(path(o, "status.node.stats.neighbourCount")), 2);
	cr_expect_str_eq(s(o, "status.node.advertised.0.expiryUnix"), "0");
	cr_expect_eq(json_object_get_boolean(path(o, "status.node.advertised.0.passiveHold")), false);
	cr_expect_eq(json_object_get_boolean(path(o, "status.node.traceEnabled")), false);
	cr_expect_eq(json_object_array_length(path(o, "status.node.seqnos")), 0, "empty lists are emitted");
	cr_expect_str_eq(s(o, "status.neighbours.0.endpoints.0.resolved"), "192.0.2.1:57175");
	cr_expect_str_eq(s(o, "status.neighbours.0.endpoints.0.filteredRttNs"), "120000");
	cr_expect_not(json_object_object_get_ex(path(o, "status.neighbours.0.endpoints.1"), "resolved", &v),
		      "an unresolved endpoint has no resolved field");
	cr_expect_eq(json_object_get_int64(path(o, "status.neighbours.0.endpoints.1.metric")), 4294967295LL);
	cr_expect_str_eq(s(o, "status.neighbours.0.wireguard.latestHandshakeUnix"), "1754000001500000000");
	cr_expect_eq(json_object_get_boolean(path(o, "status.neighbours.1.passiveClient")), true);
	cr_expect_not(json_object_object_get_ex(path(o, "status.neighbours.1.wireguard"), "endpoint", &v));
	cr_expect_str_eq(s(o, "status.routes.selected.0.pubRoute.source.prefix"), "10.0.0.1/32");
	cr_expect_eq(json_object_get_int(path(o, "status.routes.selected.0.pubRoute.fd.seqno")), 3);
	cr_expect_str_eq(s(o, "status.routes.selected.0.expireAtUnix"), "1754000025");
	cr_expect_eq(json_object_array_length(path(o, "status.routes.selected.0.retractedBy")), 0);
	cr_expect_eq(json_object_get_boolean(path(o, "status.routes.forward.1.blackhole")), true);
	cr_expect_str_eq(s(o, "status.routes.exit.0.nh"), "b");
	cr_expect_eq(json_object_array_length(path(o, "status.feasibilityDistances")), 0);
	json_object_put(o);
	free(text);
	text = ny_ipc_status_json(st, true);
	cr_expect(strstr(text, "{\n  \"node\": {\n    \"nodeId\": \"b\"") != NULL, "2-space indent: %.80s", text);
	free(text);
	ny_status_free(st);
}

Test(ipc_json, error_probe_reload_and_trace_responses)
{
	struct ny_probe_result res[2] = {
		{ .address = "1.2.3.4:5", .resolved = "1.2.3.4:5", .status = NY_PROBE_REPLIED, .latency_ns = 1500 },
		{ .address = "nowhere:1", .status = NY_PROBE_RESOLVE_ERROR },
	};
	char *t;

	t = ny_ipc_response_error("peer \"x\" is not a neighbour");
	cr_expect_str_eq(t, "{\"ok\":false,\"error\":\"peer \\\"x\\\" is not a neighbour\"}");
	free(t);
	t = ny_ipc_response_probe(res, 2);
	cr_expect_str_eq(t, "{\"ok\":true,\"error\":\"\",\"probe\":{\"results\":[{\"address\":\"1.2.3.4:5\",\"resolved\":"
			    "\"1.2.3.4:5\",\"status\":\"REPLIED\",\"latencyNs\":\"1500\"},{\"address\":\"nowhere:1\","
			    "\"status\":\"RESOLVE_ERROR\",\"latencyNs\":\"0\"}]}}");
	free(t);
	t = ny_ipc_response_reload(NY_IPC_RELOAD_NOOP, "");
	cr_expect_str_eq(t, "{\"ok\":true,\"error\":\"\",\"reload\":{\"result\":\"NOOP\",\"message\":\"\"}}");
	free(t);
	t = ny_ipc_response_reload(NY_IPC_RELOAD_REJECTED, "bad/file");
	cr_expect_str_eq(t, "{\"ok\":false,\"error\":\"bad/file\",\"reload\":{\"result\":\"REJECTED\",\"message\":"
			    "\"bad/file\"}}");
	free(t);
	t = ny_ipc_response_trace(NULL);
	cr_expect_str_eq(t, "{\"ok\":true,\"error\":\"\"}");
	free(t);
	t = ny_ipc_response_trace("Fwd packet: a -> b, via c");
	cr_expect_str_eq(t, "{\"ok\":true,\"error\":\"\",\"trace\":{\"line\":\"Fwd packet: a -> b, via c\"}}");
	free(t);
}

/* ---- UAPI ------------------------------------------------------------------------------------------------- */

static const uint8_t priv[32] = { 1, 2, 3 };

Test(ipc_uapi, get_lists_peers_with_the_prefixes_routed_through_them)
{
	struct ny_status *st = sample();
	char *t = ny_ipc_uapi_get(st, priv);
	const char *want =
		"private_key=0102030000000000000000000000000000000000000000000000000000000000\n"
		"listen_port=57175\n"
		"public_key=abababababababababababababababababababababababababababababababab\n"
		"endpoint=192.0.2.1:57175\n"
		"last_handshake_time_sec=1754000001\n"
		"last_handshake_time_nsec=500000000\n"
		"tx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\n"
		"allowed_ip=10.0.0.1/32\n"
		"allowed_ip=fd00::1/128\n"
		"protocol_version=1\n"
		"public_key=cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"
		"protocol_version=1\n"
		"errno=0\n\n";

	cr_expect_str_eq(t, want);
	free(t);
	ny_status_free(st);
}

struct set_case {
	const char *body;
	int err;
};

static const struct set_case set_cases[] = {
	{ "", 0 },
	{ "listen_port=57175\n", 0 },
	{ "private_key=0102030000000000000000000000000000000000000000000000000000000000\n", 0 },
	{ "fwmark=0\nreplace_peers=false\n", 0 },
	{ "public_key=abababababababababababababababababababababababababababababababab\nupdate_only=true\n"
	  "persistent_keepalive_interval=25\nprotocol_version=1\n", 0 },
	{ "listen_port=1\n", EPERM },
	{ "private_key=0902030000000000000000000000000000000000000000000000000000000000\n", EPERM },
	{ "replace_peers=true\n", EPERM },
	{ "fwmark=7\n", EPERM },
	{ "public_key=0000000000000000000000000000000000000000000000000000000000000000\n", EPERM },
	{ "public_key=abababababababababababababababababababababababababababababababab\nremove=true\n", EPERM },
	{ "public_key=abababababababababababababababababababababababababababababababab\nendpoint=1.2.3.4:5\n",
	  EPERM },
	{ "public_key=abababababababababababababababababababababababababababababababab\nallowed_ip=0.0.0.0/0\n",
	  EPERM },
	{ "public_key=abababababababababababababababababababababababababababababababab\n"
	  "persistent_keepalive_interval=5\n", EPERM },
	{ "listen_port\n", EINVAL },
	{ "listen_port=\n", EINVAL },
	{ "listen_port=70000\n", EINVAL },
	{ "listen_port=-1\n", EINVAL },
	{ "listen_port=1x\n", EINVAL },
	{ "public_key=abc\n", EINVAL },
	{ "public_key=ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\n", EINVAL },
	{ "endpoint=1.2.3.4:5\n", EINVAL },
	{ "nonsense=1\n", EINVAL },
	{ "=\n", EINVAL },
	{ "public_key=abababababababababababababababababababababababababababababababab\nremove=maybe\n", EINVAL },
};

Test(ipc_uapi, set_accepts_no_ops_and_refuses_changes_and_garbage)
{
	struct ny_status *st = sample();

	for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		char why[256] = "";
		int err = ny_ipc_uapi_set(set_cases[i].body, strlen(set_cases[i].body), st, priv, why, sizeof(why));

		cr_expect_eq(err, set_cases[i].err, "%s: %d (%s)", set_cases[i].body, err, why);
		if (err)
			cr_expect_neq(why[0], '\0');
	}
	ny_status_free(st);
}

Test(ipc_uapi, set_refuses_long_lines_and_nul_bytes)
{
	struct ny_status *st = sample();
	char body[600], why[256];

	memset(body, 'k', sizeof(body));
	body[sizeof(body) - 1] = '\n';
	cr_expect_eq(ny_ipc_uapi_set(body, sizeof(body), st, priv, why, sizeof(why)), EINVAL);
	cr_expect_eq(ny_ipc_uapi_set("fwmark=0\0\n", 10, st, priv, why, sizeof(why)), EINVAL);
	ny_status_free(st);
}
