/* Private to src/dist/. */
#ifndef NYLON_DIST_INTERNAL_H
#define NYLON_DIST_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* A one-line message into the caller's err buffer (err may be NULL). */
__attribute__((format(printf, 3, 4))) static inline void ny_dist_set_err(char *err, size_t err_len, const char *fmt,
									  ...)
{
	va_list ap;

	if (!err || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

#endif
