/* Private to the observability files (src/ctl/obs*.c): a growable text buffer for the bodies they render. */
#ifndef NYLON_CTL_OBS_INTERNAL_H
#define NYLON_CTL_OBS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Appends never fail visibly: on allocation failure the buffer turns `oom` and ignores further appends, so a
 * renderer checks once at the end. */
struct obs_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

void obs_buf_put(struct obs_buf *b, const char *s, size_t n);
void obs_buf_puts(struct obs_buf *b, const char *s);
void obs_buf_printf(struct obs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the NUL-terminated text to the caller (*out, *len) and resets b. 0 or -ENOMEM (b freed). */
int obs_buf_finish(struct obs_buf *b, char **out, size_t *len);
void obs_buf_free(struct obs_buf *b);

#endif
