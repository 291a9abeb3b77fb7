/* Small shared services: clocks, thread names and logging. */
#ifndef NYLON_BASE_H
#define NYLON_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t ny_clock_mono_ns(void);
uint64_t ny_clock_wall_ns(void);

/* The chunk size when n items are cut into as few chunks of at most max (> 0) items as possible, of even sizes:
 * 65 by 64 gives 33 (then 32), not 64 and a lone 1. Batch code cuts this way because a short last chunk fills
 * vector lanes poorly. */
static inline size_t ny_even_chunk(size_t n, size_t max)
{
	size_t chunks = (n + max - 1) / max;

	return chunks ? (n + chunks - 1) / chunks : max;
}

/* Names the calling thread (printf-style, cut to the kernel's 15 bytes), e.g. "ny-shard1". */
void ny_thread_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum ny_log_level {
	NY_LOG_DEBUG,
	NY_LOG_INFO,
	NY_LOG_WARN,
	NY_LOG_ERROR,
};

/* How lines look on stderr (the log_path file copy is always TEXT, as nylon's: reference §5.5).
 *   TEXT: `2026-11-25T20:17:47.359Z INFO  route: message` (control characters escaped as \n, \xHH, so one call is
 *         one line);
 *   JSON: one object per line (`nylon run --json`), keys in this order:
 *         {"time":"2026-11-25T20:17:47.359Z","level":"INFO","msg":"...","subsystem":"route",...}
 *         time is RFC 3339 UTC with milliseconds; level is DEBUG, INFO, WARN or ERROR (Go slog's names); strings
 *         are valid JSON with every control character escaped and invalid UTF-8 replaced by U+FFFD. Trailing
 *         `key=value` words of a message become string fields (`route_inserted prefix=10.0.0.1/32 metric=5` gives
 *         "msg":"route_inserted","event":"route_inserted","prefix":"10.0.0.1/32","metric":"5"): a message left
 *         as one lower-case word is an event name, as nylon's `event=` attribute. Reserved or repeated keys stay
 *         in msg. */
enum ny_log_format {
	NY_LOG_FORMAT_TEXT,
	NY_LOG_FORMAT_JSON,
};

/* Level names in colour on stderr (TEXT only): AUTO = when stderr is a terminal and NO_COLOR is unset. */
enum ny_log_color {
	NY_LOG_COLOR_AUTO,
	NY_LOG_COLOR_NEVER,
	NY_LOG_COLOR_ALWAYS,
};

/* Every line is built in one buffer and written whole under one lock, looping over short writes, so lines of
 * different threads never interleave and none is left partial. Messages longer than NY_LOG_MSG_MAX - 1 bytes are
 * cut. The setters may be called at any time from any thread; set them before starting threads for a consistent
 * log. */
#define NY_LOG_MSG_MAX 1024
#define NY_LOG_LINE_MAX 8192 /* a JSON line with every byte of the message escaped fits */

void ny_log_set_level(enum ny_log_level level);
void ny_log_set_format(enum ny_log_format format);
void ny_log_set_color(enum ny_log_color color);
/* Also append every line to path (created 0600 with its parent directories, as nylon's log_path). 0 or -errno. */
int ny_log_open_file(const char *path);
void ny_log_close_file(void);
bool ny_log_enabled(enum ny_log_level level);
void ny_log(enum ny_log_level level, const char *subsystem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "DEBUG", "INFO", "WARN", "ERROR". */
const char *ny_log_level_name(enum ny_log_level level);
/* Formats one line as ny_log() writes it, newline included, for time wall_ns (ns since the epoch): the length,
 * always < len (the line is cut to fit, and stays a complete line / a complete JSON object). len >= 64. */
size_t ny_log_format_line(char *out, size_t len, enum ny_log_format format, bool color, enum ny_log_level level,
			  const char *subsystem, uint64_t wall_ns, const char *msg);

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
