/* Private helpers shared by the subcommands in src/cli/. */
#ifndef NYLON_CLI_INTERNAL_H
#define NYLON_CLI_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NY_CLI_EXIT_USAGE 2 /* the exit status of a usage error, as in cli.c */

#include <pthread.h>
#include <stdint.h>

#include "nylon/dist.h"

struct ny_conf_central;
struct ny_conf_node;
struct ny_dp_node;
struct ny_sys;

/* `nylon run`'s live reload (run_reload.c): SIGHUP and the IPC reload request both end here, one at a time. It owns
 * the applied central config from init on (rl->central is the current one). */
enum ny_run_reload_result { NY_RELOAD_NOOP, NY_RELOAD_APPLIED, NY_RELOAD_REJECTED, NY_RELOAD_RESTART_REQUIRED };
struct ny_run_reload {
	const char *central_path;
	struct ny_conf_central *central; /* applied */
	const struct ny_conf_node *node;
	char *text;                      /* the applied file's bytes */
	size_t len;
	struct ny_dp_node *dp;
	struct ny_sys *sys;              /* NULL with no_net_configure */
	unsigned ifindex;
	/* Called after an APPLIED reload, under the lock, with the new config (e.g. /discovery follows it). */
	void (*applied)(void *ctx, const struct ny_conf_central *central);
	void *applied_ctx;
	pthread_mutex_t lock;
};
const char *ny_run_reload_name(enum ny_run_reload_result r);
int ny_run_reload_init(struct ny_run_reload *rl, const char *central_path, struct ny_conf_central *central,
		       const struct ny_conf_node *node, struct ny_dp_node *dp);
/* The interface's addresses follow the config from now on. Context: main thread, after configuring the OS. */
void ny_run_reload_set_os(struct ny_run_reload *rl, struct ny_sys *sys, unsigned ifindex);
/* Re-reads the central file and applies it; msg says why. Context: any thread; serialized. */
enum ny_run_reload_result ny_run_reload_apply(struct ny_run_reload *rl, char *msg, size_t len);
/* Applies central text already in memory (a bundle's YAML; name is used in diagnostics) through the same
 * serialized path, only when its timestamp is newer than the applied one (NOOP otherwise, checked under the lock).
 * On APPLIED the text is written to the central file (0600, atomically) before the lock is released, so that a
 * reload meanwhile never re-applies the old file; *persist_err is that write's result (0 or -errno). */
enum ny_run_reload_result ny_run_reload_apply_text(struct ny_run_reload *rl, const char *name, const char *text,
						   size_t len, int *persist_err, char *msg, size_t msg_len);
/* The bundle poller's callbacks (struct ny_dist_poller_ops): ctx is the struct ny_run_reload. */
int ny_run_reload_dist_current(void *ctx, struct ny_dist_current *out);
enum ny_dist_apply_result ny_run_reload_dist_apply(void *ctx, const char *yaml, size_t len, int64_t timestamp,
						   char *msg, size_t msg_len);
void ny_run_reload_free(struct ny_run_reload *rl);
/* The IPC server's reload callback (struct ny_ipc_ops): ctx is the struct ny_run_reload. */
int ny_run_reload_ipc(void *ctx, char *msg, size_t len);

/* Config bundles (src/cli/bundle.c). */
int ny_cli_seal(int argc, char **argv);
int ny_cli_open(int argc, char **argv);

/* For a command that takes no arguments and no flags but -h/--help: sets *help, and prints usage on stdout for it.
 * Returns 0, or -EINVAL after printing the error and usage on stderr. An unknown flag is reported before help, as
 * cobra does; "--" ends the flags. */
struct ny_conf_report;
/* Prints every kept diagnostic of a configuration report on stderr, errors prefixed `Error: `. */
void ny_cli_print_report(const struct ny_conf_report *r);

/* ---- the IPC commands (status.c, probe.c, reload.c, trace.c) ---- */
int ny_cli_status(int argc, char **argv);
int ny_cli_probe(int argc, char **argv);
int ny_cli_reload(int argc, char **argv);
int ny_cli_trace(int argc, char **argv);

/* Prints `Error: <cmd>: unexpected argument or unknown flag "<arg>"` and the usage on stderr; returns the usage
 * exit status. */
int ny_cli_usage_error(const char *cmd, const char *arg, const char *usage);
/* Whether an IPC response has ok=true; otherwise prints `Error: <its error>` on stderr. */
struct json_object;
bool ny_cli_response_ok(struct json_object *response);


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

/* ---- the IPC commands' shared steps (ipc_cmd.c) ---- */
struct option;
/* The flags every IPC command takes. */
struct ny_cli_ipc_flags {
	const char *ifname; /* -i/--interface; "nylon" unless given */
	bool json;          /* --json */
};
/* Parses argv's flags with getopt_long over longs, which maps --interface to 'i', --json (if the command has it) to
 * 'j' and --help to 'h'. Fills *f; for -h prints usage on stdout and sets *help. Every other option of longs goes to
 * on_flag (NULL: accepted and ignored), which returns 0 or -EINVAL after printing its error. Afterwards optind is the
 * first argument. Returns 0, or -EINVAL after printing the error (and, for an unknown flag, usage) on stderr. */
int ny_cli_ipc_parse_flags(int argc, char **argv, const struct option *longs, const char *usage,
			   struct ny_cli_ipc_flags *f, bool *help, int (*on_flag)(void *ctx, int c, const char *arg),
			   void *ctx);
/* Sends one request to the daemon on ifname and waits up to timeout_ms for its answer. Returns the answer, a JSON
 * object the caller puts, or NULL after printing `Error: ...` on stderr. Does not check its ok. */
struct json_object *ny_cli_ipc_request(const char *ifname, const char *request, int timeout_ms);
/* Prints a JSON value as the IPC commands' --json does: pretty, spaced, slashes unescaped. */
void ny_cli_print_json(struct json_object *value);

#endif
