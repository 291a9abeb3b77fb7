/* `nylon trace` (reference §1, §5.4): streams the daemon's packet-routing trace lines until either side closes. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nylon/ipc.h"

static const char usage_text[] = "Usage: nylon trace [flags]\n\n"
				 "Streams packet-routing trace lines (the daemon must run with --dbg-trace-tc).\n\n"
				 "Flags:\n"
				 "  -i, --interface <name>  nylon's interface (default nylon)\n"
				 "  -h, --help              this help\n";

struct trace_state {
	bool first;
	bool failed;
};

static int on_line(void *ctx, const char *line)
{
	struct trace_state *ts = ctx;
	struct json_object *root = json_tokener_parse(line), *t, *l;
	int stop = 0;

	if (!root || !json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "Error: malformed answer from nylon\n");
		ts->failed = true;
		stop = 1;
	} else if (!ny_cli_response_ok(root)) {
		ts->failed = true;
		stop = 1;
	} else if (json_object_object_get_ex(root, "trace", &t) && json_object_object_get_ex(t, "line", &l)) {
		puts(json_object_get_string(l));
		fflush(stdout);
	}
	ts->first = false;
	json_object_put(root);
	return stop;
}

int ny_cli_trace(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interface", required_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct trace_state ts = { .first = true };
	const char *ifname = "nylon";
	char err[512];
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:h", longs, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return ny_cli_usage_error(argv[0], argv[optind - 1], usage_text);
		}
	}
	if (optind < argc)
		return ny_cli_usage_error(argv[0], argv[optind], usage_text);
	if (ny_ipc_client_stream(ifname, "{\"trace\":{}}", on_line, &ts, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return 1;
	}
	return ts.failed ? 1 : 0;
}
