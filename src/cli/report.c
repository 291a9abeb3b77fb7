/* Configuration diagnostics as the commands print them: errors prefixed `Error: `, warnings as they are. */
#include <stdio.h>

#include "cli/cli_internal.h"
#include "nylon/conf.h"

void ny_cli_print_report(const struct ny_conf_report *r)
{
	char line[1024];

	for (size_t i = 0; i < r->n; i++) {
		ny_conf_diag_format(&r->diags[i], line, sizeof(line));
		fprintf(stderr, "%s%s\n", r->diags[i].severity == NY_CONF_ERROR ? "Error: " : "", line);
	}
	if (r->n_errors + r->n_warnings > r->n)
		fprintf(stderr, "... and %zu more\n", r->n_errors + r->n_warnings - r->n);
}
