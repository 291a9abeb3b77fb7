/* Line-oriented logging to stderr. Each line is formatted into one buffer and written with one call, so lines of
 * different threads never interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nylon/base.h"

static _Atomic int min_level = NY_LOG_INFO;
static _Atomic int file_fd = -1;

/* mkdir -p for the directories above path. */
static int make_parents(const char *path)
{
	char *copy = strdup(path);
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*p = '/';
	}
	free(copy);
	return ret;
}

int ny_log_open_file(const char *path)
{
	int fd, ret = make_parents(path);

	if (ret < 0)
		return ret;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ny_log_close_file();
	atomic_store(&file_fd, fd);
	return 0;
}

void ny_log_close_file(void)
{
	int fd = atomic_exchange(&file_fd, -1);

	if (fd >= 0)
		close(fd);
}

void ny_log_set_level(enum ny_log_level level)
{
	atomic_store(&min_level, (int)level);
}

bool ny_log_enabled(enum ny_log_level level)
{
	return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

void ny_log(enum ny_log_level level, const char *subsystem, const char *fmt, ...)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, fd;

	if (!ny_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     names[level], subsystem);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* stderr gone: the file, if any, still gets the line */
	}
	fd = atomic_load_explicit(&file_fd, memory_order_relaxed);
	if (fd >= 0 && write(fd, line, (size_t)n) < 0)
		return;
}

bool ny_log_ratelimit_allow(struct ny_log_ratelimit *rl, unsigned burst)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec;
	if (now != rl->window_start) {
		rl->window_start = now;
		rl->count = 0;
	}
	if (rl->count < burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}
