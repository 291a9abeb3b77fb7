/* `nylon verify <central> [--node <node>]` (reference §1): parse, expand addresses, validate the central config
 * and, with --node, the node config against it. Every error is printed, not only the first.
 * Exit status: 0 valid, 1 invalid configuration, 2 usage error. */
#include "nylon/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nylon/conf.h"

#define EXIT_INVALID 1

static const char verify_usage[] =
	"Check a central config, and optionally a node config against it, and print every problem found.\n"
	"\n"
	"Usage:\n"
	"  nylon verify <central> [flags]\n"
	"\n"
	"Flags:\n"
	"  -h, --help          help for verify\n"
	"      --node string   also validate this node config against the central config\n";

struct verify_args {
	const char *central;
	const char *node;
	bool help;
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: verify: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(verify_usage, stderr);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	bool flags_done = false;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!flags_done && !strcmp(arg, "--")) {
			flags_done = true;
		} else if (!flags_done && (!strcmp(arg, "--help") || !strcmp(arg, "-h"))) {
			a->help = true;
		} else if (!flags_done && !strcmp(arg, "--node")) {
			if (i + 1 >= argc)
				return usage_error("flag needs an argument: %s", arg);
			a->node = argv[++i];
		} else if (!flags_done && !strncmp(arg, "--node=", 7)) {
			a->node = arg + 7;
		} else if (!flags_done && arg[0] == '-' && arg[1] != '\0') {
			return usage_error("unknown flag: %s", arg);
		} else if (!a->central) {
			a->central = arg;
		} else {
			return usage_error("unexpected argument \"%s\": expected one central config", arg);
		}
	}
	if (!a->help && !a->central)
		return usage_error("%s", "missing the central config argument");
	return 0;
}

int ny_cli_verify(int argc, char **argv)
{
	struct ny_conf_central *central = NULL;
	struct ny_conf_node *node = NULL;
	struct ny_conf_report r;
	struct verify_args a;
	int status = EXIT_INVALID;

	if (parse_args(argc, argv, &a))
		return NY_CLI_EXIT_USAGE;
	if (a.help) {
		fputs(verify_usage, stdout);
		return 0;
	}
	if (ny_crypto_init())
		return EXIT_INVALID;
	ny_conf_report_init(&r);
	if (ny_conf_central_load(&central, a.central, &r) == 0 &&
	    (!a.node || ny_conf_node_load(&node, a.node, central, &r) == 0))
		status = 0;
	if (status == 0 && r.n_errors == 0) {
		ny_cli_print_report(&r); /* warnings only */
		printf("Config is valid\n");
	} else {
		if (r.n_errors == 0)
			fprintf(stderr, "Error: verify: out of memory\n");
		ny_cli_print_report(&r);
		status = EXIT_INVALID;
	}
	ny_conf_node_free(node);
	ny_conf_central_free(central);
	ny_conf_report_free(&r);
	return status;
}
