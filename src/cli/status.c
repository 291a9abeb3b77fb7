/* `nylon status` (reference §1): the daemon's Status over IPC, as tables or as its proto3 JSON. The view is built
 * from the JSON response, not from our structs, so it works against any daemon that speaks nylon's IPC. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "nylon/base.h"
#include "nylon/ipc.h"

#define STATUS_TIMEOUT_MS 5000
#define INF_METRIC 4294967295ll

/* ---- reading the JSON ------------------------------------------------------------------------------------------ */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_string(v) : "";
}

/* Numbers come as JSON numbers or, for 64-bit fields, decimal strings. */
static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return json_object_get_int64(v);
}

static bool flag(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v && json_object_get_boolean(v);
}

static size_t count(struct json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static struct json_object *at(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

/* ---- formatting ------------------------------------------------------------------------------------------------ */

struct view {
	bool color, routes, full;
	int64_t now_s;
};

static void heading(const struct view *v, const char *text)
{
	printf(v->color ? "\n\033[1m%s\033[0m\n" : "\n%s\n", text);
}

static void bytes(char *out, size_t len, int64_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

static void metric(char *out, size_t len, int64_t m)
{
	if (m >= INF_METRIC)
		snprintf(out, len, "INF");
	else
		snprintf(out, len, "%" PRId64, m);
}

static void ago(char *out, size_t len, const struct view *v, int64_t unix_s)
{
	if (unix_s <= 0)
		snprintf(out, len, "never");
	else
		snprintf(out, len, "%" PRId64 "s ago", v->now_s - unix_s);
}

static void until(char *out, size_t len, const struct view *v, int64_t unix_s)
{
	if (unix_s <= 0)
		snprintf(out, len, "never");
	else
		snprintf(out, len, "in %" PRId64 "s", unix_s - v->now_s);
}

static void print_node(const struct view *v, struct json_object *node)
{
	struct json_object *stats = get(node, "stats"), *seqnos = get(node, "seqnos"), *adv = get(node, "advertised");
	char tx[32], rx[32];

	printf("interface: %s\n", str(node, "interface"));
	printf("  node: %s\n  public key: %s\n  listening port: %" PRId64 "\n  config timestamp: %s\n"
	       "  trace enabled: %s\n",
	       str(node, "nodeId"), str(node, "publicKey"), num(node, "listenPort"), str(node, "configTimestamp"),
	       flag(node, "traceEnabled") ? "yes" : "no");
	heading(v, "stats");
	bytes(tx, sizeof(tx), num(stats, "txBytes"));
	bytes(rx, sizeof(rx), num(stats, "rxBytes"));
	printf("  %-11s %-17s %-16s %-11s %-12s %s\n", "neighbours", "active endpoints", "selected routes",
	       "advertised", "tx", "rx");
	printf("  %-11" PRId64 " %-17" PRId64 " %-16" PRId64 " %-11" PRId64 " %-12s %s\n", num(stats, "neighbourCount"),
	       num(stats, "activeEndpointCount"), num(stats, "selectedRouteCount"),
	       num(stats, "advertisedPrefixCount"), tx, rx);
	heading(v, "local seqnos");
	for (size_t i = 0; i < count(seqnos); i++)
		printf("  %-43s %" PRId64 "\n", str(at(seqnos, i), "prefix"), num(at(seqnos, i), "seqno"));
	heading(v, "advertised");
	printf("  %-43s %-20s %-10s %-12s %s\n", "prefix", "router", "metric", "expires", "state");
	for (size_t i = 0; i < count(adv); i++) {
		struct json_object *a = at(adv, i);
		char m[24], exp[32];

		metric(m, sizeof(m), num(a, "metric"));
		until(exp, sizeof(exp), v, num(a, "expiryUnix"));
		printf("  %-43s %-20s %-10s %-12s %s\n", str(a, "prefix"), str(a, "nodeId"), m, exp,
		       flag(a, "passiveHold") ? "passive-hold" : "");
	}
}

static void print_endpoints(const struct view *v, struct json_object *eps)
{
	if (!count(eps))
		return;
	printf("    endpoints:\n");
	for (size_t i = 0; i < count(eps); i++) {
		struct json_object *e = at(eps, i);
		char m[24];

		metric(m, sizeof(m), num(e, "metric"));
		printf("      %-30s %-28s %-8s [%s%s%s]", str(e, "address"),
		       *str(e, "resolved") ? str(e, "resolved") : "unresolved", m,
		       flag(e, "active") ? "active" : "inactive", flag(e, "isBest") ? ",best" : "",
		       flag(e, "remoteInit") ? ",remote" : "");
		if (v->full)
			printf("  rtt=%.3fms stable=%.3fms", (double)num(e, "filteredRttNs") / 1e6,
			       (double)num(e, "stabilizedRttNs") / 1e6);
		putchar('\n');
	}
}

static void print_peer(const struct view *v, struct json_object *n)
{
	struct json_object *wg = get(n, "wireguard"), *adv = get(n, "advertised"), *routes = get(n, "routes");
	char m[24], hs[32], tx[32], rx[32];
	int64_t hs_ns = num(wg, "latestHandshakeUnix");

	printf(v->color ? "  \033[1m%s\033[0m (%s)%s\n" : "  %s (%s)%s\n", str(n, "peerId"), str(n, "publicKey"),
	       flag(n, "passiveClient") ? " [passive client]" : "");
	metric(m, sizeof(m), num(n, "bestMetric"));
	ago(hs, sizeof(hs), v, hs_ns / 1000000000);
	bytes(tx, sizeof(tx), num(wg, "txBytes"));
	bytes(rx, sizeof(rx), num(wg, "rxBytes"));
	printf("    %-12s %-17s %-12s %-12s %s\n", "best metric", "latest handshake", "tx", "rx", "wireguard endpoint");
	printf("    %-12s %-17s %-12s %-12s %s\n", m, hs, tx, rx, *str(wg, "endpoint") ? str(wg, "endpoint") : "-");
	print_endpoints(v, get(n, "endpoints"));
	if (count(adv)) {
		printf("    advertised:");
		for (size_t i = 0; i < count(adv); i++)
			printf(" %s", str(at(adv, i), "prefix"));
		putchar('\n');
	}
	if (v->routes && count(routes)) {
		printf("    routes:\n");
		for (size_t i = 0; i < count(routes); i++) {
			struct json_object *r = get(at(routes, i), "pubRoute");
			char rm[24];

			metric(rm, sizeof(rm), num(get(r, "fd"), "metric"));
			printf("      %-43s router=%-20s seqno=%-6" PRId64 " metric=%s\n", str(get(r, "source"), "prefix"),
			       str(get(r, "source"), "nodeId"), num(get(r, "fd"), "seqno"), rm);
		}
	}
}

static void print_table(const char *title, const struct view *v, struct json_object *t)
{
	heading(v, title);
	for (size_t i = 0; i < count(t); i++)
		printf("  %-43s %s%s\n", str(at(t, i), "prefix"), str(at(t, i), "nh"),
		       flag(at(t, i), "blackhole") ? "  blackhole" : "");
}

static void print_routes(const struct view *v, struct json_object *routes, struct json_object *fds)
{
	struct json_object *sel = get(routes, "selected");

	heading(v, "routes");
	printf("  %-43s %-20s %-20s %-6s %-10s%s\n", "prefix", "nh", "router", "seqno", "metric",
	       v->full ? " expires      retracted-by" : "");
	for (size_t i = 0; i < count(sel); i++) {
		struct json_object *s = at(sel, i), *r = get(s, "pubRoute"), *by = get(s, "retractedBy");
		char m[24], exp[32];

		metric(m, sizeof(m), num(get(r, "fd"), "metric"));
		printf("  %-43s %-20s %-20s %-6" PRId64 " %-10s", str(get(r, "source"), "prefix"), str(s, "nh"),
		       str(get(r, "source"), "nodeId"), num(get(r, "fd"), "seqno"), m);
		if (v->full) {
			until(exp, sizeof(exp), v, num(s, "expireAtUnix"));
			printf(" %-12s", exp);
			for (size_t j = 0; j < count(by); j++)
				printf("%s%s", j ? "," : " ", json_object_get_string(at(by, j)));
		}
		putchar('\n');
	}
	if (v->routes) {
		print_table("forward", v, get(routes, "forward"));
		print_table("exit", v, get(routes, "exit"));
	}
	if (v->full) {
		heading(v, "feasibility distances");
		for (size_t i = 0; i < count(fds); i++) {
			struct json_object *f = at(fds, i);
			char m[24];

			metric(m, sizeof(m), num(get(f, "fd"), "metric"));
			printf("  %-43s router=%-20s seqno=%-6" PRId64 " metric=%s\n", str(get(f, "source"), "prefix"),
			       str(get(f, "source"), "nodeId"), num(get(f, "fd"), "seqno"), m);
		}
	}
}

static void print_status(const struct view *v, struct json_object *st)
{
	struct json_object *nbs = get(st, "neighbours");

	print_node(v, get(st, "node"));
	heading(v, "peers");
	for (size_t i = 0; i < count(nbs); i++)
		print_peer(v, at(nbs, i));
	print_routes(v, get(st, "routes"), get(st, "feasibilityDistances"));
}

/* ---- the command ----------------------------------------------------------------------------------------------- */

static const char usage_text[] = "Usage: nylon status [flags]\n\n"
				 "Shows the state of the running daemon.\n\n"
				 "Flags:\n"
				 "  -i, --interface <name>  nylon's interface (default nylon)\n"
				 "      --json              the daemon's status as JSON\n"
				 "      --routes            also each neighbour's routes and the forward and exit tables\n"
				 "      --full              everything (implies --routes)\n"
				 "      --no-color          no colours (also: NO_COLOR set, or not a terminal)\n"
				 "  -h, --help              this help\n";

static int status_flag(void *ctx, int c, const char *arg)
{
	struct view *v = ctx;

	(void)arg;
	switch (c) {
	case 'r': v->routes = true; break;
	case 'f': v->full = v->routes = true; break;
	case 'n': v->color = false; break;
	}
	return 0;
}

int ny_cli_status(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interface", required_argument, NULL, 'i' }, { "json", no_argument, NULL, 'j' },
		{ "routes", no_argument, NULL, 'r' },          { "full", no_argument, NULL, 'f' },
		{ "no-color", no_argument, NULL, 'n' },        { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct view v = { .color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") };
	struct ny_cli_ipc_flags f;
	struct json_object *root;
	bool help;
	int ret = 1;

	if (ny_cli_ipc_parse_flags(argc, argv, longs, usage_text, &f, &help, status_flag, &v) < 0)
		return NY_CLI_EXIT_USAGE;
	if (help)
		return 0;
	if (optind < argc)
		return ny_cli_usage_error(argv[0], argv[optind], usage_text);
	if (!(root = ny_cli_ipc_request(f.ifname, "{\"status\":{}}", STATUS_TIMEOUT_MS)))
		return 1;
	if (!ny_cli_response_ok(root))
		goto out;
	if (f.json) {
		ny_cli_print_json(get(root, "status"));
	} else {
		v.now_s = (int64_t)(ny_clock_wall_ns() / 1000000000ull);
		print_status(&v, get(root, "status"));
	}
	ret = 0;
out:
	json_object_put(root);
	return ret;
}
