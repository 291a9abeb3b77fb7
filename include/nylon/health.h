/* Prefix health checks (reference §2.2 `ping` / `http` prefixes, §5.2): one monitor per checked prefix of this
 * node, each on its own thread, probing every `delay` and reporting the metric the prefix should be advertised
 * with. The monitors never touch the router: they hand each result to a report callback (the data plane posts it
 * to the routing thread with ny_dp_routing_call).
 *
 * Metric semantics (reference §5.2 leaves the override's meaning to us; we take the recommended one):
 *   - INF until the first success, and INF while the latest probe round failed;
 *   - healthy: the configured `metric` override if one was given, otherwise the measured time in microseconds
 *     (ping: the echo's round-trip time; http: the whole request's duration), at least 1 and at most INFM.
 *   The override is therefore advertised only while the check passes: a failing primary with override 10 loses to
 *   a static backup at 1000 (the e2e expectation of reference §6.1 TestHealthcheckHTTP), unlike nylon's HEAD code,
 *   which advertised the override unconditionally.
 *
 * ping: every `delay`, up to `max_failures` ICMP / ICMPv6 echo requests from a raw socket (needs CAP_NET_RAW),
 * each waited for delay/max_failures; the first matching reply (our identifier and the attempt's sequence number,
 * from the target, checksum valid) is a success. With `bind_if` the source is that interface's first address of
 * the target's family. http: every `delay`, a libcurl GET with timeout `delay`; status 200 is a success, anything
 * else (other status, connection error, timeout) a failure; the body is read and discarded (at most
 * NY_HEALTH_HTTP_BODY_MAX bytes, a larger body fails the check).
 *
 * Threads: struct ny_health is driven by one owner thread (ny_health_set, ny_health_monitor_current: the routing
 * thread, and the thread that starts it before any live apply can run) plus a final ny_health_stop from any
 * thread; an internal lock makes them safe against each other. Each monitor thread
 * only reads its own copy of its configuration and calls the report callback.
 */
#ifndef NYLON_HEALTH_H
#define NYLON_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/conf.h"

#define NY_HEALTH_HTTP_BODY_MAX (64 * 1024)

struct ny_health;
struct ny_health_monitor;

/* ---- pure parts (unit-tested) ---- */

/* The metric a checked prefix is advertised with after a probe round: see the semantics above. healthy = the round
 * succeeded; elapsed_ns = its measured time (ignored when not healthy). */
uint32_t ny_health_metric(const struct ny_conf_prefix *p, bool healthy, uint64_t elapsed_ns);

/* Whether two prefix entries describe the same check (type, prefix, target, timing, source, url, override): a
 * monitor whose configuration is unchanged keeps running through a live apply. */
bool ny_health_conf_equal(const struct ny_conf_prefix *a, const struct ny_conf_prefix *b);

#define NY_HEALTH_ICMP_PAYLOAD 16
#define NY_HEALTH_ICMP_LEN (8 + NY_HEALTH_ICMP_PAYLOAD)

/* An echo request (ICMP type 8, or ICMPv6 type 128) with identifier id and sequence seq into buf
 * (NY_HEALTH_ICMP_LEN bytes). IPv4: the checksum is filled in. IPv6: left 0, the kernel computes it over the
 * pseudo-header (RFC 3542 §3.1: mandatory for raw ICMPv6 sockets). */
void ny_health_icmp_build(uint8_t buf[NY_HEALTH_ICMP_LEN], int family, uint16_t id, uint16_t seq);

/* Whether buf is the echo reply to (id, seq). IPv4: buf starts with the IP header (raw IPv4 sockets deliver it),
 * which is checked for length and protocol and skipped, and the ICMP checksum must verify. IPv6: buf is the ICMPv6
 * message (the kernel has verified its checksum). Every read is bounds-checked; anything else is false. */
bool ny_health_icmp_match(const uint8_t *buf, size_t len, int family, uint16_t id, uint16_t seq);

/* ---- probes (blocking; stop_fd readable = give up at once) ---- */

/* One ping round to dst: up to attempts echo requests, each waited for timeout_ns. 0 with *rtt_ns on a reply;
 * -ETIMEDOUT (no reply), -ECANCELED (stop_fd), or a negative errno (socket, bind_if without an address of that
 * family: -EADDRNOTAVAIL). *seq is the next sequence number to use and is advanced. */
int ny_health_ping(const struct ny_conf_addr *dst, const char *bind_if, uint32_t attempts, int64_t timeout_ns,
		   uint16_t id, uint16_t *seq, int stop_fd, uint64_t *rtt_ns);

/* One GET of url with timeout_ns: 0 with *elapsed_ns on status 200; -EPROTO (another status; *status set),
 * -ETIMEDOUT, -ECONNREFUSED (no connection), -EHOSTUNREACH (the host name does not resolve), -EMSGSIZE (body over
 * NY_HEALTH_HTTP_BODY_MAX), -ECANCELED (stop_fd), -EIO (any other transfer error). status may be NULL. */
int ny_health_http_get(const char *url, int64_t timeout_ns, int stop_fd, uint64_t *elapsed_ns, long *status);

/* ---- monitors ---- */

/* Called on a monitor's thread after every probe round with the metric to advertise (ny_health_metric). Returns 0
 * when the result was applied, or a negative errno (it is simply reported again after the next round). m
 * identifies the monitor for ny_health_monitor_current. */
typedef int (*ny_health_report_fn)(void *arg, struct ny_health_monitor *m, const struct ny_conf_cidr *prefix,
				   uint32_t metric);

/* An empty set of monitors. NULL on -ENOMEM. */
struct ny_health *ny_health_new(ny_health_report_fn report, void *arg);

/* Makes the running monitors match the checked (ping/http) entries of prefixes[0..n): a monitor whose entry is
 * unchanged (ny_health_conf_equal) keeps running and kept[i] (n entries) is set true at its entry's index; the
 * others are stopped (without waiting: they are joined later) and new ones are started. A checked entry with
 * kept[i] false has a new monitor (or none, on error): its prefix must be held at INF until that monitor's first
 * report. Never blocks on a probe. 0, or -ENOMEM / -EAGAIN (a thread could not be created: that prefix is not
 * monitored and stays at INF, the others are), -ESHUTDOWN after ny_health_stop. Context: the owner thread. */
int ny_health_set(struct ny_health *h, const struct ny_conf_prefix *prefixes, size_t n, bool *kept);

/* True while m is one of the running monitors (not stopped by ny_health_set or ny_health_stop). A report that
 * reaches its applier after the monitor was replaced must be dropped. Context: the owner thread. */
bool ny_health_monitor_current(const struct ny_health_monitor *m);

/* Stops every monitor and waits for them: each gives up its probe at once; the wait is bounded by a report
 * callback in progress. Later ny_health_set calls fail. Context: any thread but the monitors'. */
void ny_health_stop(struct ny_health *h);

/* ny_health_stop, then frees h. NULL is a no-op. */
void ny_health_free(struct ny_health *h);

#endif
