/* The `nylon` command line: a table of subcommands (src/cli/cli.c), one file per command group.
 * Each command gets argv with argv[0] = the command's name and returns the process exit status. */
#ifndef NYLON_CLI_H
#define NYLON_CLI_H

struct ny_cli_command {
	const char *name;
	const char *group;   /* help group, as nylon's: "Initialize Nylon", "Nylon Commands", "Config Commands" */
	const char *summary; /* one line for `nylon help` */
	int (*run)(int argc, char **argv);
};

/* Dispatches argv[1] to its command; prints usage for `nylon`, `nylon help`, `--help`. */
int ny_cli_main(int argc, char **argv);

/* Commands (each in src/cli/<group>.c). */
int ny_cli_key(int argc, char **argv);
int ny_cli_genkey(int argc, char **argv);
int ny_cli_pubkey(int argc, char **argv);
int ny_cli_version(int argc, char **argv);
int ny_cli_verify(int argc, char **argv);
int ny_cli_run(int argc, char **argv);

#endif
