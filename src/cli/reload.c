/* `nylon reload` (reference §1, §5.4): asks the daemon to re-read its central config and apply it (the daemon's
 * side is run_reload.c). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nylon/cli.h"
#include "nylon/conf.h"
#include "nylon/ipc.h"

#define RELOAD_TIMEOUT_MS 30000

/* ---- the command ---------------------------------------------------------------------------------------------- */

static const char usage_text[] = "Usage: nylon reload [flags]\n\n"
				 "Asks the running daemon to re-read its central config and apply it.\n\n"
				 "Flags:\n"
				 "  -i, --interface <name>  nylon's interface (default nylon)\n"
				 "      --json              print the daemon's answer as JSON\n"
				 "      --file <path>       accepted for compatibility; unused (as in nylon)\n"
				 "  -h, --help              this help\n";

int ny_cli_reload(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interface", required_argument, NULL, 'i' }, { "json", no_argument, NULL, 'j' },
		{ "file", required_argument, NULL, 'f' },      { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *ifname = "nylon";
	bool json = false;
	char err[512], *resp = NULL;
	struct json_object *root = NULL, *reload, *v;
	int c, ret = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:h", longs, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'j': json = true; break;
		case 'f': break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return ny_cli_usage_error(argv[0], argv[optind - 1], usage_text);
		}
	}
	if (optind < argc)
		return ny_cli_usage_error(argv[0], argv[optind], usage_text);
	if (ny_ipc_client_call(ifname, "{\"reload\":{}}", RELOAD_TIMEOUT_MS, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return 1;
	}
	if (!(root = json_tokener_parse(resp)) || !json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "Error: malformed answer from nylon\n");
		goto out;
	}
	if (json) {
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (json_object_object_get_ex(root, "reload", &reload)) {
		printf("Result: %s\n", json_object_object_get_ex(reload, "result", &v) ? json_object_get_string(v) : "NOOP");
		printf("Message: %s\n", json_object_object_get_ex(reload, "message", &v) ? json_object_get_string(v) : "");
	}
	ret = ny_cli_response_ok(root) ? 0 : 1;
out:
	json_object_put(root);
	free(resp);
	return ret;
}
