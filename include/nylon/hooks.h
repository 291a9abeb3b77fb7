/* Lifecycle hooks: the node.yaml lists pre_up, post_up, pre_down and post_down (reference §2.1, §5.5).
 *
 * When they run (`nylon run`, reference §5.5, §5.6):
 *   pre_up    after the WireGuard device is up with its peers, before the addresses are added and the link is up;
 *   post_up   after the OS configuration (addresses, MTU, link up);
 *   pre_down  at shutdown, after nylon's routes and addresses are removed, while the device still exists;
 *   post_down after the device is closed (the interface is gone).
 * They run with no_net_configure too. Commands of one list run one after the other, in order.
 *
 * How a command runs: the string is split on single spaces, exactly as nylon's strings.Split(cmd, " "), and the
 * words are the program (looked up in PATH) and its arguments; there is no shell, no quoting, no globbing. Two
 * spaces in a row therefore pass an empty argument, as in nylon; an empty first word is an error. Use a script for
 * anything that needs a shell.
 *   - environment: nylon's own, plus NYLON_HOOK (the phase: pre_up, ...), NYLON_INTERFACE and NYLON_NODE;
 *   - stdin is /dev/null; stdout and stderr are read through a pipe and logged line by line (info, subsystem
 *     `hooks`, at most NY_HOOK_OUTPUT_LINES lines per command), so they never break the JSON log format;
 *   - signals: the default dispositions and an empty mask (nylon blocks SIGINT/SIGTERM in its threads), in a
 *     process group of its own, so a timeout kills the command and whatever it started;
 *   - a command that cannot start, exits non-zero, dies of a signal or runs longer than the timeout (30 s; then
 *     SIGKILL) is logged as a warning and nylon goes on: hooks are never fatal.
 *
 * Context: the thread that runs the lifecycle (main); it blocks until every command of the list has finished.
 */
#ifndef NYLON_HOOKS_H
#define NYLON_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ny_conf_node;

enum ny_hook_phase {
	NY_HOOK_PRE_UP,
	NY_HOOK_POST_UP,
	NY_HOOK_PRE_DOWN,
	NY_HOOK_POST_DOWN,
};

#define NY_HOOK_TIMEOUT_NS (30ull * 1000000000ull)
#define NY_HOOK_OUTPUT_LINES 100

/* "pre_up", "post_up", "pre_down", "post_down". */
const char *ny_hook_phase_name(enum ny_hook_phase phase);

/* Splits cmd on every single space into a NULL-terminated argv (one allocation: free(*argv)). 0, -EINVAL for an
 * empty first word (empty command, or a leading space), -ENOMEM. */
int ny_hook_split(const char *cmd, char ***argv, size_t *argc);

struct ny_hook_result {
	int spawn_error; /* errno when the program could not be started (ENOENT, EACCES), else 0 */
	bool exited;     /* it exited by itself: status is its exit status */
	int status;
	int signal;      /* the signal that ended it (SIGKILL after a timeout), else 0 */
	bool timed_out;
	size_t output_lines; /* lines of stdout/stderr seen (logged up to NY_HOOK_OUTPUT_LINES) */
};

/* Runs one command as described above, with env added to nylon's environment (NAME=value strings, NULL-terminated,
 * may be NULL), and waits for it at most timeout_ns. Output lines are logged with the prefix `log_prefix: `.
 * Returns 0 when it was started (see res for how it ended), or -errno when it could not be (also in
 * res->spawn_error). Logs nothing but the command's output; the caller logs the result. */
int ny_hook_exec(const char *cmd, const char *const *env, uint64_t timeout_ns, const char *log_prefix,
		 struct ny_hook_result *res);

/* Runs the node's commands for phase, in order, logging each result (info when it exits 0, warning otherwise).
 * Returns how many of them failed; nothing else happens on failure. */
size_t ny_hooks_run(const struct ny_conf_node *node, enum ny_hook_phase phase);

#endif
