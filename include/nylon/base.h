/* Small shared services: clocks and logging. */
#ifndef NYLON_BASE_H
#define NYLON_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

uint64_t ny_clock_mono_ns(void);
uint64_t ny_clock_wall_ns(void);

enum ny_log_level {
	NY_LOG_DEBUG,
	NY_LOG_INFO,
	NY_LOG_WARN,
	NY_LOG_ERROR,
};

/* Lines go to stderr as `<time> <LEVEL> <subsystem>: <message>`. Thread-safe (one write per line). */
void ny_log_set_level(enum ny_log_level level);
/* Also append every line to path (created 0600 with its parent directories, as nylon's log_path). 0 or -errno. */
int ny_log_open_file(const char *path);
void ny_log_close_file(void);
bool ny_log_enabled(enum ny_log_level level);
void ny_log(enum ny_log_level level, const char *subsystem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At most `burst` lines per second from one call site: declare the state next to the call. */
struct ny_log_ratelimit {
	uint64_t window_start;
	unsigned count;
	unsigned suppressed;
};
bool ny_log_ratelimit_allow(struct ny_log_ratelimit *rl, unsigned burst);

#define ny_log_debug(sub, ...) ny_log(NY_LOG_DEBUG, sub, __VA_ARGS__)
#define ny_log_info(sub, ...) ny_log(NY_LOG_INFO, sub, __VA_ARGS__)
#define ny_log_warn(sub, ...) ny_log(NY_LOG_WARN, sub, __VA_ARGS__)
#define ny_log_error(sub, ...) ny_log(NY_LOG_ERROR, sub, __VA_ARGS__)

#endif
