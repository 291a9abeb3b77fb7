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
	struct ny_cli_ipc_flags f;
	struct json_object *root, *reload, *v;
	bool help;
	int ret;

	if (ny_cli_ipc_parse_flags(argc, argv, longs, usage_text, &f, &help, NULL, NULL) < 0)
		return NY_CLI_EXIT_USAGE;
	if (help)
		return 0;
	if (optind < argc)
		return ny_cli_usage_error(argv[0], argv[optind], usage_text);
	if (!(root = ny_cli_ipc_request(f.ifname, "{\"reload\":{}}", RELOAD_TIMEOUT_MS)))
		return 1;
	/* Printed before the ok check: a REJECTED answer (ok=false) carries the result and the message that say why. */
	if (f.json) {
		ny_cli_print_json(root);
	} else if (json_object_object_get_ex(root, "reload", &reload)) {
		printf("Result: %s\n", json_object_object_get_ex(reload, "result", &v) ? json_object_get_string(v) : "NOOP");
		printf("Message: %s\n", json_object_object_get_ex(reload, "message", &v) ? json_object_get_string(v) : "");
	}
	ret = ny_cli_response_ok(root) ? 0 : 1;
	json_object_put(root);
	return ret;
}
