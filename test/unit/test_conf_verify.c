/* `nylon verify <central> [--node <node>]`: exit 0 with "Config is valid", 1 with every error on stderr, 2 for
 * usage errors; --help on stdout. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>

#include "nylon/cli.h"

static char central_path[4096], node_path[4096], bad_path[4096];

static void init(void)
{
	const char *dir = getenv("NY_TEST_DATA");

	cr_assert_not_null(dir);
	snprintf(central_path, sizeof(central_path), "%s/conf/two-node-central.yaml", dir);
	snprintf(node_path, sizeof(node_path), "%s/conf/two-node-alpha.yaml", dir);
	snprintf(bad_path, sizeof(bad_path), "%s/conf/invalid-central.yaml", dir);
	cr_redirect_stdout();
	cr_redirect_stderr();
}

TestSuite(conf_verify, .init = init);

static int run(int argc, const char **argv)
{
	int ret = ny_cli_verify(argc, (char **)argv);

	fflush(stdout);
	fflush(stderr);
	return ret;
}

Test(conf_verify, valid_central_and_node_print_config_is_valid)
{
	const char *argv[] = { "verify", central_path, "--node", node_path, NULL };

	cr_assert_eq(run(4, argv), 0);
	cr_assert_stdout_eq_str("Config is valid\n");
	cr_assert_stderr_eq_str("");
}

Test(conf_verify, node_flag_with_equals)
{
	char flag[4200];
	const char *argv[] = { "verify", flag, central_path, NULL };

	snprintf(flag, sizeof(flag), "--node=%s", node_path);
	cr_assert_eq(run(3, argv), 0);
	cr_assert_stdout_eq_str("Config is valid\n");
}

Test(conf_verify, invalid_config_prints_every_error_and_exits_1)
{
	const char *argv[] = { "verify", bad_path, NULL };
	char expected[10000];

	cr_assert_eq(run(2, argv), 1);
	snprintf(expected, sizeof(expected),
		 "Error: %s:4:73: routers[0].prefixes[0].delay: invalid duration \"5x\": expected a Go duration such "
		 "as 15s or 1m30s\n"
		 "Error: %s:6:13: routers[1].pubkey: invalid key \"short\": expected a public key, 32 bytes in "
		 "standard base64 (44 characters)\n",
		 bad_path, bad_path);
	cr_assert_stderr_eq_str(expected);
	cr_assert_stdout_eq_str("");
}

Test(conf_verify, missing_file_exits_1)
{
	const char *argv[] = { "verify", "/nonexistent/central.yaml", NULL };

	cr_assert_eq(run(2, argv), 1);
}

Test(conf_verify, help_goes_to_stdout)
{
	const char *argv[] = { "verify", "--help", NULL };

	cr_assert_eq(run(2, argv), 0);
	fclose(stdout);
	cr_assert_stdout_neq_str("");
}

Test(conf_verify, unknown_flag_is_a_usage_error)
{
	const char *argv[] = { "verify", "--bogus", central_path, NULL };

	cr_assert_eq(run(3, argv), 2);
	cr_assert_stdout_eq_str("");
}

Test(conf_verify, missing_argument_is_a_usage_error)
{
	const char *argv[] = { "verify", NULL };

	cr_assert_eq(run(1, argv), 2);
}

Test(conf_verify, node_flag_without_value_is_a_usage_error)
{
	const char *argv[] = { "verify", central_path, "--node", NULL };

	cr_assert_eq(run(3, argv), 2);
}
