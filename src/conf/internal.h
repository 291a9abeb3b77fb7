/* Private helpers shared by the files of src/conf/. */
#ifndef NYLON_CONF_INTERNAL_H
#define NYLON_CONF_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "nylon/conf.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Appends one diagnostic. Returns 0 or -ENOMEM (the report keeps counting even when it cannot keep more). */
__attribute__((format(printf, 6, 7)))
int ny_conf_report_add(struct ny_conf_report *r, enum ny_conf_severity sev, const char *file,
		       struct ny_conf_pos pos, const char *path, const char *fmt, ...);

__attribute__((format(printf, 6, 0)))
int ny_conf_report_vadd(struct ny_conf_report *r, enum ny_conf_severity sev, const char *file,
			struct ny_conf_pos pos, const char *path, const char *fmt, va_list ap);

/* Frees the members of a peer (not the peer itself). */
void ny_conf_peer_clear(struct ny_conf_peer *p);
void ny_conf_prefix_clear(struct ny_conf_prefix *p);

/* A URL as nylon's url.Parse would need it for a fetch: a scheme (RFC 3986 §3.1), a ':' and no whitespace or
 * control characters. */
bool ny_conf_url_valid(const char *url);

/* host:port as Go's net.SplitHostPort, with a numeric port. host may be empty (listen on all addresses). */
bool ny_conf_hostport_valid(const char *text);

/* Quotes a found value for a message: at most 60 characters, non-printable bytes as \xNN. Returns buf. */
#define NY_CONF_QUOTE_LEN 256
const char *ny_conf_quote(char buf[NY_CONF_QUOTE_LEN], const char *s);

/* Reads a whole file of at most NY_CONF_MAX_FILE_SIZE bytes; reports problems against path. */
int ny_conf_read_file(const char *path, char **text, size_t *len, struct ny_conf_report *r);

#endif
