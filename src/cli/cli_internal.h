/* Private helpers shared by the subcommands in src/cli/. */
#ifndef NYLON_CLI_INTERNAL_H
#define NYLON_CLI_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NY_CLI_EXIT_USAGE 2 /* the exit status of a usage error, as in cli.c */

/* Config bundles (src/cli/bundle.c). */
int ny_cli_seal(int argc, char **argv);
int ny_cli_open(int argc, char **argv);

/* For a command that takes no arguments and no flags but -h/--help: sets *help, and prints usage on stdout for it.
 * Returns 0, or -EINVAL after printing the error and usage on stderr. An unknown flag is reported before help, as
 * cobra does; "--" ends the flags. */
struct ny_conf_report;
/* Prints every kept diagnostic of a configuration report on stderr, errors prefixed `Error: `. */
void ny_cli_print_report(const struct ny_conf_report *r);

static inline int ny_cli_parse_no_args(int argc, char **argv, const char *usage, bool *help)
{
	const char *extra = NULL;
	bool flags_done = false;

	*help = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!flags_done && strcmp(arg, "--") == 0) {
			flags_done = true;
		} else if (!flags_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			*help = true;
		} else if (!flags_done && arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "Error: %s: unknown flag: %s\n", argv[0], arg);
			fputs(usage, stderr);
			return -EINVAL;
		} else if (!extra) {
			extra = arg;
		}
	}
	if (*help) {
		fputs(usage, stdout);
		return 0;
	}
	if (extra) {
		fprintf(stderr, "Error: %s: unexpected argument \"%s\": the command takes none\n", argv[0], extra);
		fputs(usage, stderr);
		return -EINVAL;
	}
	return 0;
}

#endif
