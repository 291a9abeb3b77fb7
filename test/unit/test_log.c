/* Logging: the human line format, JSON lines (escaping, invalid UTF-8, fields from key=value words, cut lines that
 * stay whole objects), and ny_log() itself writing whole lines from concurrent threads, with a text file copy.
 * JSON lines are checked by parsing them with json-c in strict mode with UTF-8 validation. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nylon/base.h"

/* 2026-11-25T20:17:47.359123456Z */
#define T0 1795637867359123456ull
#define T0_TEXT "2026-11-25T20:17:47.359Z"

static char line[NY_LOG_LINE_MAX];

static const char *text(enum ny_log_level level, const char *sub, const char *msg)
{
	ny_log_format_line(line, sizeof(line), NY_LOG_FORMAT_TEXT, false, level, sub, T0, msg);
	return line;
}

static const char *json(enum ny_log_level level, const char *sub, const char *msg)
{
	ny_log_format_line(line, sizeof(line), NY_LOG_FORMAT_JSON, false, level, sub, T0, msg);
	return line;
}

/* One JSON object and nothing else (but its newline); strict, and UTF-8 validated. */
static json_object *parse(const char *s)
{
	size_t len = strlen(s);
	json_tokener *tok = json_tokener_new();
	json_object *o;

	cr_assert(len > 0 && s[len - 1] == '\n', "no newline at the end of %s", s);
	cr_assert_null(memchr(s, '\n', len - 1), "more than one line: %s", s);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len - 1);
	cr_assert_not_null(o, "not JSON (%s): %s", json_tokener_error_desc(json_tokener_get_error(tok)), s);
	cr_assert_eq(json_tokener_get_parse_end(tok), len - 1, "trailing bytes: %s", s);
	cr_assert(json_object_is_type(o, json_type_object));
	json_tokener_free(tok);
	return o;
}

static const char *field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	cr_assert(json_object_is_type(v, json_type_string), "%s is not a string", key);
	return json_object_get_string(v);
}

/* ---- text ---- */

Test(log_text, format_is_unchanged)
{
	cr_assert_str_eq(text(NY_LOG_INFO, "route", "message"), T0_TEXT " INFO  route: message\n");
}

Test(log_text, level_names_are_padded_to_five)
{
	cr_assert_str_eq(text(NY_LOG_DEBUG, "wg", "x"), T0_TEXT " DEBUG wg: x\n");
	cr_assert_str_eq(text(NY_LOG_WARN, "wg", "x"), T0_TEXT " WARN  wg: x\n");
	cr_assert_str_eq(text(NY_LOG_ERROR, "wg", "x"), T0_TEXT " ERROR wg: x\n");
	cr_assert_str_eq(ny_log_level_name(NY_LOG_INFO), "INFO");
}

Test(log_text, control_characters_are_escaped_so_a_call_is_one_line)
{
	cr_assert_str_eq(text(NY_LOG_INFO, "s", "a\nb\rc\td\x1b[2Je\x7f"), T0_TEXT " INFO  s: a\\nb\\rc\td\\x1b[2Je\\x7f\n");
}

Test(log_text, key_value_words_stay_in_the_text)
{
	const char *msg = "route_inserted prefix=10.0.0.1/32 router=a nh=b seqno=1 metric=5";

	cr_assert_str_eq(text(NY_LOG_INFO, "route", msg), T0_TEXT " INFO  route: route_inserted prefix=10.0.0.1/32 "
							  "router=a nh=b seqno=1 metric=5\n");
}

Test(log_text, colour_wraps_only_the_level)
{
	ny_log_format_line(line, sizeof(line), NY_LOG_FORMAT_TEXT, true, NY_LOG_WARN, "s", T0, "m");
	cr_assert_str_eq(line, T0_TEXT " \x1b[33mWARN\x1b[0m  s: m\n");
}

Test(log_text, a_long_message_is_cut_but_ends_the_line)
{
	char small[80];
	size_t n = ny_log_format_line(small, sizeof(small), NY_LOG_FORMAT_TEXT, false, NY_LOG_INFO, "s", T0,
				      "0123456789012345678901234567890123456789012345678901234567890123456789");

	cr_assert_lt(n, sizeof(small));
	cr_assert_eq(strlen(small), n);
	cr_assert_eq(small[n - 1], '\n');
}

/* ---- JSON ---- */

Test(log_json, fields_in_order)
{
	cr_assert_str_eq(json(NY_LOG_INFO, "route", "peer b: link up"),
			 "{\"time\":\"" T0_TEXT "\",\"level\":\"INFO\",\"msg\":\"peer b: link up\",\"subsystem\":\"route\"}\n");
}

Test(log_json, level_names_as_slog)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

	for (int l = NY_LOG_DEBUG; l <= NY_LOG_ERROR; l++) {
		json_object *o = parse(json((enum ny_log_level)l, "s", "m"));

		cr_assert_str_eq(field(o, "level"), names[l]);
		cr_assert_str_eq(field(o, "time"), T0_TEXT);
		cr_assert_str_eq(field(o, "msg"), "m");
		cr_assert_str_eq(field(o, "subsystem"), "s");
		json_object_put(o);
	}
}

struct esc_case {
	const char *in;
	const char *escaped; /* as it appears between the quotes */
	const char *decoded; /* what a parser reads back */
};

/* Every control character is escaped; `"` and `\` too; invalid UTF-8 becomes U+FFFD, one per maximal invalid
 * subpart (Unicode §3.9). */
static const struct esc_case esc_cases[] = {
	{ "say \"hi\"", "say \\\"hi\\\"", "say \"hi\"" },
	{ "C:\\dir", "C:\\\\dir", "C:\\dir" },
	{ "a\nb\r\tc", "a\\nb\\r\\tc", "a\nb\r\tc" },
	{ "\b\f", "\\b\\f", "\b\f" },
	{ "\x01\x1f\x7f", "\\u0001\\u001f\\u007f", "\x01\x1f\x7f" },
	{ "\x1b[31m", "\\u001b[31m", "\x1b[31m" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "a\xff" "b", "a\xef\xbf\xbd" "b", "a\xef\xbf\xbd" "b" },
	{ "end\xc3", "end\xef\xbf\xbd", "end\xef\xbf\xbd" },
	{ "\xe2\x82" "x", "\xef\xbf\xbd" "x", "\xef\xbf\xbd" "x" },           /* truncated 3-byte sequence: one U+FFFD */
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong '/' */
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
	{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* above U+10FFFF */
	{ "\xe2\x80\xa8", "\\u2028", "\xe2\x80\xa8" },
};

Test(log_json, escapes_controls_and_replaces_invalid_utf8)
{
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char want[256];
		json_object *o;

		snprintf(want, sizeof(want), "{\"time\":\"" T0_TEXT "\",\"level\":\"INFO\",\"msg\":\"%s\",\"subsystem\":\"s\"}\n",
			 c->escaped);
		cr_expect_str_eq(json(NY_LOG_INFO, "s", c->in), want, "case %zu", i);
		o = parse(line);
		cr_expect_str_eq(field(o, "msg"), c->decoded, "case %zu", i);
		json_object_put(o);
	}
}

Test(log_json, router_event_words_become_fields)
{
	json_object *o = parse(json(NY_LOG_INFO, "route", "route_inserted prefix=10.0.0.1/32 router=a nh=b seqno=1 "
							  "metric=5"));

	cr_assert_str_eq(field(o, "msg"), "route_inserted");
	cr_assert_str_eq(field(o, "event"), "route_inserted");
	cr_assert_str_eq(field(o, "prefix"), "10.0.0.1/32");
	cr_assert_str_eq(field(o, "router"), "a");
	cr_assert_str_eq(field(o, "nh"), "b");
	cr_assert_str_eq(field(o, "seqno"), "1");
	cr_assert_str_eq(field(o, "metric"), "5");
	json_object_put(o);
}

Test(log_json, trailing_words_only_and_the_colon_before_them_goes)
{
	json_object *o = parse(json(NY_LOG_INFO, "run", "stats: rx_udp=10 tx_udp=12"));

	cr_assert_str_eq(field(o, "msg"), "stats");
	cr_assert_null(field(o, "event"), "a message with a colon is not an event name");
	cr_assert_str_eq(field(o, "rx_udp"), "10");
	cr_assert_str_eq(field(o, "tx_udp"), "12");
	json_object_put(o);

	o = parse(json(NY_LOG_INFO, "run", "a=1 in the middle b=2"));
	cr_assert_str_eq(field(o, "msg"), "a=1 in the middle");
	cr_assert_null(field(o, "a"));
	cr_assert_str_eq(field(o, "b"), "2");
	json_object_put(o);
}

Test(log_json, reserved_repeated_or_lone_words_stay_in_msg)
{
	json_object *o = parse(json(NY_LOG_INFO, "s", "x msg=y level=z"));

	cr_assert_str_eq(field(o, "msg"), "x msg=y level=z");
	cr_assert_str_eq(field(o, "level"), "INFO");
	json_object_put(o);

	o = parse(json(NY_LOG_INFO, "s", "x k=1 k=2"));
	cr_assert_str_eq(field(o, "msg"), "x k=1");
	cr_assert_str_eq(field(o, "k"), "2");
	json_object_put(o);

	o = parse(json(NY_LOG_INFO, "s", "k=1"));
	cr_assert_str_eq(field(o, "msg"), "k=1");
	json_object_put(o);

	o = parse(json(NY_LOG_INFO, "s", "bad key=\"quoted\\\" 9x=1"));
	cr_assert_str_eq(field(o, "msg"), "bad key=\"quoted\\\" 9x=1");
	json_object_put(o);
}

Test(log_json, field_values_are_escaped)
{
	json_object *o = parse(json(NY_LOG_INFO, "s", "ev name=a\"b\x01\xff"));

	cr_assert_str_eq(field(o, "name"), "a\"b\x01\xef\xbf\xbd");
	json_object_put(o);
}

Test(log_json, the_longest_message_of_control_characters_fits)
{
	char msg[NY_LOG_MSG_MAX];
	json_object *o;

	memset(msg, 0x01, sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	o = parse(json(NY_LOG_ERROR, "s", msg));
	cr_assert_str_eq(field(o, "msg"), msg);
	json_object_put(o);
}

Test(log_json, a_cut_line_is_still_one_whole_object)
{
	char msg[400], small[128];

	for (size_t i = 0; i + 1 < sizeof(msg); i++)
		msg[i] = "a\"\\\x01\xff"[i % 5];
	msg[sizeof(msg) - 1] = '\0';
	for (size_t len = 64; len <= sizeof(small); len++) {
		size_t n = ny_log_format_line(small, len, NY_LOG_FORMAT_JSON, false, NY_LOG_INFO, "sub", T0, msg);

		cr_assert_lt(n, len);
		json_object_put(parse(small));
	}
	/* Fields that do not fit are left out whole. */
	for (size_t len = 64; len <= sizeof(small); len++) {
		ny_log_format_line(small, len, NY_LOG_FORMAT_JSON, false, NY_LOG_INFO, "subsystem", T0,
				   "ev alpha=aaaaaaaaaa beta=bbbbbbbbbb gamma=\x01\x01\x01\x01\x01\x01");
		json_object_put(parse(small));
	}
}

/* ---- ny_log() itself ---- */

struct capture {
	FILE *f;
	int saved;
};

static void capture_stderr(struct capture *c)
{
	c->f = tmpfile();
	cr_assert_not_null(c->f);
	c->saved = dup(STDERR_FILENO);
	cr_assert_geq(dup2(fileno(c->f), STDERR_FILENO), 0);
}

/* Restores stderr; returns what was written (free it). */
static char *capture_end(struct capture *c)
{
	long len;
	char *buf;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	fseek(c->f, 0, SEEK_END);
	len = ftell(c->f);
	rewind(c->f);
	buf = calloc(1, (size_t)len + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)len, c->f), (size_t)len);
	fclose(c->f);
	return buf;
}

#define THREADS 4
#define LINES 300

static void *log_many(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < LINES; i++)
		ny_log_info("test", "burst thread=%ld line=%d payload=%s", id, i,
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	return NULL;
}

Test(log_write, json_lines_from_threads_are_whole)
{
	pthread_t t[THREADS];
	struct capture c;
	char *out, *save = NULL;
	int per_thread[THREADS] = { 0 }, lines = 0;

	ny_log_set_format(NY_LOG_FORMAT_JSON);
	capture_stderr(&c);
	for (long i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, log_many, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	out = capture_end(&c);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char with_nl[NY_LOG_LINE_MAX];
		json_object *o;

		snprintf(with_nl, sizeof(with_nl), "%s\n", l);
		o = parse(with_nl);
		cr_assert_str_eq(field(o, "msg"), "burst");
		per_thread[atoi(field(o, "thread"))]++;
		cr_assert_str_eq(field(o, "subsystem"), "test");
		json_object_put(o);
		lines++;
	}
	cr_assert_eq(lines, THREADS * LINES);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(per_thread[i], LINES);
	free(out);
}

Test(log_write, msg_field_from_the_first_word_and_event)
{
	struct capture c;
	char *out;
	json_object *o;

	ny_log_set_format(NY_LOG_FORMAT_JSON);
	capture_stderr(&c);
	ny_log_warn("route", "route_retracted prefix=%s", "10.0.0.0/24");
	out = capture_end(&c);
	o = parse(out);
	cr_assert_str_eq(field(o, "level"), "WARN");
	cr_assert_str_eq(field(o, "event"), "route_retracted");
	cr_assert_str_eq(field(o, "prefix"), "10.0.0.0/24");
	json_object_put(o);
	free(out);
}

Test(log_write, level_filter)
{
	struct capture c;
	char *out;

	ny_log_set_color(NY_LOG_COLOR_NEVER);
	capture_stderr(&c);
	ny_log_debug("s", "hidden");
	ny_log_set_level(NY_LOG_DEBUG);
	ny_log_debug("s", "shown");
	ny_log_set_level(NY_LOG_WARN);
	ny_log_info("s", "hidden");
	ny_log_error("s", "error %d", 7);
	out = capture_end(&c);
	cr_assert_null(strstr(out, "hidden"));
	cr_assert_not_null(strstr(out, " DEBUG s: shown\n"));
	cr_assert_not_null(strstr(out, " ERROR s: error 7\n"));
	free(out);
}

Test(log_write, the_file_copy_is_text_in_json_mode)
{
	char dir[] = "/tmp/ny-test-log.XXXXXX", path[96], buf[1024] = "";
	struct capture c;
	char *out;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/nylon.log", dir);
	cr_assert_eq(ny_log_open_file(path), 0);
	ny_log_set_format(NY_LOG_FORMAT_JSON);
	ny_log_set_color(NY_LOG_COLOR_ALWAYS); /* ignored in JSON, never in the file */
	capture_stderr(&c);
	ny_log_info("run", "node %s up", "a");
	out = capture_end(&c);
	ny_log_close_file();
	cr_assert_eq(strncmp(out, "{\"time\":", 8), 0, "%s", out);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
	fclose(f);
	cr_assert_not_null(strstr(buf, " INFO  run: node a up\n"), "%s", buf);
	cr_assert_null(strchr(buf, '{'));
	cr_assert_null(strchr(buf, '\x1b'));
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	free(out);
}
