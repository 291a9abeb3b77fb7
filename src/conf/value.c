/* Text forms of configuration values: addresses, prefixes, Go durations, endpoints, ids, URLs. They follow what
 * nylon's Go parsers accept (netip, time.ParseDuration, net.SplitHostPort), stricter only where Go's result could
 * never work (noted at each place). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf/internal.h"

static int parse_u64(uint64_t *out, const char *s, size_t len, uint64_t max)
{
	uint64_t v = 0;

	/* Decimal only, no sign, no leading zeros (as Go's netip for prefix bits and ports). */
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ny_conf_addr_parse(struct ny_conf_addr *out, const char *text)
{
	memset(out, 0, sizeof(*out));
	/* Zones (fe80::1%eth0) are refused: a zone means nothing in a mesh address or a DNS server. */
	if (strchr(text, ':')) {
		out->family = AF_INET6;
		return inet_pton(AF_INET6, text, out->bytes) == 1 ? 0 : -EINVAL;
	}
	out->family = AF_INET;
	return inet_pton(AF_INET, text, out->bytes) == 1 ? 0 : -EINVAL;
}

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void mask_addr(struct ny_conf_addr *a, unsigned bits)
{
	unsigned n = family_bits(a->family) / 8;

	for (unsigned i = 0; i < n; i++) {
		if (bits >= 8 * (i + 1))
			continue;
		if (bits <= 8 * i)
			a->bytes[i] = 0;
		else
			a->bytes[i] &= (uint8_t)(0xff00u >> (bits - 8 * i));
	}
}

int ny_conf_cidr_parse(struct ny_conf_cidr *out, const char *text)
{
	char buf[NY_CONF_CIDR_STRLEN];
	const char *slash = strchr(text, '/');
	size_t alen;
	uint64_t bits;

	if (!slash)
		return -EINVAL;
	alen = (size_t)(slash - text);
	if (alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (ny_conf_addr_parse(&out->addr, buf))
		return -EINVAL;
	if (parse_u64(&bits, slash + 1, strlen(slash + 1), family_bits(out->addr.family)))
		return -EINVAL;
	out->bits = (uint8_t)bits;
	/* Stored masked so that 10.0.0.1/24 and 10.0.0.0/24 are the same prefix everywhere after parsing. */
	mask_addr(&out->addr, out->bits);
	return 0;
}

void ny_conf_addr_format(const struct ny_conf_addr *a, char out[NY_CONF_ADDR_STRLEN])
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->bytes, out, NY_CONF_ADDR_STRLEN))
		strcpy(out, "?");
}

void ny_conf_cidr_format(const struct ny_conf_cidr *c, char out[NY_CONF_CIDR_STRLEN])
{
	char a[NY_CONF_ADDR_STRLEN];

	ny_conf_addr_format(&c->addr, a);
	snprintf(out, NY_CONF_CIDR_STRLEN, "%s/%u", a, c->bits);
}

bool ny_conf_cidr_equal(const struct ny_conf_cidr *a, const struct ny_conf_cidr *b)
{
	return a->addr.family == b->addr.family && a->bits == b->bits &&
	       memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes)) == 0;
}

void ny_conf_cidr_from_addr(struct ny_conf_cidr *out, const struct ny_conf_addr *a)
{
	out->addr = *a;
	out->bits = (uint8_t)family_bits(a->family);
}

/* ---- Go durations ---- */

struct unit {
	const char *name;
	uint64_t ns;
};

static const struct unit units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu */
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
};

static const struct unit *match_unit(const char **s)
{
	const char *p = *s;
	size_t len = 0;

	while (p[len] && p[len] != '.' && (p[len] < '0' || p[len] > '9'))
		len++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == len && memcmp(units[i].name, p, len) == 0) {
			*s = p + len;
			return &units[i];
		}
	}
	return NULL;
}

/* Leading digits into *v; false on overflow. Sets *n to the number of digits read. */
static bool read_int(const char **s, uint64_t *v, size_t *n)
{
	*v = 0;
	*n = 0;
	while (**s >= '0' && **s <= '9') {
		if (*v > (1ULL << 63) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(**s - '0');
		if (*v > 1ULL << 63)
			return false;
		(*s)++;
		(*n)++;
	}
	return true;
}

/* Follows Go's time.ParseDuration: [-+]?(digits[.digits]?unit)+, or "0". */
int ny_conf_duration_parse(int64_t *ns, const char *s)
{
	const uint64_t limit = 1ULL << 63;
	bool neg = false;
	uint64_t total = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return -EINVAL;
	while (*s) {
		uint64_t v, f = 0;
		double scale = 1;
		size_t nint, nfrac = 0;
		const struct unit *u;

		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return -EINVAL;
		if (!read_int(&s, &v, &nint))
			return -EINVAL;
		if (*s == '.') {
			s++;
			/* Extra fraction digits beyond what fits are ignored, as in Go. */
			while (*s >= '0' && *s <= '9') {
				if (f < (1ULL << 62) / 10) {
					f = f * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
				s++;
				nfrac++;
			}
		}
		if (nint == 0 && nfrac == 0)
			return -EINVAL;
		u = match_unit(&s);
		if (!u)
			return -EINVAL;
		if (v > limit / u->ns)
			return -EINVAL;
		v *= u->ns;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)u->ns / scale));
			if (v > limit)
				return -EINVAL;
		}
		total += v;
		if (total > limit)
			return -EINVAL;
	}
	if (neg) {
		*ns = total == limit ? INT64_MIN : -(int64_t)total;
		return 0;
	}
	if (total > (uint64_t)INT64_MAX)
		return -EINVAL;
	*ns = (int64_t)total;
	return 0;
}

/* ---- addresses with ports ---- */

static int parse_port(uint16_t *port, const char *s, size_t len)
{
	uint64_t v;

	if (parse_u64(&v, s, len, 65535))
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Splits "[v6]:port" or "host:port" like net.SplitHostPort. host is copied into buf (no brackets). */
static int split_hostport(const char *text, char *host, size_t host_len, const char **port, bool *bracketed)
{
	const char *colon;
	size_t hlen;

	*bracketed = text[0] == '[';
	if (*bracketed) {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		hlen = (size_t)(end - text - 1);
		text++;
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)) || strchr(text, '[') || strchr(text, ']'))
			return -EINVAL;
		hlen = (size_t)(colon - text);
	}
	if (hlen >= host_len)
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	*port = colon + 1;
	return 0;
}

int ny_conf_addrport_parse(struct ny_conf_addr *addr, uint16_t *port, const char *text)
{
	char host[NY_CONF_ADDR_STRLEN];
	const char *p;
	bool br;

	if (split_hostport(text, host, sizeof(host), &p, &br))
		return -EINVAL;
	if (ny_conf_addr_parse(addr, host))
		return -EINVAL;
	/* As netip.ParseAddrPort: IPv6 needs brackets, IPv4 must not have them. */
	if (br != (addr->family == AF_INET6))
		return -EINVAL;
	return parse_port(port, p, strlen(p));
}

bool ny_conf_hostport_valid(const char *text)
{
	char host[256];
	const char *p;
	uint16_t port;
	bool br;

	if (split_hostport(text, host, sizeof(host), &p, &br))
		return false;
	/* Go would also accept a service name (":http"); we want a number, which is what users write. */
	return parse_port(&port, p, strlen(p)) == 0;
}

static bool hostname_valid(const char *h)
{
	size_t len = strlen(h);

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
	}
	return true;
}

void ny_conf_endpoint_clear(struct ny_conf_endpoint *e)
{
	free(e->text);
	free(e->host);
	memset(e, 0, sizeof(*e));
}

static int endpoint_fill(struct ny_conf_endpoint *out, const char *text, const char *host, uint16_t port)
{
	out->is_ip = ny_conf_addr_parse(&out->ip, host) == 0;
	if (!out->is_ip && !hostname_valid(host))
		return -EINVAL;
	/* Port 0 cannot be sent to; nylon would accept it and never connect. */
	if (port == 0)
		return -EINVAL;
	out->port = port;
	out->text = strdup(text);
	out->host = strdup(host);
	if (!out->text || !out->host) {
		ny_conf_endpoint_clear(out);
		return -ENOMEM;
	}
	return 0;
}

/* reference §2.2, parseEndpoint: ip:port, [v6]:port, bare IP, host:port, bare host; default port 57175. */
int ny_conf_endpoint_parse(struct ny_conf_endpoint *out, const char *text)
{
	char host[256];
	struct ny_conf_addr a;
	const char *p;
	uint16_t port;
	bool br;
	size_t len = strlen(text);

	memset(out, 0, sizeof(*out));
	if (len == 0 || strstr(text, "://"))
		return -EINVAL;
	/* A bare IPv6 literal has colons but no port. */
	if (ny_conf_addr_parse(&a, text) == 0)
		return endpoint_fill(out, text, text, NY_CONF_DEFAULT_PORT);
	if (text[0] == '[' && text[len - 1] == ']' && len - 2 < sizeof(host)) {
		memcpy(host, text + 1, len - 2);
		host[len - 2] = '\0';
		if (ny_conf_addr_parse(&a, host) || a.family != AF_INET6)
			return -EINVAL;
		return endpoint_fill(out, text, host, NY_CONF_DEFAULT_PORT);
	}
	if (strchr(text, ':')) {
		if (split_hostport(text, host, sizeof(host), &p, &br) || parse_port(&port, p, strlen(p)))
			return -EINVAL;
		if (br && (ny_conf_addr_parse(&a, host) || a.family != AF_INET6))
			return -EINVAL;
		return endpoint_fill(out, text, host, port);
	}
	if (len >= sizeof(host))
		return -EINVAL;
	return endpoint_fill(out, text, text, NY_CONF_DEFAULT_PORT);
}

bool ny_conf_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > NY_CONF_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '/' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool ny_conf_url_valid(const char *url)
{
	const char *p = url;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return false;
	for (; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	}
	return true;
}

const char *ny_conf_quote(char buf[NY_CONF_QUOTE_LEN], const char *s)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; s[i] && i < 60; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, NY_CONF_QUOTE_LEN - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (s[i])
		o += (size_t)snprintf(buf + o, NY_CONF_QUOTE_LEN - o, "...");
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
