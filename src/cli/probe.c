/* `nylon probe <peer>` (reference §1): pings every endpoint of one neighbour through the daemon. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nylon/conf.h"
#include "nylon/ipc.h"

static const char usage_text[] = "Usage: nylon probe <peer-id> [flags]\n\n"
				 "Probes every endpoint of one neighbour.\n\n"
				 "Flags:\n"
				 "  -i, --interface <name>  nylon's interface (default nylon)\n"
				 "      --json              the daemon's answer as JSON\n"
				 "      --timeout <dur>     how long to wait for replies (default 2s; at most 10s)\n"
				 "  -h, --help              this help\n";

static const char *lower_status(const char *s)
{
	if (strcmp(s, "REPLIED") == 0)
		return "ok";
	if (strcmp(s, "TIMEOUT") == 0)
		return "timeout";
	if (strcmp(s, "SEND_ERROR") == 0)
		return "send-error";
	if (strcmp(s, "RESOLVE_ERROR") == 0)
		return "resolve-error";
	return "unknown";
}

static void print_results(struct json_object *root)
{
	struct json_object *probe, *results;

	if (!json_object_object_get_ex(root, "probe", &probe) || !json_object_object_get_ex(probe, "results", &results))
		return;
	for (size_t i = 0; i < json_object_array_length(results); i++) {
		struct json_object *r = json_object_array_get_idx(results, i), *v;
		const char *status = json_object_object_get_ex(r, "status", &v) ? json_object_get_string(v) : "";

		printf("  %s  %s", json_object_object_get_ex(r, "address", &v) ? json_object_get_string(v) : "",
		       lower_status(status));
		if (json_object_object_get_ex(r, "resolved", &v) && *json_object_get_string(v))
			printf("  resolved=%s", json_object_get_string(v));
		if (strcmp(status, "REPLIED") == 0 && json_object_object_get_ex(r, "latencyNs", &v))
			printf("  latency=%.3fms", (double)strtoll(json_object_get_string(v), NULL, 10) / 1e6);
		putchar('\n');
	}
}

static int probe_flag(void *ctx, int c, const char *arg)
{
	int64_t *timeout_ns = ctx;

	if (c == 't' && (ny_conf_duration_parse(timeout_ns, arg) < 0 || *timeout_ns <= 0)) {
		fprintf(stderr, "Error: probe: --timeout: expected a positive duration such as 2s, got \"%s\"\n", arg);
		return -EINVAL;
	}
	return 0;
}

int ny_cli_probe(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interface", required_argument, NULL, 'i' }, { "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },   { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ny_cli_ipc_flags f;
	int64_t timeout_ns = 2000000000LL;
	char *req = NULL;
	struct json_object *root = NULL, *jreq, *p;
	bool help;
	int ret = 1;

	if (ny_cli_ipc_parse_flags(argc, argv, longs, usage_text, &f, &help, probe_flag, &timeout_ns) < 0)
		return NY_CLI_EXIT_USAGE;
	if (help)
		return 0;
	if (optind + 1 != argc) {
		fprintf(stderr, "Error: probe: expected exactly one peer id\n");
		fputs(usage_text, stderr);
		return NY_CLI_EXIT_USAGE;
	}
	/* The server caps the wait at 10 s; ms rounds up so that 1ns still means "wait a little". */
	int64_t ms = (timeout_ns + 999999) / 1000000;

	jreq = json_object_new_object();
	p = json_object_new_object();
	json_object_object_add(p, "peerId", json_object_new_string(argv[optind]));
	json_object_object_add(p, "timeoutMs", json_object_new_int64(ms > NY_IPC_PROBE_MAX_MS ? NY_IPC_PROBE_MAX_MS : ms));
	json_object_object_add(jreq, "probe", p);
	req = strdup(json_object_to_json_string_ext(jreq, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!req) {
		fprintf(stderr, "Error: out of memory\n");
		goto out;
	}
	if (!(root = ny_cli_ipc_request(f.ifname, req, NY_IPC_PROBE_MAX_MS + 5000)) || !ny_cli_response_ok(root))
		goto out;
	if (f.json)
		ny_cli_print_json(root);
	else
		print_results(root);
	ret = 0;
out:
	json_object_put(jreq);
	json_object_put(root);
	free(req);
	return ret;
}
