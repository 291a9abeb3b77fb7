/* libFuzzer target for config bundles: the input is opened as a bundle's text with a fixed distribution key
 * (test/data/bundle/central.pub; the seeds include a valid bundle for it), and, when it opens, parsed as the
 * central config inside. The same input is also given to the timestamp edit of `nylon seal` as YAML text.
 * Neither may crash, leak or hang on any input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nylon/bundle.h"
#include "nylon/conf.h"
#include "nylon/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* test/data/bundle/central.pub */
static const char dist_pub_b64[] = "vMblXAXOct3Q1ktT4IAvy23Vntz9ROt16PHOFNtUlCk=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pub[NY_KEY_LEN];
	static int ready;
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;
	char err[256], *yaml = NULL, *stamped = NULL;
	size_t yaml_len = 0, stamped_len = 0;

	if (!ready) {
		if (ny_crypto_init() || ny_key_from_base64(pub, dist_pub_b64, NY_KEY_BASE64_LEN))
			abort();
		ready = 1;
	}
	if (ny_bundle_open((const char *)data, size, pub, &yaml, &yaml_len, err, sizeof(err)) == 0) {
		ny_conf_report_init(&r);
		if (ny_conf_central_parse(&c, "bundle", yaml, yaml_len, &r) == 0 && ny_conf_central_expand(c) == 0)
			ny_conf_central_validate(c, &r);
		ny_conf_central_free(c);
		ny_conf_report_free(&r);
	}
	free(yaml);
	if (size <= NY_BUNDLE_MAX_YAML)
		ny_bundle_stamp((const char *)data, size, 1754000000000000000LL, &stamped, &stamped_len, err,
				sizeof(err));
	free(stamped);
	return 0;
}
