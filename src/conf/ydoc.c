/* libyaml document walking with positions, field paths and a visit budget (see ydoc.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/ydoc.h"

int ny_conf_y_open(struct ny_conf_y *y, const char *file, const char *text, size_t len, struct ny_conf_report *r)
{
	yaml_parser_t parser;
	int ret = 0;

	memset(y, 0, sizeof(*y));
	y->file = file;
	y->r = r;
	y->budget = NY_CONF_Y_BUDGET;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &y->doc)) {
		struct ny_conf_pos pos = { (unsigned)parser.problem_mark.line + 1,
					   (unsigned)parser.problem_mark.column + 1 };

		if (parser.error == YAML_MEMORY_ERROR)
			ret = -ENOMEM;
		else
			ret = -EINVAL;
		ny_conf_report_add(r, NY_CONF_ERROR, file, pos, "", "invalid YAML: %s%s%s",
				   parser.problem ? parser.problem : "syntax error",
				   parser.context ? " " : "", parser.context ? parser.context : "");
		goto out;
	}
	y->loaded = true;
out:
	yaml_parser_delete(&parser);
	return ret;
}

void ny_conf_y_close(struct ny_conf_y *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

yaml_node_t *ny_conf_y_root(struct ny_conf_y *y)
{
	return yaml_document_get_root_node(&y->doc);
}

int ny_conf_y_parse(const char *file, const char *text, size_t len, const struct ny_conf_y_field *fields, size_t n,
		    void *obj, struct ny_conf_report *r)
{
	size_t errors_before = r->n_errors;
	struct ny_conf_y y;
	int ret;

	ret = ny_conf_y_open(&y, file, text, len, r);
	if (ret)
		return ret;
	ret = ny_conf_y_mapping(&y, ny_conf_y_root(&y), fields, n, obj);
	ny_conf_y_close(&y);
	if (ret == -ENOMEM)
		return ret;
	if (ret || r->n_errors > errors_before)
		return -EINVAL;
	return 0;
}

struct ny_conf_pos ny_conf_y_pos(const yaml_node_t *node)
{
	struct ny_conf_pos pos = { 0, 0 };

	if (node) {
		pos.line = (unsigned)node->start_mark.line + 1;
		pos.column = (unsigned)node->start_mark.column + 1;
	}
	return pos;
}

void ny_conf_y_error(struct ny_conf_y *y, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ny_conf_report_add(y->r, NY_CONF_ERROR, y->file, ny_conf_y_pos(node), y->path, "%s", msg))
		y->err = -ENOMEM;
}

static void warn_unknown(struct ny_conf_y *y, const yaml_node_t *node, const char *key)
{
	char q[NY_CONF_QUOTE_LEN];

	/* nylon ignores unknown keys (reference §2); we say so, since it is usually a typo. */
	if (ny_conf_report_add(y->r, NY_CONF_WARNING, y->file, ny_conf_y_pos(node), y->path,
			       "unknown key %s ignored", ny_conf_quote(q, key)))
		y->err = -ENOMEM;
}

/* Moves the end of the path past n characters that snprintf wrote (or would have, when truncated) after old. */
static size_t path_pushed(struct ny_conf_y *y, size_t old, int n)
{
	if (n > 0)
		y->path_len = old + (size_t)n < sizeof(y->path) ? old + (size_t)n : sizeof(y->path) - 1;
	return old;
}

size_t ny_conf_y_push_key(struct ny_conf_y *y, const char *key)
{
	size_t old = y->path_len;

	return path_pushed(y, old, snprintf(y->path + old, sizeof(y->path) - old, "%s%s", old ? "." : "", key));
}

size_t ny_conf_y_push_index(struct ny_conf_y *y, size_t index)
{
	size_t old = y->path_len;

	return path_pushed(y, old, snprintf(y->path + old, sizeof(y->path) - old, "[%zu]", index));
}

void ny_conf_y_pop(struct ny_conf_y *y, size_t len)
{
	y->path_len = len;
	y->path[len] = '\0';
}

bool ny_conf_y_charge(struct ny_conf_y *y, const yaml_node_t *node)
{
	if (y->err)
		return false;
	if (--y->budget >= 0)
		return true;
	ny_conf_y_error(y, node, "document too complex: aliases expand to more than %d values", NY_CONF_Y_BUDGET);
	if (!y->err)
		y->err = -E2BIG;
	return false;
}

bool ny_conf_y_is_null(const yaml_node_t *node)
{
	const char *v;

	if (!node)
		return true;
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)node->data.scalar.value;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

const char *ny_conf_y_scalar(struct ny_conf_y *y, yaml_node_t *node, const char *expected)
{
	if (node->type != YAML_SCALAR_NODE) {
		ny_conf_y_error(y, node, "found %s: expected %s", kind(node), expected);
		return NULL;
	}
	if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length) {
		ny_conf_y_error(y, node, "value contains a NUL byte: expected %s", expected);
		return NULL;
	}
	return (const char *)node->data.scalar.value;
}

yaml_node_t *ny_conf_y_node(struct ny_conf_y *y, yaml_node_item_t item)
{
	return yaml_document_get_node(&y->doc, item);
}

size_t ny_conf_y_sequence(struct ny_conf_y *y, yaml_node_t *node, yaml_node_item_t **items)
{
	*items = NULL;
	if (ny_conf_y_is_null(node))
		return 0;
	if (node->type != YAML_SEQUENCE_NODE) {
		ny_conf_y_error(y, node, "found %s: expected a list", kind(node));
		return 0;
	}
	*items = node->data.sequence.items.start;
	return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
}

static int find_field(const struct ny_conf_y_field *fields, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(fields[i].key, key))
			return (int)i;
	}
	return -1;
}

static void check_required(struct ny_conf_y *y, yaml_node_t *node, const struct ny_conf_y_field *fields,
			   size_t n, const bool *seen)
{
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required && !seen[i])
			ny_conf_y_error(y, node, "missing required key \"%s\"", fields[i].key);
	}
}

int ny_conf_y_mapping(struct ny_conf_y *y, yaml_node_t *node, const struct ny_conf_y_field *fields, size_t n,
		      void *obj)
{
	bool seen[32] = { false };
	yaml_node_pair_t *pair;

	if (n > 32)
		abort(); /* cannot happen: our schemas are small */
	if (ny_conf_y_is_null(node))
		goto out;
	if (node->type != YAML_MAPPING_NODE) {
		ny_conf_y_error(y, node, "found %s: expected a mapping", kind(node));
		return y->err;
	}
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top && !y->err; pair++) {
		yaml_node_t *k = ny_conf_y_node(y, pair->key), *v = ny_conf_y_node(y, pair->value);
		char q[NY_CONF_QUOTE_LEN];
		const char *key;
		size_t old;
		int f;

		if (!k || !v || !ny_conf_y_charge(y, k))
			break;
		key = ny_conf_y_scalar(y, k, "a key");
		if (!key)
			continue;
		f = find_field(fields, n, key);
		if (f < 0) {
			warn_unknown(y, k, key);
			continue;
		}
		if (seen[f]) {
			ny_conf_y_error(y, k, "duplicate key %s", ny_conf_quote(q, key));
			continue;
		}
		seen[f] = true;
		old = ny_conf_y_push_key(y, key);
		if (!ny_conf_y_is_null(v) || fields[f].required)
			fields[f].parse(y, v, obj);
		ny_conf_y_pop(y, old);
	}
out:
	if (!y->err)
		check_required(y, node, fields, n, seen);
	return y->err;
}

int ny_conf_y_string(struct ny_conf_y *y, yaml_node_t *node, char **out)
{
	const char *s = ny_conf_y_scalar(y, node, "a string");
	char *copy;

	if (!s)
		return -EINVAL;
	copy = strdup(s);
	if (!copy) {
		y->err = -ENOMEM;
		return -ENOMEM;
	}
	free(*out);
	*out = copy;
	return 0;
}

int ny_conf_y_bool(struct ny_conf_y *y, yaml_node_t *node, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" }, *const no[] = { "false", "False", "FALSE" };
	const char *s = ny_conf_y_scalar(y, node, "true or false");
	char q[NY_CONF_QUOTE_LEN];

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*out = !strcmp(s, yes[i]);
			return 0;
		}
	}
	ny_conf_y_error(y, node, "invalid boolean %s: expected true or false", ny_conf_quote(q, s));
	return -EINVAL;
}

static bool parse_decimal(const char *s, bool allow_minus, uint64_t *mag, bool *neg)
{
	uint64_t v = 0;

	*neg = false;
	if (*s == '+' || (allow_minus && *s == '-'))
		*neg = *s++ == '-';
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*mag = v;
	return true;
}

/* The end of a typed scalar s: 0 when it parsed (ok), else -EINVAL with "invalid <what> <s>: expected <expected>"
 * reported at the node. */
static int parsed(struct ny_conf_y *y, yaml_node_t *node, const char *s, bool ok, const char *what,
		  const char *expected)
{
	char q[NY_CONF_QUOTE_LEN];

	if (ok)
		return 0;
	ny_conf_y_error(y, node, "invalid %s %s: expected %s", what, ny_conf_quote(q, s), expected);
	return -EINVAL;
}

int ny_conf_y_uint(struct ny_conf_y *y, yaml_node_t *node, uint64_t max, uint64_t *out)
{
	const char *s = ny_conf_y_scalar(y, node, "an unsigned integer");
	char q[NY_CONF_QUOTE_LEN];
	uint64_t v;
	bool neg;

	if (!s)
		return -EINVAL;
	if (!parse_decimal(s, false, &v, &neg) || v > max) {
		ny_conf_y_error(y, node, "invalid number %s: expected an integer from 0 to %llu", ny_conf_quote(q, s),
				(unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int ny_conf_y_int64(struct ny_conf_y *y, yaml_node_t *node, int64_t *out)
{
	const char *s = ny_conf_y_scalar(y, node, "an integer");
	uint64_t v = 0; /* set whenever parse_decimal succeeds; gcc -O2 cannot see it through the && */
	bool neg = false;

	if (!s)
		return -EINVAL;
	if (parsed(y, node, s, parse_decimal(s, true, &v, &neg) && v <= (uint64_t)INT64_MAX + neg, "number",
		   "a 64-bit integer"))
		return -EINVAL;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int ny_conf_y_duration(struct ny_conf_y *y, yaml_node_t *node, int64_t *out)
{
	const char *s = ny_conf_y_scalar(y, node, "a duration");

	if (!s)
		return -EINVAL;
	return parsed(y, node, s, ny_conf_duration_parse(out, s) == 0, "duration",
		      "a Go duration such as 15s or 1m30s");
}

int ny_conf_y_key(struct ny_conf_y *y, yaml_node_t *node, uint8_t key[NY_KEY_LEN], const char *what)
{
	const char *s = ny_conf_y_scalar(y, node, what);
	char q[NY_CONF_QUOTE_LEN];

	if (!s)
		return -EINVAL;
	if (ny_key_from_base64(key, s, strlen(s))) {
		ny_conf_y_error(y, node, "invalid key %s: expected %s, 32 bytes in standard base64 (44 characters)",
				ny_conf_quote(q, s), what);
		return -EINVAL;
	}
	return 0;
}

int ny_conf_y_addr(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_addr *out)
{
	const char *s = ny_conf_y_scalar(y, node, "an IP address");

	if (!s)
		return -EINVAL;
	return parsed(y, node, s, ny_conf_addr_parse(out, s) == 0, "IP address",
		      "an address such as 10.0.0.1 or fd00::1");
}

int ny_conf_y_cidr(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_cidr *out)
{
	const char *s = ny_conf_y_scalar(y, node, "a prefix");

	if (!s)
		return -EINVAL;
	return parsed(y, node, s, ny_conf_cidr_parse(out, s) == 0, "prefix",
		      "a prefix such as 10.0.0.0/24 or fd00::/64");
}

int ny_conf_y_cidr_list(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_cidr **out, size_t *n)
{
	yaml_node_item_t *items;
	size_t count = ny_conf_y_sequence(y, node, &items);
	int ret = 0;

	if (count == 0)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < count && ny_conf_y_charge(y, node); i++) {
		size_t old = ny_conf_y_push_index(y, i);

		if (ny_conf_y_cidr(y, ny_conf_y_node(y, items[i]), &(*out)[*n]) == 0)
			(*n)++;
		else
			ret = -EINVAL;
		ny_conf_y_pop(y, old);
	}
	return ret;
}

void ny_conf_strlist_clear(struct ny_conf_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int ny_conf_y_string_list(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_strlist *out)
{
	yaml_node_item_t *items;
	size_t count = ny_conf_y_sequence(y, node, &items);
	int ret = 0;

	if (count == 0)
		return 0;
	out->v = calloc(count, sizeof(*out->v));
	if (!out->v)
		return y->err = -ENOMEM;
	for (size_t i = 0; i < count && ny_conf_y_charge(y, node); i++) {
		size_t old = ny_conf_y_push_index(y, i);

		if (ny_conf_y_string(y, ny_conf_y_node(y, items[i]), &out->v[out->n]) == 0)
			out->n++;
		else
			ret = -EINVAL;
		ny_conf_y_pop(y, old);
	}
	return ret;
}
