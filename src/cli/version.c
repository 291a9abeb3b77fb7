/* `nylon version` (alias `v`): the version this binary was built as, in the Go implementation's format. */
#include "nylon/cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define EXIT_USAGE 2 /* as in cli.c */

#ifndef NY_VERSION
#error "NY_VERSION must be defined by the build (src/CMakeLists.txt)"
#endif

static const char usage[] =
	"Print the version of nylon.\n"
	"\n"
	"Usage:\n"
	"  nylon version [flags]\n"
	"\n"
	"Aliases:\n"
	"  version, v\n"
	"\n"
	"Flags:\n"
	"  -h, --help   help for version\n";

int ny_cli_version(int argc, char **argv)
{
	bool help = false;
	bool flags_done = false;
	const char *extra = NULL;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!flags_done && strcmp(arg, "--") == 0) {
			flags_done = true;
		} else if (!flags_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			help = true;
		} else if (!flags_done && arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "Error: %s: unknown flag: %s\n", argv[0], arg);
			fputs(usage, stderr);
			return EXIT_USAGE;
		} else if (!extra) {
			extra = arg;
		}
	}
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	if (extra) {
		fprintf(stderr, "Error: %s: unexpected argument \"%s\": the command takes none\n", argv[0], extra);
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	printf("Version: %s\n", NY_VERSION);
	return 0;
}
