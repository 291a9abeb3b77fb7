/* The command line: dispatch, help, usage errors and the key commands, run in-process through ny_cli_main with
 * stdin, stdout and stderr pointed at temporary files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nylon/cli.h"
#include "nylon/crypto.h"

#define ARGS_MAX 8
#define ARG_LEN 64
#define OUT_MAX 8192

struct cli_run {
	int status;
	char out[OUT_MAX];
	char err[OUT_MAX];
};

static FILE *temp_file(const void *data, size_t len)
{
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fflush(f), 0);
	rewind(f);
	return f;
}

static void slurp(FILE *f, char *buf, size_t cap)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void redirect(int fd, FILE *to)
{
	cr_assert_geq(dup2(fileno(to), fd), 0);
}

/* Runs `nylon args...` with `input` (input_len bytes, may hold NULs) on stdin. */
static void run_cli(struct cli_run *r, const void *input, size_t input_len, const char *const *args)
{
	char store[ARGS_MAX][ARG_LEN];
	char *argv[ARGS_MAX + 1];
	int saved[3];
	int argc = 0;
	FILE *in = temp_file(input, input_len);
	FILE *out = temp_file("", 0);
	FILE *err = temp_file("", 0);

	for (; args[argc]; argc++) {
		cr_assert_lt(argc, ARGS_MAX);
		cr_assert_lt(strlen(args[argc]), (size_t)ARG_LEN);
		strcpy(store[argc], args[argc]);
		argv[argc] = store[argc];
	}
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd < 3; fd++)
		cr_assert_geq(saved[fd] = dup(fd), 0);
	redirect(STDIN_FILENO, in);
	redirect(STDOUT_FILENO, out);
	redirect(STDERR_FILENO, err);

	r->status = ny_cli_main(argc, argv);

	fflush(stdout);
	fflush(stderr);
	for (int fd = 0; fd < 3; fd++) {
		dup2(saved[fd], fd);
		close(saved[fd]);
	}
	fclose(in);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

#define ARGV(...) ((const char *const[]){ "nylon", __VA_ARGS__, NULL })
#define RUN(r, ...) run_cli((r), "", 0, ARGV(__VA_ARGS__))
#define RUN_STDIN(r, text, ...) run_cli((r), (text), strlen(text), ARGV(__VA_ARGS__))

static const char *const commands[] = { "key", "genkey", "pubkey", "version" };

Test(cli, bare_nylon_prints_usage_on_stdout_and_succeeds)
{
	struct cli_run r;

	run_cli(&r, "", 0, (const char *const[]){ "nylon", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "Usage:"));
	cr_assert_str_empty(r.err);
}

Test(cli, help_spellings_print_grouped_usage_and_succeed)
{
	static const char *const spellings[] = { "help", "--help", "-h" };

	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		struct cli_run r;
		const char *init, *nylon;

		RUN(&r, spellings[i]);
		cr_assert_eq(r.status, 0, "nylon %s", spellings[i]);
		cr_assert_str_empty(r.err, "nylon %s", spellings[i]);
		init = strstr(r.out, "Initialize Nylon");
		nylon = strstr(r.out, "Nylon Commands");
		cr_assert(init && nylon && init < nylon, "nylon %s: groups in nylon's order:\n%s", spellings[i], r.out);
		for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
			cr_expect_not_null(strstr(r.out, commands[c]), "nylon %s lists %s", spellings[i], commands[c]);
	}
}

Test(cli, help_of_help_and_help_flag_before_a_command)
{
	struct cli_run help_help, flag_first, via_flag;

	RUN(&help_help, "help", "help");
	cr_assert_eq(help_help.status, 0);
	cr_assert_not_null(strstr(help_help.out, "Usage:"));

	RUN(&flag_first, "--help", "genkey");
	RUN(&via_flag, "genkey", "--help");
	cr_assert_eq(flag_first.status, 0);
	cr_assert_str_eq(flag_first.out, via_flag.out);
}

Test(cli, verify_is_listed_under_config_commands_and_has_help)
{
	struct cli_run r;
	const char *group;

	RUN(&r, "help");
	group = strstr(r.out, "Config Commands");
	cr_assert_not_null(group, "%s", r.out);
	cr_assert_not_null(strstr(group, "verify"), "%s", r.out);

	RUN(&r, "verify", "--help");
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "nylon verify"), "%s", r.out);
	cr_assert_str_empty(r.err);
}

Test(cli, unknown_command_is_a_usage_error_on_stderr)
{
	struct cli_run r;

	RUN(&r, "frobnicate");
	cr_assert_eq(r.status, 2);
	cr_assert_str_empty(r.out);
	cr_assert_not_null(strstr(r.err, "Error: unknown command \"frobnicate\""), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "Usage:"));
}

Test(cli, unknown_root_flag_is_a_usage_error)
{
	struct cli_run r;

	RUN(&r, "--frobnicate");
	cr_assert_eq(r.status, 2);
	cr_assert_str_empty(r.out);
	cr_assert_not_null(strstr(r.err, "unknown flag: --frobnicate"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "Usage:"));
}

Test(cli, help_for_an_unknown_command_is_a_usage_error)
{
	struct cli_run r;

	RUN(&r, "help", "frobnicate");
	cr_assert_eq(r.status, 2);
	cr_assert_str_empty(r.out);
	cr_assert_not_null(strstr(r.err, "frobnicate"));
}

Test(cli, command_help_flag_prints_its_usage_and_does_nothing_else)
{
	static const char *const flags[] = { "--help", "-h" };

	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		for (size_t f = 0; f < 2; f++) {
			struct cli_run r;
			char expect[64];

			RUN(&r, commands[c], flags[f]);
			snprintf(expect, sizeof(expect), "nylon %s [flags]", commands[c]);
			cr_assert_eq(r.status, 0, "%s %s", commands[c], flags[f]);
			cr_assert_not_null(strstr(r.out, expect), "%s %s:\n%s", commands[c], flags[f], r.out);
			cr_assert_str_empty(r.err, "%s %s must not generate or read a key", commands[c], flags[f]);
		}
	}
}

Test(cli, help_command_matches_command_help_flag)
{
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		struct cli_run via_help, via_flag;

		RUN(&via_help, "help", commands[c]);
		RUN(&via_flag, commands[c], "--help");
		cr_assert_eq(via_help.status, 0, "help %s", commands[c]);
		cr_assert_str_eq(via_help.out, via_flag.out, "help %s", commands[c]);
	}
}

Test(cli, command_unknown_flag_is_a_usage_error)
{
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		struct cli_run r;

		RUN(&r, commands[c], "--frobnicate");
		cr_assert_eq(r.status, 2, "%s --frobnicate", commands[c]);
		cr_assert_str_empty(r.out, "%s --frobnicate", commands[c]);
		cr_assert_not_null(strstr(r.err, "unknown flag: --frobnicate"), "%s: %s", commands[c], r.err);
	}
}

Test(cli, command_extra_argument_is_a_usage_error)
{
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		struct cli_run r;

		RUN(&r, commands[c], "extra");
		cr_assert_eq(r.status, 2, "%s extra", commands[c]);
		cr_assert_str_empty(r.out, "%s extra", commands[c]);
		cr_assert_not_null(strstr(r.err, "unexpected argument \"extra\""), "%s: %s", commands[c], r.err);
	}
}

Test(cli, version_and_its_alias_print_the_build_version)
{
	static const char *const names[] = { "version", "v" };

	for (size_t i = 0; i < 2; i++) {
		struct cli_run r;

		RUN(&r, names[i]);
		cr_assert_eq(r.status, 0);
		cr_assert_str_eq(r.out, "Version: " NY_VERSION "\n");
		cr_assert_str_empty(r.err);
	}
}

/* Decodes a "<base64>\n" line. */
static void decode_line(uint8_t key[NY_KEY_LEN], const char *line)
{
	cr_assert_eq(strlen(line), (size_t)NY_KEY_BASE64_LEN + 1, "line: %s", line);
	cr_assert_eq(line[NY_KEY_BASE64_LEN], '\n');
	cr_assert_eq(ny_key_from_base64(key, line, NY_KEY_BASE64_LEN), 0, "line: %s", line);
}

static void assert_clamped(const uint8_t priv[NY_KEY_LEN])
{
	cr_assert_eq(priv[0] & 7, 0);
	cr_assert_eq(priv[31] & 0xc0, 0x40);
}

Test(cli, genkey_prints_one_clamped_private_key)
{
	struct cli_run r;
	uint8_t priv[NY_KEY_LEN];

	RUN(&r, "genkey");
	cr_assert_eq(r.status, 0);
	cr_assert_str_empty(r.err);
	decode_line(priv, r.out);
	assert_clamped(priv);
}

Test(cli, key_prints_private_on_stdout_and_its_public_on_stderr)
{
	struct cli_run r;
	uint8_t priv[NY_KEY_LEN], pub[NY_KEY_LEN], expect[NY_KEY_LEN];

	cr_assert_eq(ny_crypto_init(), 0);
	RUN(&r, "key");
	cr_assert_eq(r.status, 0);
	decode_line(priv, r.out);
	decode_line(pub, r.err);
	assert_clamped(priv);
	ny_crypto_x25519_public(expect, priv);
	cr_assert_arr_eq(pub, expect, NY_KEY_LEN);
}

/* RFC 7748 §6.1: Alice's and Bob's private keys and public keys (the private keys are not clamped in the text;
 * X25519 clamps them, as `wg pubkey` does). */
#define ALICE_PRIV "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define ALICE_PUB "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB_PRIV "XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os="
#define BOB_PUB "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="

Test(cli, pubkey_matches_rfc7748_vectors_whatever_the_surrounding_whitespace)
{
	static const struct {
		const char *input;
		const char *pub;
	} cases[] = {
		{ ALICE_PRIV "\n", ALICE_PUB "\n" },
		{ ALICE_PRIV, ALICE_PUB "\n" },
		{ ALICE_PRIV "\r\n", ALICE_PUB "\n" },
		{ "  \t" ALICE_PRIV " \n\n", ALICE_PUB "\n" },
		{ BOB_PRIV "\n", BOB_PUB "\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_run r;

		RUN_STDIN(&r, cases[i].input, "pubkey");
		cr_assert_eq(r.status, 0, "case %zu: %s", i, r.err);
		cr_assert_str_eq(r.out, cases[i].pub, "case %zu", i);
		cr_assert_str_empty(r.err, "case %zu", i);
	}
}

Test(cli, pubkey_rejects_malformed_keys_with_an_error)
{
	static char too_long[2000];
	static const struct {
		const char *name;
		const char *input;
		size_t len; /* 0: strlen */
	} cases[] = {
		{ "empty", "", 0 },
		{ "only a newline", "\n", 0 },
		{ "short", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkq\n", 0 },
		{ "45 characters", ALICE_PRIV "A\n", 0 },
		{ "no padding", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA\n", 0 },
		{ "not base64", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L!o=\n", 0 },
		{ "non-zero padding bits", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=\n", 0 },
		{ "url-safe alphabet", "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC_=\n", 0 },
		{ "two keys", ALICE_PRIV "\n" BOB_PRIV "\n", 0 },
		{ "space inside", "dwdtCnMYpX08FsFyUbJmRd9ML4f wJkqsXf7pR25LCo=\n", 0 },
		{ "NUL inside", "dwdtCnMYpX08FsFyUbJmRd9ML4f\0wJkqsXf7pR25LCo=\n", 45 },
		{ "binary", "\xff\xfe\x80\x01\x02\x03\x7f\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xf8\xa1\xa1\xa1"
			    "\xa1\xfc\xa1\xa1\xa1\xa1\xa1\xfe\xfe\xff\xff\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0",
		  44 },
		{ "over 1 KiB", too_long, sizeof(too_long) },
	};

	memset(too_long, 'A', sizeof(too_long));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_run r;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].input);

		run_cli(&r, cases[i].input, len, ARGV("pubkey"));
		cr_assert_eq(r.status, 1, "%s: status %d", cases[i].name, r.status);
		cr_assert_str_empty(r.out, "%s", cases[i].name);
		cr_assert_not_null(strstr(r.err, "Error: pubkey: invalid private key"), "%s: %s", cases[i].name,
				   r.err);
	}
}

/* `run` refuses bad input before it touches the OS: no interface, no socket, a message that names the file. */
Test(cli, run_with_a_missing_config_fails_naming_the_file)
{
	struct cli_run r;

	RUN(&r, "run", "-c", "/nonexistent/central.yaml", "-n", "/nonexistent/node.yaml");
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "/nonexistent/central.yaml"), "%s", r.err);
	cr_assert_str_empty(r.out);
}

Test(cli, run_refuses_nylon_flags_it_does_not_have_yet_and_bad_values)
{
	struct cli_run r;

	RUN(&r, "run", "--dbg-perf");
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "--dbg-perf is not supported"), "%s", r.err);
	/* --json is supported: the missing config is the error. */
	RUN(&r, "run", "--json", "-c", "/nonexistent/central.yaml");
	cr_assert_eq(r.status, 1);
	RUN(&r, "run", "--shards", "many");
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "--shards"), "%s", r.err);
	RUN(&r, "run", "--help");
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "--io <backend>"), "%s", r.out);
}
