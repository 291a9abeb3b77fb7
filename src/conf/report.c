/* Diagnostics of configuration loading: every problem is kept with its file, place and field path, so that a
 * user sees all independent mistakes at once (STYLE.md "Bad input"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

void ny_conf_report_init(struct ny_conf_report *r)
{
	memset(r, 0, sizeof(*r));
}

void ny_conf_report_free(struct ny_conf_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->diags[i].file);
		free(r->diags[i].path);
		free(r->diags[i].message);
	}
	free(r->diags);
	ny_conf_report_init(r);
}

static int reserve(struct ny_conf_report *r)
{
	struct ny_conf_diag *d;
	size_t cap;

	if (r->n < r->cap)
		return 0;
	cap = r->cap ? r->cap * 2 : 8;
	d = realloc(r->diags, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	r->diags = d;
	r->cap = cap;
	return 0;
}

int ny_conf_report_vadd(struct ny_conf_report *r, enum ny_conf_severity sev, const char *file,
			struct ny_conf_pos pos, const char *path, const char *fmt, va_list ap)
{
	struct ny_conf_diag *d;
	va_list copy;
	int len;

	if (sev == NY_CONF_ERROR)
		r->n_errors++;
	else
		r->n_warnings++;
	if (r->n >= NY_CONF_REPORT_MAX)
		return 0;
	if (reserve(r))
		return -ENOMEM;
	d = &r->diags[r->n];
	memset(d, 0, sizeof(*d));
	d->severity = sev;
	d->line = pos.line;
	d->column = pos.column;
	d->file = strdup(file ? file : "");
	d->path = strdup(path ? path : "");
	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len >= 0)
		d->message = malloc((size_t)len + 1);
	if (!d->file || !d->path || !d->message)
		goto nomem;
	vsnprintf(d->message, (size_t)len + 1, fmt, ap);
	r->n++;
	return 0;
nomem:
	free(d->file);
	free(d->path);
	free(d->message);
	return -ENOMEM;
}

int ny_conf_report_add(struct ny_conf_report *r, enum ny_conf_severity sev, const char *file,
		       struct ny_conf_pos pos, const char *path, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = ny_conf_report_vadd(r, sev, file, pos, path, fmt, ap);
	va_end(ap);
	return ret;
}

int ny_conf_diag_format(const struct ny_conf_diag *d, char *buf, size_t len)
{
	char where[64] = "";
	const char *sev = d->severity == NY_CONF_WARNING ? "warning: " : "";
	const char *sep = d->path[0] ? ": " : "";

	if (d->line)
		snprintf(where, sizeof(where), ":%u:%u", d->line, d->column);
	return snprintf(buf, len, "%s%s: %s%s%s%s", d->file, where, sev, d->path, sep, d->message);
}

int ny_conf_report_first_error(const struct ny_conf_report *r, char *buf, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->diags[i].severity == NY_CONF_ERROR)
			return ny_conf_diag_format(&r->diags[i], buf, len);
	return snprintf(buf, len, "invalid configuration");
}

void ny_conf_report_print(const struct ny_conf_report *r, enum ny_conf_severity severity, FILE *f)
{
	size_t shown = 0, total;
	char line[1024];

	for (size_t i = 0; i < r->n; i++) {
		if (r->diags[i].severity != severity)
			continue;
		ny_conf_diag_format(&r->diags[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
		shown++;
	}
	total = severity == NY_CONF_ERROR ? r->n_errors : r->n_warnings;
	if (total > shown)
		fprintf(f, "... and %zu more\n", total - shown);
}
