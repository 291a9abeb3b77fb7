/* Setting the `timestamp` of a central.yaml text without re-serialising it (the decision is in
 * include/nylon/bundle.h). libyaml's event parser finds where the top-level mapping, its first key and the
 * timestamp's value are; the text is then edited at those offsets and parsed again by the config loader to prove
 * the edit did what it meant to.
 *
 * This is the one use of libyaml outside src/conf/: the config loader's document walker keeps no byte offsets,
 * and an edit of the text needs them. */
#include "nylon/bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "dist/internal.h"

enum root_kind { ROOT_EMPTY, ROOT_BLOCK_MAP, ROOT_FLOW_MAP, ROOT_OTHER };

/* What the scan found; positions are libyaml mark indexes, which count characters, not bytes. */
struct scan {
	enum root_kind root;
	size_t map_start;
	bool has_pairs;
	size_t first_key;
	bool found;
	bool value_scalar;
	size_t key_end;
	size_t value_start;
	size_t value_end;
};


/* Walks the first document's events. depth counts open collections; the top-level mapping's keys and values are
 * the nodes that start at depth 1. */
static int scan_text(struct scan *s, const char *text, size_t len, char *err, size_t err_len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t depth = 0, node_start = 0;
	bool expect_key = true, key_is_ts = false, in_root = false, done = false;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->root = ROOT_EMPTY;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ny_dist_set_err(err, err_len, "not valid YAML: line %zu: %s", parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "syntax error");
			ret = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (!in_root && depth == 0) {
				in_root = true;
				if (ev.type == YAML_MAPPING_START_EVENT) {
					s->root = ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE ? ROOT_FLOW_MAP
													 : ROOT_BLOCK_MAP;
					s->map_start = ev.start_mark.index;
				} else {
					s->root = ROOT_OTHER;
				}
			} else if (depth == 1 && s->root != ROOT_OTHER) {
				node_start = ev.start_mark.index;
				if (expect_key) {
					key_is_ts = false;
					if (!s->has_pairs)
						s->first_key = node_start;
					s->has_pairs = true;
				}
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			if (depth == 0) {
				done = true;
			} else if (depth == 1 && s->root != ROOT_OTHER) {
				/* A collection at depth 1 ended: a complex key, or a key's value. */
				if (!expect_key && key_is_ts && !s->found) {
					s->found = true;
					s->value_scalar = false;
				}
				expect_key = !expect_key;
			}
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (!in_root && depth == 0) {
				in_root = true;
				bool empty = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 &&
					     ev.data.scalar.plain_implicit;
				s->root = empty ? ROOT_EMPTY : ROOT_OTHER;
				done = true;
			} else if (depth == 1 && s->root != ROOT_OTHER) {
				if (expect_key) {
					if (!s->has_pairs)
						s->first_key = ev.start_mark.index;
					s->has_pairs = true;
					key_is_ts = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 9 &&
						    memcmp(ev.data.scalar.value, "timestamp", 9) == 0;
					if (key_is_ts)
						s->key_end = ev.end_mark.index;
				} else if (key_is_ts && !s->found) {
					s->found = true;
					s->value_scalar = ev.type == YAML_SCALAR_EVENT;
					s->value_start = ev.start_mark.index;
					s->value_end = ev.end_mark.index;
				}
				expect_key = !expect_key;
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* The byte offset of character index idx: libyaml skips a UTF-8 byte order mark and counts characters. The text
 * parsed, so it is valid UTF-8. */
static size_t byte_offset(const char *text, size_t len, size_t idx)
{
	size_t i = 0, chars = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < len; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue;
		if (chars++ == idx)
			return i;
	}
	return len;
}

/* out = text[0..at) || insert || text[cut..len). */
static int splice(char **out, size_t *out_len, const char *text, size_t len, size_t at, size_t cut,
		  const char *insert)
{
	size_t ins = strlen(insert);

	*out_len = at + ins + (len - cut);
	*out = malloc(*out_len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, text, at);
	memcpy(*out + at, insert, ins);
	memcpy(*out + at + ins, text + cut, len - cut);
	(*out)[*out_len] = '\0';
	return 0;
}

static int edit(const struct scan *s, const char *text, size_t len, const char *num, char **out, size_t *out_len,
		char *err, size_t err_len)
{
	char insert[64];
	size_t at, end;

	if (s->found && !s->value_scalar) {
		ny_dist_set_err(err, err_len, "timestamp: expected a number, got a mapping, a sequence or an alias");
		return -EINVAL;
	}
	if (s->found && s->value_start < s->value_end) {
		at = byte_offset(text, len, s->value_start);
		end = byte_offset(text, len, s->value_end);
		if (memchr(text + at, '\n', end - at)) {
			ny_dist_set_err(err, err_len, "timestamp: expected a number on one line, to be replaced in place");
			return -EINVAL;
		}
		return splice(out, out_len, text, len, at, end, num);
	}
	if (s->found) {
		/* `timestamp:` with no value: the value goes after the colon. */
		at = byte_offset(text, len, s->key_end);
		while (at < len && (text[at] == ' ' || text[at] == '\t'))
			at++;
		if (at >= len || text[at] != ':') {
			ny_dist_set_err(err, err_len, "timestamp: cannot find the value to set");
			return -EINVAL;
		}
		snprintf(insert, sizeof(insert), " %s", num);
		return splice(out, out_len, text, len, at + 1, at + 1, insert);
	}
	switch (s->root) {
	case ROOT_BLOCK_MAP: {
		/* Before the first key, indented as it is. */
		size_t line;

		at = byte_offset(text, len, s->first_key);
		line = at;
		while (line > 0 && text[line - 1] != '\n')
			line--;
		for (size_t i = line; i < at; i++) {
			if (text[i] != ' ') {
				ny_dist_set_err(err, err_len, "cannot add a timestamp: the first key does not start its line");
				return -EINVAL;
			}
		}
		snprintf(insert, sizeof(insert), "timestamp: %s\n%*s", num, (int)(at - line), "");
		return splice(out, out_len, text, len, at, at, insert);
	}
	case ROOT_FLOW_MAP:
		at = byte_offset(text, len, s->map_start);
		while (at < len && text[at] != '{')
			at++;
		if (at >= len) {
			ny_dist_set_err(err, err_len, "cannot add a timestamp: no '{' at the flow mapping");
			return -EINVAL;
		}
		snprintf(insert, sizeof(insert), "timestamp: %s%s", num, s->has_pairs ? ", " : "");
		return splice(out, out_len, text, len, at + 1, at + 1, insert);
	case ROOT_EMPTY:
		snprintf(insert, sizeof(insert), "%stimestamp: %s\n", len > 0 && text[len - 1] != '\n' ? "\n" : "",
			 num);
		return splice(out, out_len, text, len, len, len, insert);
	case ROOT_OTHER:
	default:
		break;
	}
	ny_dist_set_err(err, err_len, "expected a mapping at the top level of the central config");
	return -EINVAL;
}

/* The edit must give a config that parses with exactly this timestamp. */
static int check(const char *text, size_t len, int64_t timestamp, char *err, size_t err_len)
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;
	int ret;

	ny_conf_report_init(&r);
	ret = ny_conf_central_parse(&c, "central.yaml", text, len, &r);
	if (ret == -EINVAL)
		ny_dist_set_err(err, err_len, "the config does not parse as a central config with its timestamp set");
	if (ret == 0 && c->timestamp != timestamp) {
		ny_dist_set_err(err, err_len, "cannot set the timestamp in this file's layout; write `timestamp: 0` as a "
				      "top-level key and seal again");
		ret = -EINVAL;
	}
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
	return ret;
}

int ny_bundle_stamp(const char *yaml, size_t len, int64_t timestamp, char **out, size_t *out_len, char *err,
		    size_t err_len)
{
	struct scan s;
	char num[24];
	int ret;

	*out = NULL;
	*out_len = 0;
	if (len >= 2 && (memcmp(yaml, "\xfe\xff", 2) == 0 || memcmp(yaml, "\xff\xfe", 2) == 0)) {
		ny_dist_set_err(err, err_len, "expected UTF-8 text, got UTF-16");
		return -EINVAL;
	}
	ret = scan_text(&s, yaml, len, err, err_len);
	if (ret)
		return ret;
	snprintf(num, sizeof(num), "%" PRId64, timestamp);
	ret = edit(&s, yaml, len, num, out, out_len, err, err_len);
	if (ret == 0)
		ret = check(*out, *out_len, timestamp, err, err_len);
	if (ret) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
	return ret;
}
