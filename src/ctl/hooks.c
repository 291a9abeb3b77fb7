/* Lifecycle hooks (reference §5.5): each command is split on single spaces and started with posix_spawnp, without a
 * shell; its output is logged, it is waited for with a timeout, and every failure is a warning. See nylon/hooks.h
 * for the contract. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/hooks.h"

extern char **environ;

#define POLL_SLICE_MS 10 /* how late at most a command's exit is noticed */
#define OUTPUT_LINE_MAX 512

const char *ny_hook_phase_name(enum ny_hook_phase phase)
{
	static const char *const names[] = {
		[NY_HOOK_PRE_UP] = "pre_up", [NY_HOOK_POST_UP] = "post_up",
		[NY_HOOK_PRE_DOWN] = "pre_down", [NY_HOOK_POST_DOWN] = "post_down",
	};

	return (unsigned)phase <= NY_HOOK_POST_DOWN ? names[phase] : "hook";
}

/* strings.Split(cmd, " ") (reference §5.5, §9.9): every space ends a word, so "a  b" is "a", "", "b". */
int ny_hook_split(const char *cmd, char ***argv_out, size_t *argc_out)
{
	size_t len = strlen(cmd), argc = 1, i = 0;
	char **argv, *text;

	for (const char *p = cmd; *p; p++)
		argc += *p == ' ';
	argv = malloc((argc + 1) * sizeof(*argv) + len + 1);
	if (!argv)
		return -ENOMEM;
	text = (char *)(argv + argc + 1);
	memcpy(text, cmd, len + 1);
	argv[i++] = text;
	for (char *p = text; *p; p++) {
		if (*p == ' ') {
			*p = '\0';
			argv[i++] = p + 1;
		}
	}
	argv[argc] = NULL;
	if (!argv[0][0]) {
		free(argv);
		return -EINVAL;
	}
	*argv_out = argv;
	*argc_out = argc;
	return 0;
}

/* nylon's environment with env's variables added, replacing those of the same name. Pointers only: free the array. */
static char **make_env(const char *const *env)
{
	size_t n_own = 0, n_add = 0, n = 0;
	char **out;

	while (environ && environ[n_own])
		n_own++;
	while (env && env[n_add])
		n_add++;
	out = calloc(n_own + n_add + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n_own; i++) {
		bool replaced = false;

		for (size_t j = 0; j < n_add && !replaced; j++) {
			const char *eq = strchr(env[j], '=');
			size_t name = eq ? (size_t)(eq - env[j]) + 1 : strlen(env[j]);

			replaced = strncmp(environ[i], env[j], name) == 0;
		}
		if (!replaced)
			out[n++] = environ[i];
	}
	for (size_t j = 0; j < n_add; j++)
		out[n++] = (char *)env[j];
	return out;
}

/* ---- the command's output, logged line by line ------------------------------------------------------------------ */

struct output {
	const char *prefix;
	char buf[OUTPUT_LINE_MAX];
	size_t len;
	size_t lines;
};

static void output_line(struct output *o, const char *line, size_t len)
{
	if (o->lines < NY_HOOK_OUTPUT_LINES)
		ny_log_info("hooks", "%s: %.*s", o->prefix, (int)len, line);
	else if (o->lines == NY_HOOK_OUTPUT_LINES)
		ny_log_info("hooks", "%s: more output, not logged", o->prefix);
	o->lines++;
}

/* Reads what the pipe holds now. false at end of file or on an error: stop reading. */
static bool output_read(struct output *o, int fd)
{
	for (;;) {
		ssize_t r = read(fd, o->buf + o->len, sizeof(o->buf) - o->len);
		size_t start = 0, end;

		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (r == 0)
			return false;
		end = o->len + (size_t)r;
		for (size_t i = o->len; i < end; i++) {
			if (o->buf[i] == '\n') {
				output_line(o, o->buf + start, i - start);
				start = i + 1;
			}
		}
		memmove(o->buf, o->buf + start, end - start);
		o->len = end - start;
		if (o->len == sizeof(o->buf)) { /* a long line is logged in pieces */
			output_line(o, o->buf, o->len);
			o->len = 0;
		}
	}
}

/* ---- starting and waiting --------------------------------------------------------------------------------------- */

static int spawn(pid_t *pid, char **argv, char **envp, int out_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int ret;

	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((ret = posix_spawn_file_actions_init(&fa)) != 0)
		return ret;
	if ((ret = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return ret;
	}
	if ((ret = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) == 0 &&
	    (ret = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO)) == 0 &&
	    (ret = posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO)) == 0 &&
	    (ret = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						  POSIX_SPAWN_SETPGROUP)) == 0 &&
	    (ret = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (ret = posix_spawnattr_setsigdefault(&at, &all)) == 0 &&
	    (ret = posix_spawnattr_setpgroup(&at, 0)) == 0)
		ret = posix_spawnp(pid, argv[0], &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return ret;
}

static void record_status(struct ny_hook_result *res, int st)
{
	if (WIFEXITED(st)) {
		res->exited = true;
		res->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		res->signal = WTERMSIG(st);
	}
}

/* Until the command exits or the deadline passes, logging its output. After it exits, output still in the pipe is
 * read, but the end of file is not waited for: a daemon the command started may hold the pipe open. */
static void wait_for(pid_t pid, int fd, uint64_t timeout_ns, struct output *o, struct ny_hook_result *res)
{
	uint64_t deadline = ny_clock_mono_ns() + timeout_ns;
	bool reading = true;
	int st = 0;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		uint64_t now = ny_clock_mono_ns(), left;

		if (w == pid) {
			record_status(res, st);
			break;
		}
		if (w < 0 && errno != EINTR)
			break; /* cannot happen unless someone else reaped it: nothing to report */
		if (now >= deadline) {
			res->timed_out = true;
			kill(-pid, SIGKILL); /* its process group: whatever it started too */
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			record_status(res, st);
			break;
		}
		left = (deadline - now) / 1000000u + 1;
		if (reading) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, left < POLL_SLICE_MS ? (int)left : POLL_SLICE_MS) > 0)
				reading = output_read(o, fd);
		} else {
			struct timespec ts = { 0, (long)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (reading)
		output_read(o, fd);
	if (o->len)
		output_line(o, o->buf, o->len);
}

int ny_hook_exec(const char *cmd, const char *const *env, uint64_t timeout_ns, const char *log_prefix,
		 struct ny_hook_result *res)
{
	struct output *o = NULL;
	char **argv = NULL, **envp = NULL;
	int pipefd[2] = { -1, -1 };
	size_t argc;
	pid_t pid;
	int ret;

	*res = (struct ny_hook_result){ 0 };
	if ((ret = ny_hook_split(cmd, &argv, &argc)) < 0)
		goto out;
	o = calloc(1, sizeof(*o));
	envp = make_env(env);
	if (!o || !envp) {
		ret = -ENOMEM;
		goto out;
	}
	o->prefix = log_prefix;
	if (pipe2(pipefd, O_CLOEXEC) < 0 || fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		goto out;
	}
	ret = -spawn(&pid, argv, envp, pipefd[1]);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (ret < 0)
		goto out;
	wait_for(pid, pipefd[0], timeout_ns, o, res);
	res->output_lines = o->lines;
out:
	if (ret < 0)
		res->spawn_error = -ret;
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free(envp);
	free(argv);
	free(o);
	return ret;
}

/* ---- the node's lists ------------------------------------------------------------------------------------------- */

static const struct ny_conf_strlist *phase_list(const struct ny_conf_node *node, enum ny_hook_phase phase)
{
	switch (phase) {
	case NY_HOOK_PRE_UP: return &node->pre_up;
	case NY_HOOK_POST_UP: return &node->post_up;
	case NY_HOOK_PRE_DOWN: return &node->pre_down;
	case NY_HOOK_POST_DOWN: return &node->post_down;
	}
	return &node->pre_up; /* cannot happen */
}

/* Returns whether the command failed. */
static bool run_one(const char *phase, const char *cmd, const char *const *env)
{
	struct ny_hook_result res;
	char prefix[160];
	int ret;

	snprintf(prefix, sizeof(prefix), "%s: %.*s", phase, (int)strcspn(cmd, " "), cmd);
	ny_log_info("hooks", "%s: running \"%s\"", phase, cmd);
	ret = ny_hook_exec(cmd, env, NY_HOOK_TIMEOUT_NS, prefix, &res);
	if (ret == -EINVAL)
		ny_log_warn("hooks", "%s: \"%s\": no program name (does it start with a space?)", phase, cmd);
	else if (ret < 0)
		ny_log_warn("hooks", "%s: cannot run \"%s\": %s", phase, cmd, strerror(-ret));
	else if (res.timed_out)
		ny_log_warn("hooks", "%s: \"%s\" did not finish within %llu s; killed", phase, cmd,
			    (unsigned long long)(NY_HOOK_TIMEOUT_NS / 1000000000u));
	else if (res.exited && res.status == 0)
		ny_log_info("hooks", "%s: \"%s\" exited with status 0", phase, cmd);
	else if (res.exited)
		ny_log_warn("hooks", "%s: \"%s\" exited with status %d", phase, cmd, res.status);
	else
		ny_log_warn("hooks", "%s: \"%s\" was killed by signal %d (%s)", phase, cmd, res.signal,
			    strsignal(res.signal));
	return ret < 0 || res.timed_out || !res.exited || res.status != 0;
}

size_t ny_hooks_run(const struct ny_conf_node *node, enum ny_hook_phase phase)
{
	const struct ny_conf_strlist *list = phase_list(node, phase);
	const char *name = ny_hook_phase_name(phase);
	char hook[32], ifname[160], id[160];
	const char *env[] = { hook, ifname, id, NULL };
	size_t failed = 0;

	if (list->n == 0)
		return 0;
	snprintf(hook, sizeof(hook), "NYLON_HOOK=%s", name);
	snprintf(ifname, sizeof(ifname), "NYLON_INTERFACE=%s", node->interface_name ? node->interface_name : "");
	snprintf(id, sizeof(id), "NYLON_NODE=%s", node->id ? node->id : "");
	for (size_t i = 0; i < list->n; i++)
		failed += run_one(name, list->v[i], env);
	return failed;
}
