/* Line-oriented logging to stderr, as text or JSON lines (reference §5.5), with an optional text copy in a file.
 *
 * Each line is formatted into one buffer and written whole under one lock (looping over short writes), so lines of
 * different threads never interleave and a reader never sees a partial line. The lock also orders the stderr line
 * and its file copy, and keeps the file descriptor from being closed under a writer. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nylon/base.h"

static _Atomic int min_level = NY_LOG_INFO;
static _Atomic int format = NY_LOG_FORMAT_TEXT;
static _Atomic int color_mode = NY_LOG_COLOR_AUTO;
static _Atomic int color_auto = -1; /* AUTO's answer, found at the first line: -1 = not yet */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static int file_fd = -1; /* under write_lock */

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
static const char *const level_colors[] = { "\x1b[36m", "\x1b[32m", "\x1b[33m", "\x1b[1;31m" };
#define COLOR_RESET "\x1b[0m"

/* ---- a bounded line buffer -------------------------------------------------------------------------------------- */

/* Appends are all-or-nothing, so whatever is in the buffer is made of whole pieces; `cap` is moved by the callers
 * to keep room for the bytes that close a line. */
struct lbuf {
	char *p;
	size_t len;
	size_t cap;
};

static bool put(struct lbuf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len)
		return false;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

static bool put_str(struct lbuf *b, const char *s)
{
	return put(b, s, strlen(s));
}

static const char hex[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 with *bad = the length of its maximal invalid
 * subpart, which one U+FFFD replaces (Unicode 15 §3.9, table 3-7 and "U+FFFD substitution of maximal subparts"). */
static size_t utf8_len(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else {
		*bad = 1;
		return 0;
	}
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	for (size_t i = 1; i < need; i++) {
		if (i >= n || s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf)) {
			*bad = i;
			return 0;
		}
	}
	return need;
}

/* The JSON escape of the n bytes at s (RFC 8259 §7), unit by unit while they fit. Control characters, `"` and `\`
 * are escaped; so are DEL and U+2028/U+2029 (line separators to JavaScript), to keep lines safe to paste. Returns
 * whether all of s fitted. */
static bool put_json_str(struct lbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		size_t bad = 0, u;

		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			u = put(b, esc, 2) ? 1 : 0;
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
			u = put(b, esc, 2) ? 1 : 0;
		} else if (c < 0x20 || c == 0x7f) {
			u = put(b, esc, 6) ? 1 : 0;
		} else if ((u = utf8_len(s + i, n - i, &bad)) == 0) {
			u = put(b, "\xef\xbf\xbd", 3) ? bad : 0;
		} else if (u == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			u = put(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6) ? 3 : 0;
		} else if (!put(b, str + i, u)) {
			u = 0;
		}
		if (u == 0)
			return false;
		i += u;
	}
	return true;
}

/* Text lines escape control characters (\n, \r, \xHH; tab stays), so one call is one line and a peer's string
 * cannot move the terminal's cursor. Other bytes pass unchanged. */
static void put_text_str(struct lbuf *b, const char *str)
{
	for (const unsigned char *s = (const unsigned char *)str; *s; s++) {
		char esc[4] = { '\\', 'x', hex[*s >> 4], hex[*s & 15] };
		bool ok;

		if (*s == '\n' || *s == '\r')
			ok = put(b, *s == '\n' ? "\\n" : "\\r", 2);
		else if ((*s < 0x20 && *s != '\t') || *s == 0x7f)
			ok = put(b, esc, 4);
		else
			ok = put(b, (const char *)s, 1);
		if (!ok)
			return;
	}
}

/* ---- fields from `key=value` words (JSON) ----------------------------------------------------------------------- */

#define FIELDS_MAX 32
#define KEY_MAX 64

struct field {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};

static bool is_reserved(const char *k, size_t n)
{
	static const char *const reserved[] = { "time", "level", "msg", "subsystem", "event" };

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], k, n) == 0)
			return true;
	return false;
}

/* A word `key=value` with key [A-Za-z_][A-Za-z0-9_.-]*, not reserved and not already taken. */
static bool parse_field(const char *w, size_t n, const struct field *taken, size_t n_taken, struct field *f)
{
	const char *eq = memchr(w, '=', n);
	size_t k = eq ? (size_t)(eq - w) : 0;

	if (k == 0 || k > KEY_MAX || !((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z') || w[0] == '_'))
		return false;
	for (size_t i = 1; i < k; i++) {
		char c = w[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	if (is_reserved(w, k))
		return false;
	for (size_t i = 0; i < n_taken; i++)
		if (taken[i].key_len == k && memcmp(taken[i].key, w, k) == 0)
			return false;
	*f = (struct field){ .key = w, .key_len = k, .val = eq + 1, .val_len = n - k - 1 };
	return true;
}

/* Takes `key=value` words off the end of msg (never its first word). Fields come out last first; *msg_len is what
 * is left of the message, without the spaces and the colon (`stats: a=1`) that led to the fields. */
static size_t split_fields(const char *msg, size_t *msg_len, struct field *f)
{
	size_t end = *msg_len, n = 0;

	while (n < FIELDS_MAX) {
		const char *sp = NULL;

		for (size_t i = end; i > 0; i--) {
			if (msg[i - 1] == ' ') {
				sp = msg + i - 1;
				break;
			}
		}
		if (!sp || !parse_field(sp + 1, end - (size_t)(sp + 1 - msg), f, n, &f[n]))
			break;
		n++;
		end = (size_t)(sp - msg);
	}
	while (n && end > 0 && (msg[end - 1] == ' ' || msg[end - 1] == ':'))
		end--;
	if (n && end == 0) /* the message was only `: k=v`: keep it whole */
		return 0;
	*msg_len = end;
	return n;
}

static bool is_event_name(const char *s, size_t n)
{
	if (n == 0 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* ,"key":"value" whole or not at all. */
static void put_json_field(struct lbuf *b, const char *k, size_t kn, const char *v, size_t vn)
{
	size_t mark = b->len;

	if (!(put(b, ",\"", 2) && put_json_str(b, k, kn) && put(b, "\":\"", 3) && put_json_str(b, v, vn) &&
	      put(b, "\"", 1)))
		b->len = mark;
}

/* ---- the two formats -------------------------------------------------------------------------------------------- */

/* RFC 3339, UTC, milliseconds: 2026-11-25T20:17:47.359Z (24 characters). */
static void format_time(char out[32], uint64_t wall_ns)
{
	time_t sec = (time_t)(wall_ns / 1000000000u);
	char date[32];
	struct tm tm;

	gmtime_r(&sec, &tm);
	/* strftime has no sub-second field; its output (19 characters) leaves room for ".mmmZ". */
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		date[0] = '\0';
	snprintf(out, 32, "%.19s.%03uZ", date, (unsigned)(wall_ns / 1000000u % 1000u));
}

static size_t format_text(struct lbuf *b, bool color, enum ny_log_level level, const char *subsystem,
			  const char *when, const char *msg)
{
	const char *name = level_names[level];

	b->cap -= 2; /* "\n\0" */
	put_str(b, when);
	put_str(b, " ");
	if (color) {
		put_str(b, level_colors[level]);
		put_str(b, name);
		put_str(b, COLOR_RESET);
		put(b, "      ", 6 - strlen(name));
	} else {
		char lvl[8];

		snprintf(lvl, sizeof(lvl), "%-5s ", name);
		put_str(b, lvl);
	}
	put_text_str(b, subsystem);
	put_str(b, ": ");
	put_text_str(b, msg);
	b->cap += 2;
	put(b, "\n", 1);
	return b->len;
}

static size_t format_json(struct lbuf *b, enum ny_log_level level, const char *subsystem, const char *when,
			  const char *msg)
{
	struct field f[FIELDS_MAX];
	size_t msg_len = strlen(msg), n_fields = split_fields(msg, &msg_len, f);

	b->cap -= 4; /* `"}\n\0` after a cut message */
	put_str(b, "{\"time\":\"");
	put_str(b, when);
	put_str(b, "\",\"level\":\"");
	put_str(b, level_names[level]);
	put_str(b, "\",\"msg\":\"");
	put_json_str(b, msg, msg_len);
	b->cap += 1;
	put(b, "\"", 1);
	put_json_field(b, "subsystem", 9, subsystem, strlen(subsystem));
	/* `word k=v`: an event name (nylon's event= attribute); `stats: k=v` is not. */
	if (n_fields && msg[msg_len] == ' ' && is_event_name(msg, msg_len))
		put_json_field(b, "event", 5, msg, msg_len);
	while (n_fields--)
		put_json_field(b, f[n_fields].key, f[n_fields].key_len, f[n_fields].val, f[n_fields].val_len);
	b->cap += 2;
	put(b, "}\n", 2);
	return b->len;
}

size_t ny_log_format_line(char *out, size_t len, enum ny_log_format fmt, bool color, enum ny_log_level level,
			  const char *subsystem, uint64_t wall_ns, const char *msg)
{
	struct lbuf b = { .p = out, .len = 0, .cap = len - 1 }; /* the NUL */
	char when[32];

	if ((unsigned)level > NY_LOG_ERROR)
		level = NY_LOG_ERROR;
	format_time(when, wall_ns);
	if (fmt == NY_LOG_FORMAT_JSON)
		format_json(&b, level, subsystem, when, msg);
	else
		format_text(&b, color, level, subsystem, when, msg);
	out[b.len] = '\0';
	return b.len;
}

/* ---- output ----------------------------------------------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the reader is gone: nothing better to do with a log line */
		p += w;
		n -= (size_t)w;
	}
}

static bool use_color(void)
{
	int mode = atomic_load_explicit(&color_mode, memory_order_relaxed), v;
	const char *no_color;

	if (mode != NY_LOG_COLOR_AUTO)
		return mode == NY_LOG_COLOR_ALWAYS;
	v = atomic_load_explicit(&color_auto, memory_order_relaxed);
	if (v < 0) {
		/* https://no-color.org: set and not empty disables colour. */
		no_color = getenv("NO_COLOR");
		v = isatty(STDERR_FILENO) && !(no_color && *no_color);
		atomic_store_explicit(&color_auto, v, memory_order_relaxed);
	}
	return v;
}

void ny_log(enum ny_log_level level, const char *subsystem, const char *fmt, ...)
{
	char msg[NY_LOG_MSG_MAX], line[NY_LOG_LINE_MAX];
	enum ny_log_format f;
	uint64_t now;
	va_list ap;
	bool color;
	size_t n;

	if (!ny_log_enabled(level))
		return;
	now = ny_clock_wall_ns();
	f = (enum ny_log_format)atomic_load_explicit(&format, memory_order_relaxed);
	color = f == NY_LOG_FORMAT_TEXT && use_color();
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	n = ny_log_format_line(line, sizeof(line), f, color, level, subsystem, now, msg);
	pthread_mutex_lock(&write_lock);
	write_all(STDERR_FILENO, line, n);
	if (file_fd >= 0) {
		/* The file copy is always plain text (reference §5.5: log_path adds a text handler). */
		if (f != NY_LOG_FORMAT_TEXT || color)
			n = ny_log_format_line(line, sizeof(line), NY_LOG_FORMAT_TEXT, false, level, subsystem, now, msg);
		write_all(file_fd, line, n);
	}
	pthread_mutex_unlock(&write_lock);
}

const char *ny_log_level_name(enum ny_log_level level)
{
	return (unsigned)level <= NY_LOG_ERROR ? level_names[level] : "ERROR";
}

/* ---- settings ----------------------------------------------------------------------------------------------------- */

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
	int fd, old, ret = make_parents(path);

	if (ret < 0)
		return ret;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&write_lock);
	old = file_fd;
	file_fd = fd;
	pthread_mutex_unlock(&write_lock);
	if (old >= 0)
		close(old);
	return 0;
}

void ny_log_close_file(void)
{
	int fd;

	pthread_mutex_lock(&write_lock);
	fd = file_fd;
	file_fd = -1;
	pthread_mutex_unlock(&write_lock);
	if (fd >= 0)
		close(fd);
}

void ny_log_set_level(enum ny_log_level level)
{
	atomic_store(&min_level, (int)level);
}

void ny_log_set_format(enum ny_log_format f)
{
	atomic_store(&format, (int)f);
}

void ny_log_set_color(enum ny_log_color c)
{
	atomic_store(&color_mode, (int)c);
}

bool ny_log_enabled(enum ny_log_level level)
{
	return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
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
