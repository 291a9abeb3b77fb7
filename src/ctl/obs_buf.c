/* The growable text buffer of the observability bodies. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/obs_internal.h"

static bool reserve(struct obs_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	need = b->len + extra + 1; /* always room for the NUL */
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (!(p = realloc(b->p, cap))) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void obs_buf_put(struct obs_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void obs_buf_puts(struct obs_buf *b, const char *s)
{
	obs_buf_put(b, s, strlen(s));
}

void obs_buf_printf(struct obs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int obs_buf_finish(struct obs_buf *b, char **out, size_t *len)
{
	if (!reserve(b, 0)) {
		obs_buf_free(b);
		return -ENOMEM;
	}
	*out = b->p;
	*len = b->len;
	*b = (struct obs_buf){ 0 };
	return 0;
}

void obs_buf_free(struct obs_buf *b)
{
	free(b->p);
	*b = (struct obs_buf){ 0 };
}
