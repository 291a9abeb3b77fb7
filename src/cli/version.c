/* `nylon version` (alias `v`): the version this binary was built as, in the Go implementation's format. */
#include "nylon/cli.h"

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli_internal.h"

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
	bool help;

	if (ny_cli_parse_no_args(argc, argv, usage, &help) < 0)
		return NY_CLI_EXIT_USAGE;
	if (help)
		return 0;
	printf("Version: %s\n", NY_VERSION);
	return 0;
}
