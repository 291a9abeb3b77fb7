/* The Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats): one
 * "# HELP" and one "# TYPE" line per family, then its samples, `name{label="value",...} value`. Samples are kept
 * per family and written at the end, so a renderer may interleave families (per peer: tx, rx, handshake) and the
 * output still has each family once and contiguous, as the format requires. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/obs_internal.h"
#include "nylon/obs.h"

#define LABELS_MAX 8

struct sample {
	char *labels; /* "" or `{a="x",b="y"}`, sorted and escaped: equal label sets give equal strings */
	double value;
};

struct family {
	char *name;
	char *help;
	enum ny_prom_type type;
	struct sample *samples;
	size_t n, cap;
};

struct ny_prom {
	struct family *families;
	size_t n, cap;
	int err; /* the first error of ny_prom_add */
};

struct ny_prom *ny_prom_new(void)
{
	return calloc(1, sizeof(struct ny_prom));
}

void ny_prom_free(struct ny_prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct family *f = &p->families[i];

		for (size_t j = 0; j < f->n; j++)
			free(f->samples[j].labels);
		free(f->samples);
		free(f->name);
		free(f->help);
	}
	free(p->families);
	free(p);
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
		return true;
	return !first && c >= '0' && c <= '9';
}

static bool metric_name_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!name_char(s[i], i == 0, true))
			return false;
	return true;
}

/* Names starting with "__" are reserved for Prometheus itself. */
static bool label_name_valid(const char *s)
{
	if (!s || !*s || (s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!name_char(s[i], i == 0, false))
			return false;
	return true;
}

void ny_prom_format_value(double v, char out[NY_PROM_VALUE_STRLEN])
{
	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers (counters, the usual case) in full: the shortest %g of 10 would be "1e+01". */
	if (v == trunc(v) && fabs(v) < 1e15) {
		snprintf(out, NY_PROM_VALUE_STRLEN, "%.0f", v);
		return;
	}
	/* Otherwise the shortest precision that reads back as the same double; 17 digits always do. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, NY_PROM_VALUE_STRLEN, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* Label values escape backslash, double quote and newline; HELP text only backslash and newline. */
static void put_escaped(struct obs_buf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			obs_buf_put(b, "\\\\", 2);
		else if (*s == '\n')
			obs_buf_put(b, "\\n", 2);
		else if (*s == '"' && quote)
			obs_buf_put(b, "\\\"", 2);
		else
			obs_buf_put(b, s, 1);
	}
}

static int render_labels(const struct ny_prom_label *labels, size_t n, char **out)
{
	const struct ny_prom_label *sorted[LABELS_MAX];
	struct obs_buf b = { 0 };
	size_t len;

	if (n > LABELS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (!label_name_valid(labels[i].name) || !labels[i].value)
			return -EINVAL;
		for (; j > 0 && strcmp(sorted[j - 1]->name, labels[i].name) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &labels[i];
	}
	for (size_t i = 1; i < n; i++)
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
			return -EINVAL;
	obs_buf_put(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		obs_buf_puts(&b, i ? "," : "{");
		obs_buf_puts(&b, sorted[i]->name);
		obs_buf_put(&b, "=\"", 2);
		put_escaped(&b, sorted[i]->value, true);
		obs_buf_puts(&b, i + 1 == n ? "\"}" : "\"");
	}
	return obs_buf_finish(&b, out, &len);
}

static struct family *family_get(struct ny_prom *p, const char *name, enum ny_prom_type type, const char *help)
{
	struct family *f;

	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->families[i].name, name)) {
			if (p->families[i].type != type) {
				p->err = -EINVAL;
				return NULL;
			}
			return &p->families[i];
		}
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;

		if (!(f = realloc(p->families, cap * sizeof(*f)))) {
			p->err = -ENOMEM;
			return NULL;
		}
		p->families = f;
		p->cap = cap;
	}
	f = &p->families[p->n];
	*f = (struct family){ .name = strdup(name), .help = strdup(help ? help : ""), .type = type };
	if (!f->name || !f->help) {
		free(f->name);
		free(f->help);
		p->err = -ENOMEM;
		return NULL;
	}
	p->n++;
	return f;
}

int ny_prom_add(struct ny_prom *p, const char *name, enum ny_prom_type type, const char *help,
		const struct ny_prom_label *labels, size_t n_labels, double value)
{
	struct family *f;
	char *rendered;
	int ret;

	if (p->err)
		return p->err;
	if (!metric_name_valid(name) || (type != NY_PROM_COUNTER && type != NY_PROM_GAUGE))
		return p->err = -EINVAL;
	if ((ret = render_labels(labels, n_labels, &rendered)) < 0)
		return p->err = ret;
	if (!(f = family_get(p, name, type, help))) {
		free(rendered);
		return p->err;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		struct sample *s = realloc(f->samples, cap * sizeof(*s));

		if (!s) {
			free(rendered);
			return p->err = -ENOMEM;
		}
		f->samples = s;
		f->cap = cap;
	}
	f->samples[f->n++] = (struct sample){ .labels = rendered, .value = value };
	return 0;
}

int ny_prom_error(const struct ny_prom *p)
{
	return p->err;
}

static int cmp_labels(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A family with two samples of the same label set would be rejected by Prometheus for the whole scrape. */
static int check_duplicates(const struct family *f)
{
	char **keys;
	int ret = 0;

	if (f->n < 2)
		return 0;
	if (!(keys = malloc(f->n * sizeof(*keys))))
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		keys[i] = f->samples[i].labels;
	qsort(keys, f->n, sizeof(*keys), cmp_labels);
	for (size_t i = 1; i < f->n && !ret; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			ret = -EEXIST;
	free(keys);
	return ret;
}

int ny_prom_render(const struct ny_prom *p, char **out, size_t *len)
{
	struct obs_buf b = { 0 };
	char value[NY_PROM_VALUE_STRLEN];
	int ret;

	if (p->err)
		return p->err;
	obs_buf_put(&b, "", 0);
	for (size_t i = 0; i < p->n; i++) {
		const struct family *f = &p->families[i];

		if ((ret = check_duplicates(f)) < 0) {
			obs_buf_free(&b);
			return ret;
		}
		if (*f->help) { /* no HELP line at all rather than an empty one */
			obs_buf_printf(&b, "# HELP %s ", f->name);
			put_escaped(&b, f->help, false);
			obs_buf_put(&b, "\n", 1);
		}
		obs_buf_printf(&b, "# TYPE %s %s\n", f->name, f->type == NY_PROM_COUNTER ? "counter" : "gauge");
		for (size_t j = 0; j < f->n; j++) {
			ny_prom_format_value(f->samples[j].value, value);
			obs_buf_printf(&b, "%s%s %s\n", f->name, f->samples[j].labels, value);
		}
	}
	return obs_buf_finish(&b, out, len);
}
