/* Lifecycle hooks: splitting as nylon's strings.Split(cmd, " "), running without a shell, exit status, missing
 * programs, the timeout (with a short one), output to the log, the environment, and the node lists. Commands are
 * small scripts written to a temporary directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/hooks.h"

#define MS 1000000ull

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ny-test-hooks-%d.XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(hooks, .init = make_dir, .fini = remove_dir);

/* dir/name, an executable shell script with body; its path goes to out. */
static void script(const char *name, const char *body, char *out, size_t len)
{
	FILE *f;

	snprintf(out, len, "%s/%s", dir, name);
	f = fopen(out, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	cr_assert_eq(chmod(out, 0755), 0);
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s was not written", path);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* ---- splitting ---- */

struct split_case {
	const char *cmd;
	int ret;
	size_t argc;
	const char *argv[5];
};

/* Every single space ends a word, so two in a row give an empty argument, as in nylon (reference §5.5). */
static const struct split_case split_cases[] = {
	{ "iptables -t nat -A POSTROUTING", 0, 5, { "iptables", "-t", "nat", "-A", "POSTROUTING" } },
	{ "true", 0, 1, { "true" } },
	{ "a  b", 0, 3, { "a", "", "b" } },
	{ "a ", 0, 2, { "a", "" } },
	{ "echo 'a b'", 0, 3, { "echo", "'a", "b'" } },
	{ "a\tb", 0, 1, { "a\tb" } },
	{ " a", -EINVAL, 0, { 0 } },
	{ "", -EINVAL, 0, { 0 } },
};

Test(hooks, split_on_single_spaces)
{
	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *c = &split_cases[i];
		char **argv = NULL;
		size_t argc = 0;

		cr_assert_eq(ny_hook_split(c->cmd, &argv, &argc), c->ret, "\"%s\"", c->cmd);
		if (c->ret < 0)
			continue;
		cr_assert_eq(argc, c->argc, "\"%s\": %zu words", c->cmd, argc);
		for (size_t j = 0; j < argc; j++)
			cr_assert_str_eq(argv[j], c->argv[j], "\"%s\" word %zu", c->cmd, j);
		cr_assert_null(argv[argc]);
		free(argv);
	}
}

/* ---- running one command ---- */

Test(hooks, exit_status_is_captured)
{
	struct ny_hook_result r;
	char path[128];

	script("exit7", "exit 7", path, sizeof(path));
	cr_assert_eq(ny_hook_exec(path, NULL, 5000 * MS, "t", &r), 0);
	cr_assert(r.exited);
	cr_assert_eq(r.status, 7);
	cr_assert_not(r.timed_out);
	cr_assert_eq(r.spawn_error, 0);
	cr_assert_eq(ny_hook_exec("true", NULL, 5000 * MS, "t", &r), 0);
	cr_assert(r.exited && r.status == 0);
}

Test(hooks, a_missing_program_is_reported)
{
	struct ny_hook_result r;

	cr_assert_eq(ny_hook_exec("/nonexistent/ny-hook arg", NULL, 5000 * MS, "t", &r), -ENOENT);
	cr_assert_eq(r.spawn_error, ENOENT);
	cr_assert_not(r.exited);
	cr_assert_eq(ny_hook_exec("ny-no-such-program-on-path", NULL, 5000 * MS, "t", &r), -ENOENT);
	cr_assert_eq(ny_hook_exec(" leading-space", NULL, 5000 * MS, "t", &r), -EINVAL);
}

Test(hooks, arguments_are_passed_without_a_shell)
{
	struct ny_hook_result r;
	char path[128], cmd[512], out[160], got[256];

	snprintf(out, sizeof(out), "%s/args", dir);
	script("args", "for a in \"$@\"; do printf '[%s]' \"$a\"; done > \"$OUT\"", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s $HOME * 'a  b;c", path);
	snprintf(got, sizeof(got), "OUT=%s", out);
	cr_assert_eq(ny_hook_exec(cmd, (const char *const[]){ got, NULL }, 5000 * MS, "t", &r), 0);
	cr_assert(r.exited && r.status == 0);
	slurp(out, got, sizeof(got));
	cr_assert_str_eq(got, "[$HOME][*]['a][][b;c]");
}

Test(hooks, a_hanging_command_is_killed_at_the_timeout)
{
	struct ny_hook_result r;
	uint64_t t0 = ny_clock_mono_ns(), took;
	char path[128], pidfile[160], buf[32], stat[64], state[256];

	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", dir);
	/* A child of its own too: the whole process group goes. */
	snprintf(state, sizeof(state), "sleep 30 & echo $! > %s; sleep 30", pidfile);
	script("hang", state, path, sizeof(path));
	cr_assert_eq(ny_hook_exec(path, NULL, 300 * MS, "t", &r), 0);
	took = ny_clock_mono_ns() - t0;
	cr_assert(r.timed_out);
	cr_assert_not(r.exited);
	cr_assert_eq(r.signal, SIGKILL);
	cr_assert_geq(took, 300 * MS);
	cr_assert_lt(took, 3000 * MS, "took %llu ms", (unsigned long long)(took / MS));
	slurp(pidfile, buf, sizeof(buf));
	snprintf(stat, sizeof(stat), "/proc/%d/stat", atoi(buf));
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(stat, "r");

		if (!f)
			return; /* gone */
		state[0] = '\0';
		cr_assert_not_null(fgets(state, sizeof(state), f));
		fclose(f);
		if (strstr(state, ") Z ")) /* killed, waiting for its new parent to reap it */
			return;
		usleep(10000);
	}
	cr_assert_fail("the hook's background child survived the timeout: %s", state);
}

Test(hooks, a_command_that_leaves_a_child_holding_its_output_returns_at_once)
{
	struct ny_hook_result r;
	uint64_t t0 = ny_clock_mono_ns();
	char path[128], pidfile[160], body[256], buf[32];

	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", dir);
	snprintf(body, sizeof(body), "sleep 30 & echo $! > %s; exit 0", pidfile);
	script("daemon", body, path, sizeof(path));
	cr_assert_eq(ny_hook_exec(path, NULL, 10000 * MS, "t", &r), 0);
	cr_assert(r.exited && r.status == 0);
	cr_assert_lt(ny_clock_mono_ns() - t0, 2000 * MS);
	slurp(pidfile, buf, sizeof(buf));
	kill(atoi(buf), SIGKILL);
}

Test(hooks, signals_are_not_blocked_in_the_command)
{
	struct ny_hook_result r;
	sigset_t set;
	char path[128];

	/* nylon blocks SIGINT and SIGTERM in every thread (sigwait); a hook must not inherit that. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	script("selfterm", "kill -TERM $$; sleep 5; exit 0", path, sizeof(path));
	cr_assert_eq(ny_hook_exec(path, NULL, 4000 * MS, "t", &r), 0);
	cr_assert_not(r.timed_out);
	cr_assert_not(r.exited);
	cr_assert_eq(r.signal, SIGTERM);
}

/* Output to the log: stdout and stderr, line by line, with the prefix. */
Test(hooks, output_goes_to_the_log)
{
	struct ny_hook_result r;
	char path[128], logpath[160], log[4096] = "";

	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	cr_assert_eq(ny_log_open_file(logpath), 0);
	script("talk", "echo hello; echo oops >&2; printf 'no newline'", path, sizeof(path));
	cr_assert_eq(ny_hook_exec(path, NULL, 5000 * MS, "pre_up: talk", &r), 0);
	ny_log_close_file();
	cr_assert_eq(r.output_lines, 3);
	slurp(logpath, log, sizeof(log));
	cr_assert_not_null(strstr(log, "INFO  hooks: pre_up: talk: hello\n"), "%s", log);
	cr_assert_not_null(strstr(log, "INFO  hooks: pre_up: talk: oops\n"), "%s", log);
	cr_assert_not_null(strstr(log, "INFO  hooks: pre_up: talk: no newline\n"), "%s", log);
}

Test(hooks, output_beyond_the_line_limit_is_counted_not_logged)
{
	struct ny_hook_result r;
	char path[128], logpath[160], *log;
	FILE *f;
	size_t lines = 0;

	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	cr_assert_eq(ny_log_open_file(logpath), 0);
	script("chatty", "i=0; while [ $i -lt 500 ]; do echo line $i; i=$((i+1)); done", path, sizeof(path));
	cr_assert_eq(ny_hook_exec(path, NULL, 5000 * MS, "chatty", &r), 0);
	ny_log_close_file();
	cr_assert_eq(r.output_lines, 500);
	log = calloc(1, 1 << 20);
	f = fopen(logpath, "r");
	cr_assert_not_null(f);
	fread(log, 1, (1 << 20) - 1, f);
	fclose(f);
	for (char *p = log; (p = strstr(p, "hooks: chatty: ")); p++)
		lines++;
	cr_assert_eq(lines, NY_HOOK_OUTPUT_LINES + 1, "%zu lines", lines);
	cr_assert_not_null(strstr(log, "chatty: more output, not logged"));
	free(log);
}

/* ---- the node's lists ---- */

Test(hooks, node_lists_run_in_order_with_the_environment_and_failures_do_not_stop_them)
{
	char path[128], out[160], body[256], got[512];
	char c0[160], c1[160], c2[160], c3[160];
	char *cmds[] = { c0, c1, c2, c3 };
	struct ny_conf_node node = { .id = "alpha", .interface_name = "nylon7" };

	snprintf(out, sizeof(out), "%s/trace", dir);
	snprintf(body, sizeof(body), "echo \"$1 $NYLON_HOOK $NYLON_INTERFACE $NYLON_NODE\" >> %s", out);
	script("record", body, path, sizeof(path));
	snprintf(c0, sizeof(c0), "%s first", path);
	snprintf(c1, sizeof(c1), "/nonexistent/ny-hook");
	snprintf(c2, sizeof(c2), "false");
	snprintf(c3, sizeof(c3), "%s last", path);
	node.post_down = (struct ny_conf_strlist){ .v = cmds, .n = 4 };
	cr_assert_eq(ny_hooks_run(&node, NY_HOOK_PRE_UP), 0, "an empty list runs nothing");
	cr_assert_eq(ny_hooks_run(&node, NY_HOOK_POST_DOWN), 2);
	slurp(out, got, sizeof(got));
	cr_assert_str_eq(got, "first post_down nylon7 alpha\nlast post_down nylon7 alpha\n");
}

Test(hooks, phase_names)
{
	cr_assert_str_eq(ny_hook_phase_name(NY_HOOK_PRE_UP), "pre_up");
	cr_assert_str_eq(ny_hook_phase_name(NY_HOOK_POST_UP), "post_up");
	cr_assert_str_eq(ny_hook_phase_name(NY_HOOK_PRE_DOWN), "pre_down");
	cr_assert_str_eq(ny_hook_phase_name(NY_HOOK_POST_DOWN), "post_down");
}
