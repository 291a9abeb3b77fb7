/* /discovery (Prometheus HTTP service discovery, prometheus.io/docs/prometheus/latest/http_sd) and the parsing of
 * `observability_addr`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl/obs_internal.h"
#include "nylon/conf.h"
#include "nylon/obs.h"

/* Node ids are [0-9a-z._/-] once validated, but the document must stay JSON whatever it is handed. */
static void put_json_string(struct obs_buf *b, const char *s)
{
	obs_buf_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			obs_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			obs_buf_printf(b, "\\u%04x", c);
		else
			obs_buf_put(b, s, 1);
	}
	obs_buf_put(b, "\"", 1);
}

int ny_obs_discovery_json(const struct ny_conf_central *central, uint16_t port, char **out, size_t *len)
{
	struct obs_buf b = { 0 };
	size_t n_nodes = central->n_routers + central->n_clients;
	bool first = true;

	obs_buf_puts(&b, "[");
	for (size_t i = 0; i < n_nodes; i++) {
		const struct ny_conf_peer *peer = ny_conf_central_peer(central, i);

		if (!peer->n_addresses)
			continue;
		obs_buf_puts(&b, first ? "{\"targets\":[" : ",{\"targets\":[");
		first = false;
		for (size_t a = 0; a < peer->n_addresses; a++) {
			char text[NY_CONF_ADDR_STRLEN];
			bool v6 = peer->addresses[a].family != AF_INET;

			ny_conf_addr_format(&peer->addresses[a], text);
			obs_buf_printf(&b, "%s\"%s%s%s:%u\"", a ? "," : "", v6 ? "[" : "", text, v6 ? "]" : "",
				       (unsigned)port);
		}
		obs_buf_puts(&b, "],\"labels\":{\"nylon_node\":");
		put_json_string(&b, peer->id);
		obs_buf_puts(&b, "}}");
	}
	obs_buf_puts(&b, "]\n");
	return obs_buf_finish(&b, out, len);
}

int ny_obs_addr_split(const char *text, char *host, size_t host_len, uint16_t *port)
{
	const char *colon, *p;
	size_t hlen;
	unsigned long v = 0;

	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		text++;
		colon = close + 1;
	} else {
		if (!(colon = strrchr(text, ':')) || memchr(text, ':', (size_t)(colon - text)))
			return -EINVAL; /* no port, or an unbracketed IPv6 address */
		hlen = (size_t)(colon - text);
	}
	if (hlen >= host_len || memchr(text, '[', hlen) || memchr(text, ']', hlen))
		return -EINVAL;
	p = colon + 1;
	if (!*p || strlen(p) > 5)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}
