/* The steps the IPC commands (status, probe, reload, trace) share: their common flags, one request and its
 * answer, and how an answer is checked and printed. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_internal.h"
#include "nylon/ipc.h"

int ny_cli_usage_error(const char *cmd, const char *arg, const char *usage)
{
	fprintf(stderr, "Error: %s: unexpected argument or unknown flag \"%s\"\n", cmd, arg);
	fputs(usage, stderr);
	return NY_CLI_EXIT_USAGE;
}

bool ny_cli_response_ok(struct json_object *response)
{
	struct json_object *ok, *error;

	if (json_object_object_get_ex(response, "ok", &ok) && json_object_get_boolean(ok))
		return true;
	fprintf(stderr, "Error: %s\n",
		json_object_object_get_ex(response, "error", &error) && *json_object_get_string(error) ?
			json_object_get_string(error) : "nylon answered ok=false");
	return false;
}

int ny_cli_ipc_parse_flags(int argc, char **argv, const struct option *longs, const char *usage,
			   struct ny_cli_ipc_flags *f, bool *help, int (*on_flag)(void *ctx, int c, const char *arg),
			   void *ctx)
{
	int c;

	f->ifname = "nylon";
	f->json = false;
	*help = false;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:h", longs, NULL)) != -1) {
		switch (c) {
		case 'i': f->ifname = optarg; break;
		case 'j': f->json = true; break;
		case 'h':
			fputs(usage, stdout);
			*help = true;
			return 0;
		case '?':
			ny_cli_usage_error(argv[0], argv[optind - 1], usage);
			return -EINVAL;
		default:
			if (on_flag && on_flag(ctx, c, optarg) < 0)
				return -EINVAL;
			break;
		}
	}
	return 0;
}

struct json_object *ny_cli_ipc_request(const char *ifname, const char *request, int timeout_ms)
{
	struct json_object *root;
	char err[512], *resp = NULL;

	if (ny_ipc_client_call(ifname, request, timeout_ms, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error: %s\n", err);
		return NULL;
	}
	root = json_tokener_parse(resp);
	free(resp);
	if (!root || !json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "Error: malformed answer from nylon\n");
		json_object_put(root);
		return NULL;
	}
	return root;
}

void ny_cli_print_json(struct json_object *value)
{
	puts(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
}
