/* The `nylon` command line: the subcommand table and its dispatch, laid out like the Go implementation's cobra
 * commands (help groups, `help <cmd>`, `<cmd> --help`) so that scripts and muscle memory carry over. Each command
 * parses its own flags and prints its own usage; this file only finds the command. */
#include "nylon/cli.h"

#include "cli/cli_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Usage errors exit 2 (the sysexits/getopt convention), so that scripts can tell them from failures (1). The Go
 * implementation exits 1 for both; nothing we know of depends on that. */
#define NY_CLI_EXIT_USAGE 2

#define GROUP_INIT "Initialize Nylon"
#define GROUP_NYLON "Nylon Commands"
#define GROUP_CONFIG "Config Commands"

/* Adding a command is one line here plus its function in src/cli/<group>.c. Help lists commands in this order. */
static const struct ny_cli_command commands[] = {
	{ "key", GROUP_INIT, "Generate a private key (stdout) and its public key (stderr)", ny_cli_key },
	{ "genkey", GROUP_INIT, "Generate a private key", ny_cli_genkey },
	{ "pubkey", GROUP_INIT, "Read a private key on stdin and print its public key", ny_cli_pubkey },
	{ "run", GROUP_NYLON, "Run the nylon daemon", ny_cli_run },
	{ "status", GROUP_NYLON, "Show the state of the running daemon", ny_cli_status },
	{ "probe", GROUP_NYLON, "Probe every endpoint of a neighbour", ny_cli_probe },
	{ "reload", GROUP_NYLON, "Make the running daemon re-read its central config", ny_cli_reload },
	{ "trace", GROUP_NYLON, "Stream packet-routing trace lines from the daemon", ny_cli_trace },
	{ "version", GROUP_NYLON, "Print the version of nylon", ny_cli_version },
	{ "seal", GROUP_CONFIG, "Sign and encrypt a central config into a bundle for distribution", ny_cli_seal },
	{ "open", GROUP_CONFIG, "Decrypt, verify and print a config bundle", ny_cli_open },
	{ "verify", GROUP_CONFIG, "Check a central config, and optionally a node config against it", ny_cli_verify },
};

/* cobra-style aliases: the alias runs the command, help lists only the command. */
static const struct {
	const char *alias;
	const char *name;
} aliases[] = {
	{ "v", "version" },
};

/* The order in which help prints groups, as nylon's root command declares them. */
static const char *const groups[] = { GROUP_INIT, GROUP_NYLON, GROUP_CONFIG };

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct ny_cli_command *find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(aliases); i++) {
		if (strcmp(name, aliases[i].alias) == 0) {
			name = aliases[i].name;
			break;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void print_group(FILE *out, const char *group)
{
	bool any = false;

	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		if (!any)
			fprintf(out, "\n%s:\n", group);
		any = true;
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	}
}

static void print_usage(FILE *out)
{
	fputs("nylon: a self-healing WireGuard mesh.\n"
	      "\n"
	      "Usage:\n"
	      "  nylon [command]\n",
	      out);
	for (size_t i = 0; i < ARRAY_LEN(groups); i++)
		print_group(out, groups[i]);
	fputs("\n"
	      "Additional Commands:\n"
	      "  help       Help about any command\n"
	      "\n"
	      "Flags:\n"
	      "  -h, --help   help for nylon\n"
	      "\n"
	      "Use \"nylon [command] --help\" for more information about a command.\n",
	      out);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr);
	return NY_CLI_EXIT_USAGE;
}

static bool is_help_flag(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* `nylon help [cmd]` and `nylon --help [cmd]`: the command's own --help keeps its usage text in one place. */
static int help(int argc, char **argv)
{
	const struct ny_cli_command *cmd;
	char name[32];
	char flag[] = "--help";
	char *sub_argv[] = { name, flag, NULL };

	if (argc == 0) {
		print_usage(stdout);
		return 0;
	}
	if (argc > 1)
		return usage_error("help: expected at most one command, got \"%s\" too", argv[1]);
	if (is_help_flag(argv[0]) || strcmp(argv[0], "help") == 0) {
		print_usage(stdout);
		return 0;
	}
	cmd = find(argv[0]);
	if (!cmd)
		return usage_error("unknown help topic \"%s\"", argv[0]);
	snprintf(name, sizeof(name), "%s", cmd->name);
	return cmd->run(2, sub_argv);
}

int ny_cli_main(int argc, char **argv)
{
	const struct ny_cli_command *cmd;
	int ret;

	/* Bare `nylon` prints help and succeeds, as cobra does for a root command without a Run. */
	if (argc < 2) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || is_help_flag(argv[1])) {
		ret = help(argc - 2, argv + 2);
	} else if (argv[1][0] == '-') {
		ret = usage_error("unknown flag: %s", argv[1]);
	} else {
		cmd = find(argv[1]);
		ret = cmd ? cmd->run(argc - 1, argv + 1) : usage_error("unknown command \"%s\" for \"nylon\"", argv[1]);
	}

	/* A command's output is its result: a full disk or closed pipe must not end in exit 0. */
	if (fflush(stdout) != 0 && ret == 0) {
		perror("Error: writing to stdout");
		ret = 1;
	}
	return ret;
}
