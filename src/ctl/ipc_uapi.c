/* WireGuard's cross-platform userspace API (the text protocol of wireguard-tools' ipc-uapi.h and wireguard-go's
 * uapi.go): the answer to get=1 and the policy for set=1, as pure functions over a status snapshot.
 *
 * get=1 prints the private key, as every userspace implementation does: `wg showconf` prints it and `wg show`
 * derives the public key from it. The socket is 0600 root, the same trust as the kernel's netlink interface, which
 * also hands the private key to CAP_NET_ADMIN.
 *
 * allowed_ip lists, per neighbour, the prefixes whose selected route goes through it right now: nylon does not use
 * WireGuard's allowed IPs (traffic control routes instead, reference §0), but this is the closest truthful answer to
 * "what does this peer carry", and it makes `wg show` useful (nylon issue #48).
 */
#include "nylon/ipc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *data;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void append(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *p = realloc(b->data, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
}

static void hex(char out[65], const uint8_t key[32])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[key[i] >> 4];
		out[2 * i + 1] = digits[key[i] & 15];
	}
	out[64] = '\0';
}

char *ny_ipc_uapi_get(const struct ny_status *st, const uint8_t private_key[32])
{
	/* Large enough up front for most meshes: a realloc would leave a copy of the private key behind. */
	struct buf b = { .data = malloc(65536), .cap = 65536 };
	char key[65];

	if (!b.data)
		return NULL;
	b.data[0] = '\0';
	hex(key, private_key);
	append(&b, "private_key=%s\nlisten_port=%u\n", key, st->node.listen_port);
	for (size_t i = 0; i < st->n_neighbours; i++) {
		const struct ny_status_neighbour *n = &st->neighbours[i];
		int64_t hs = n->wireguard.latest_handshake_unix_ns;

		hex(key, n->public_key_raw);
		append(&b, "public_key=%s\n", key);
		if (n->wireguard.endpoint[0])
			append(&b, "endpoint=%s\n", n->wireguard.endpoint);
		append(&b, "last_handshake_time_sec=%" PRId64 "\nlast_handshake_time_nsec=%" PRId64 "\n",
		       hs / 1000000000, hs % 1000000000);
		append(&b, "tx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64 "\npersistent_keepalive_interval=%u\n",
		       n->wireguard.tx_bytes, n->wireguard.rx_bytes, n->wireguard.persistent_keepalive_interval);
		for (size_t j = 0; j < st->n_forward; j++)
			if (!st->forward[j].blackhole && strcmp(st->forward[j].nh, n->peer_id) == 0)
				append(&b, "allowed_ip=%s\n", st->forward[j].prefix);
		append(&b, "protocol_version=1\n");
	}
	append(&b, "errno=0\n\n");
	explicit_bzero(key, sizeof(key));
	if (b.oom) {
		if (b.data)
			explicit_bzero(b.data, b.cap);
		free(b.data);
		return NULL;
	}
	return b.data;
}

/* ---- set=1 -------------------------------------------------------------------------------------------------- */

static bool key_from_hex(uint8_t out[32], const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : v << 4);
	}
	return true;
}

static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !*end && !errno && *out <= max;
}

enum set_verdict { SET_OK, SET_CHANGE, SET_BAD };

/* One device-level key. */
static enum set_verdict set_device_key(const char *key, const char *value, const struct ny_status *st,
				       const uint8_t private_key[32])
{
	uint8_t k[32];
	uint64_t v;

	if (strcmp(key, "private_key") == 0) {
		bool same;

		if (!key_from_hex(k, value))
			return SET_BAD;
		same = memcmp(k, private_key, 32) == 0;
		explicit_bzero(k, sizeof(k));
		return same ? SET_OK : SET_CHANGE;
	}
	if (strcmp(key, "listen_port") == 0)
		return !parse_num(value, 0xffff, &v) ? SET_BAD : v == st->node.listen_port ? SET_OK : SET_CHANGE;
	if (strcmp(key, "fwmark") == 0)
		return !parse_num(value, 0xffffffffu, &v) ? SET_BAD : v == 0 ? SET_OK : SET_CHANGE;
	if (strcmp(key, "replace_peers") == 0)
		return strcmp(value, "true") == 0 ? SET_CHANGE : strcmp(value, "false") == 0 ? SET_OK : SET_BAD;
	return SET_BAD;
}

/* One key inside a peer section (peer: the neighbour it names). */
static enum set_verdict set_peer_key(const char *key, const char *value, const struct ny_status_neighbour *peer)
{
	uint64_t v;

	if (strcmp(key, "update_only") == 0 || strcmp(key, "replace_allowed_ips") == 0)
		return strcmp(value, "true") == 0 || strcmp(value, "false") == 0 ? SET_OK : SET_BAD;
	if (strcmp(key, "remove") == 0)
		return strcmp(value, "true") == 0 ? SET_CHANGE : strcmp(value, "false") == 0 ? SET_OK : SET_BAD;
	if (strcmp(key, "protocol_version") == 0)
		return strcmp(value, "1") == 0 ? SET_OK : SET_BAD;
	if (strcmp(key, "persistent_keepalive_interval") == 0)
		return !parse_num(value, 0xffff, &v) ? SET_BAD :
		       v == peer->wireguard.persistent_keepalive_interval ? SET_OK : SET_CHANGE;
	if (strcmp(key, "preshared_key") == 0 || strcmp(key, "endpoint") == 0 || strcmp(key, "allowed_ip") == 0)
		return *value ? SET_CHANGE : SET_BAD;
	return SET_BAD;
}

int ny_ipc_uapi_set(const char *body, size_t len, const struct ny_status *st, const uint8_t private_key[32],
		    char *why, size_t why_len)
{
	const struct ny_status_neighbour *peer = NULL;
	size_t at = 0, lines = 0;
	char line[256];
	int ret = 0;

	while (at < len && ret == 0) {
		const char *nl = memchr(body + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (body + at)) : len - at;
		enum set_verdict v;
		char *value;

		if (++lines > NY_IPC_SET_MAX_LINES || n >= sizeof(line) || memchr(body + at, '\0', n)) {
			snprintf(why, why_len, "line %zu: too long or too many lines", lines);
			ret = EINVAL;
			break;
		}
		memcpy(line, body + at, n);
		line[n] = '\0';
		at += n + 1;
		if (!(value = strchr(line, '='))) {
			snprintf(why, why_len, "line %zu: expected key=value", lines);
			ret = EINVAL;
			break;
		}
		*value++ = '\0';
		if (strcmp(line, "public_key") == 0) {
			uint8_t k[32];

			peer = NULL;
			if (!key_from_hex(k, value)) {
				snprintf(why, why_len, "line %zu: public_key: expected 64 hex digits", lines);
				ret = EINVAL;
				break;
			}
			for (size_t i = 0; i < st->n_neighbours && !peer; i++)
				if (memcmp(st->neighbours[i].public_key_raw, k, 32) == 0)
					peer = &st->neighbours[i];
			if (!peer) {
				snprintf(why, why_len, "refusing to add a peer: peers come from central.yaml");
				ret = EPERM;
			}
			continue;
		}
		v = peer ? set_peer_key(line, value, peer) : set_device_key(line, value, st, private_key);
		if (v == SET_BAD) {
			snprintf(why, why_len, "line %zu: invalid %.64s", lines, line);
			ret = EINVAL;
		} else if (v == SET_CHANGE) {
			snprintf(why, why_len, "refusing to change %.64s%s%.100s: nylon takes peers, keys and ports from "
				 "central.yaml and node.yaml (edit them, then `nylon reload`)", line,
				 peer ? " of peer " : "", peer ? peer->peer_id : "");
			ret = EPERM;
		}
	}
	explicit_bzero(line, sizeof(line));
	return ret;
}
