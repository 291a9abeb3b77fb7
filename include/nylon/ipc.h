/* The control socket: WireGuard's cross-platform UAPI on /var/run/wireguard/<iface>.sock, so that stock `wg show`
 * and `wg showconf` work, plus nylon's `get=nylon` + one JSON line (reference nylon-behaviour.md §5.4) for
 * `nylon status`, `probe`, `reload` and `trace`.
 *
 * The protocol half (ipc_proto.c, ipc_uapi.c) is pure functions over strings and status snapshots, so it is unit
 * tested without a daemon. The server half (ipc.c) owns one accepting thread and one thread per connection (capped):
 * a request can block for seconds (a probe waits up to 10 s for pongs, trace streams until the client leaves), and a
 * slow or silent client only holds its own thread, bounded by a read timeout.
 */
#ifndef NYLON_IPC_H
#define NYLON_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/status.h"

#define NY_IPC_SOCKET_DIR "/var/run/wireguard"
#define NY_IPC_LINE_MAX 65536      /* longest request line accepted (UAPI key=value or the JSON request) */
#define NY_IPC_SET_MAX_LINES 65536 /* a set=1 body longer than this is refused */
#define NY_IPC_MAX_CONNS 32        /* concurrent connections; more are closed at once */
#define NY_IPC_READ_TIMEOUT_MS 5000 /* a connection that sends nothing for this long is closed */
#define NY_IPC_DISPATCH_MS 1000    /* status and reload wait this long for the routing thread (reference §5.4) */
#define NY_IPC_PROBE_DEFAULT_MS 2000
#define NY_IPC_PROBE_MAX_MS 10000

/* ---- nylon's JSON requests (ipc_proto.c) ---- */

enum ny_ipc_method {
	NY_IPC_UNKNOWN = 0, /* empty request or none of the below: "unknown method" */
	NY_IPC_STATUS,
	NY_IPC_PROBE,
	NY_IPC_RELOAD,
	NY_IPC_TRACE,
};

struct ny_ipc_request {
	enum ny_ipc_method method;
	char peer_id[NY_STATUS_ID_LEN]; /* probe */
	uint32_t timeout_ms;            /* probe: 0 → 2 s, capped at 10 s (already applied) */
};

/* Parses one request line (without its newline) as proto3 JSON: {"status":{}}, {"probe":{"peerId":"b",
 * "timeoutMs":2000}} (int64 as number or string; snake_case names accepted too, as protojson does), {"reload":{}},
 * {"trace":{}}. 0 with *out set (method NY_IPC_UNKNOWN for an empty or unknown request), or -EINVAL with a message
 * in err for malformed JSON or a field of the wrong type. */
int ny_ipc_request_parse(const char *line, size_t len, struct ny_ipc_request *out, char *err, size_t err_len);

enum ny_ipc_reload_result {
	NY_IPC_RELOAD_NOOP = 0,
	NY_IPC_RELOAD_APPLIED,
	NY_IPC_RELOAD_REJECTED,
	NY_IPC_RELOAD_RESTART_REQUIRED,
};
const char *ny_ipc_reload_result_name(enum ny_ipc_reload_result r);
const char *ny_ipc_probe_status_name(enum ny_probe_status s);

/* Responses: one line of proto3 JSON each (lowerCamel names, 64-bit integers as strings, enums as names, unpopulated
 * fields emitted), NUL-terminated, without the newline; malloc'd (free it), NULL on allocation failure. */
char *ny_ipc_response_error(const char *error);
char *ny_ipc_response_status(const struct ny_status *st);
char *ny_ipc_response_probe(const struct ny_probe_result *res, size_t n);
char *ny_ipc_response_reload(enum ny_ipc_reload_result result, const char *message);
char *ny_ipc_response_trace(const char *line); /* NULL line: the stream's first {"ok":true} */

/* The status object alone (StatusResponse), pretty-printed with 2-space indent when pretty: `nylon status --json`
 * prints this. malloc'd. */
char *ny_ipc_status_json(const struct ny_status *st, bool pretty);

/* ---- WireGuard UAPI (ipc_uapi.c) ---- */

/* The answer to get=1: private_key, listen_port, then per neighbour public_key, endpoint, handshake time, byte
 * counters, persistent_keepalive_interval, the allowed_ip lines (the prefixes whose selected route goes through
 * that neighbour) and protocol_version=1, then errno=0 and the empty line. Keys are hex. malloc'd, NULL on ENOMEM. */
char *ny_ipc_uapi_get(const struct ny_status *st, const uint8_t private_key[32]);

/* A set=1 body (the lines after "set=1", up to but excluding the empty line). Nylon's peers, keys and ports come
 * from its configuration, so a set that would change anything is refused; one that changes nothing (no keys, or
 * only a listen_port / private_key equal to the current ones) is accepted as a no-op. Returns the errno value to
 * answer (0, EPERM for a change, EINVAL for a malformed line), with a reason in why for the log. */
int ny_ipc_uapi_set(const char *body, size_t len, const struct ny_status *st, const uint8_t private_key[32],
		    char *why, size_t why_len);

/* ---- the server (ipc.c) ---- */

struct ny_dp_node;
struct ny_ipc_server;

struct ny_ipc_ops {
	struct ny_dp_node *node;
	bool trace_enabled;
	/* `nylon reload`: re-read the configuration and apply it. Returns an enum ny_ipc_reload_result, with a message
	 * (may stay empty) in msg. Runs on a connection thread. NULL: reload answers REJECTED "not supported". */
	int (*reload)(void *ctx, char *msg, size_t len);
	void *reload_ctx;
};

/* Creates NY_IPC_SOCKET_DIR (0755) if needed and listens on <dir>/<ifname>.sock (0600). A live socket there (some
 * process accepts on it) is an error: -EADDRINUSE; a stale one is removed. dir NULL means NY_IPC_SOCKET_DIR (tests
 * pass their own). 0 or -errno with err set. Context: main thread. */
int ny_ipc_server_start(struct ny_ipc_server **out, const char *dir, const char *ifname, const struct ny_ipc_ops *ops,
			char *err, size_t err_len);
/* Stops accepting, closes every connection, joins the threads (bounded: a request in progress is waited for at
 * most NY_IPC_PROBE_MAX_MS + 2 s), removes the socket and frees. NULL is fine. Context: main thread, before the
 * node is stopped. */
void ny_ipc_server_stop(struct ny_ipc_server *s);

/* ---- the client (ipc_client.c, used by the CLI) ---- */

/* Connects to <NY_IPC_SOCKET_DIR>/<ifname>.sock, sends get=nylon and the request line, and reads one response line
 * (malloc'd, without its newline) within timeout_ms. 0 or -errno with err set ("is nylon running on <ifname>?"). */
int ny_ipc_client_call(const char *ifname, const char *request, int timeout_ms, char **response, char *err,
		       size_t err_len);
/* Like ny_ipc_client_call, then calls on_line for every further line until the server closes or on_line returns
 * non-zero (trace). */
int ny_ipc_client_stream(const char *ifname, const char *request, int (*on_line)(void *ctx, const char *line),
			 void *ctx, char *err, size_t err_len);

#endif
