/* libFuzzer target for the YAML configuration loader: the input is parsed as central.yaml (then expanded and
 * validated) and as node.yaml (then validated against that central config when it parsed), and everything is
 * freed. The loader must never crash, leak or hang on any input of at most 1 MiB. */
#include <stddef.h>
#include <stdint.h>

#include "nylon/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_node *n = NULL;
	struct ny_conf_report r;
	char line[1024];

	if (size > NY_CONF_MAX_FILE_SIZE)
		return 0;
	ny_conf_report_init(&r);
	if (ny_conf_central_parse(&c, "central.yaml", (const char *)data, size, &r) == 0 &&
	    ny_conf_central_expand(c) == 0)
		ny_conf_central_validate(c, &r);
	if (ny_conf_node_parse(&n, "node.yaml", (const char *)data, size, &r) == 0)
		ny_conf_node_validate(n, c, &r);
	/* Formatting every diagnostic exercises the quoting of hostile values. */
	for (size_t i = 0; i < r.n; i++)
		ny_conf_diag_format(&r.diags[i], line, sizeof(line));
	ny_conf_node_free(n);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
	return 0;
}
