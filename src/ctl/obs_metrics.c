/* /metrics from a status snapshot (reference §5.3). Counters are totals since the process started; gauges are the
 * state at collection; times are seconds, metrics (link and route) microseconds as nylon's.
 *
 * nylon's series, same names, types and labels:
 *   nylon_up                                            gauge    1
 *   nylon_config_timestamp_seconds                      gauge    central.yaml `timestamp` (unix ns) / 1e9
 *   nylon_neighbours, nylon_active_endpoints,
 *   nylon_selected_routes, nylon_advertised_prefixes    gauge
 *   nylon_wireguard_{transmit,receive}_bytes_total      counter
 *   nylon_wireguard_peer_{transmit,receive}_bytes_total counter  {peer}
 *   nylon_wireguard_peer_latest_handshake_seconds       gauge    {peer}
 *   nylon_endpoint_active, nylon_endpoint_metric,
 *   nylon_endpoint_rtt_seconds                          gauge    {peer,endpoint}
 *   nylon_route_metric                                  gauge    {prefix,router,next_hop}
 * ours:
 *   nylon_node_info                                     gauge    {node,interface,backend} = 1
 *   nylon_dataplane_packets_total                       counter  {direction=rx|tx, side=udp|tun}
 *   nylon_dataplane_receive_bytes_total                 counter  {side=udp|tun}
 *   nylon_dataplane_{forwarded,ttl_expired,control}_packets_total, nylon_dataplane_batches_total,
 *   nylon_dataplane_batch_packets_total                 counter
 *   nylon_dataplane_drops_total                         counter  {reason} (ny_dp_drop_name)
 *   nylon_wireguard_drops_total                         counter  {reason} (ny_wg_drop_name)
 *   nylon_router_messages_{sent,received}_total         counter  {type}
 *   nylon_router_messages_dropped_total                 counter  {reason}
 *   nylon_router_seqno_requests_total                   counter  {action=originated|forwarded|deduplicated}
 *   nylon_router_{route_changes,triggered_updates,full_dumps}_total  counter
 *   nylon_probe_tokens_total                            counter  {event}
 * Reasons are listed even at 0, so a rate() sees the first drop. */
#include <stdio.h>
#include <string.h>

#include "nylon/obs.h"
#include "nylon/status.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void gauge(struct ny_prom *p, const char *name, const char *help, double v)
{
	ny_prom_add(p, name, NY_PROM_GAUGE, help, NULL, 0, v);
}

static void counter(struct ny_prom *p, const char *name, const char *help, uint64_t v)
{
	ny_prom_add(p, name, NY_PROM_COUNTER, help, NULL, 0, (double)v);
}

static void counter1(struct ny_prom *p, const char *name, const char *help, const char *label, const char *value,
		     uint64_t v)
{
	struct ny_prom_label l = { label, value };

	ny_prom_add(p, name, NY_PROM_COUNTER, help, &l, 1, (double)v);
}

/* Whole seconds and the fraction apart: unix nanoseconds are beyond a double's 2^53, a plain division would print
 * 1700000001.2500002 for 1700000001250000000. */
static double ns_to_s(int64_t ns)
{
	return (double)(ns / 1000000000) + (double)(ns % 1000000000) / 1e9;
}

/* ---- nylon's series (reference §5.3) ---- */

static void add_node(struct ny_prom *p, const struct ny_status *st)
{
	const struct ny_status_node_stats *s = &st->node.stats;

	gauge(p, "nylon_up", "1 while nylon is running.", 1);
	gauge(p, "nylon_config_timestamp_seconds", "The central configuration's timestamp, in unix seconds.",
	      ns_to_s(st->node.config_timestamp));
	gauge(p, "nylon_neighbours", "Graph neighbours of this node (routers and passive clients).", s->neighbour_count);
	gauge(p, "nylon_active_endpoints", "Neighbour endpoints currently answering probes.", s->active_endpoint_count);
	gauge(p, "nylon_selected_routes", "Routes in the selected-route table.", s->selected_route_count);
	gauge(p, "nylon_advertised_prefixes", "Prefixes this node advertises.", s->advertised_prefix_count);
	counter(p, "nylon_wireguard_transmit_bytes_total", "Bytes sent to all WireGuard peers.", s->tx_bytes);
	counter(p, "nylon_wireguard_receive_bytes_total", "Bytes received from all WireGuard peers.", s->rx_bytes);
}

static bool endpoint_seen(const struct ny_status_neighbour *nb, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(nb->endpoints[j].address, nb->endpoints[i].address))
			return true;
	return false;
}

static void add_neighbour(struct ny_prom *p, const struct ny_status_neighbour *nb)
{
	const struct ny_status_wg_peer *wg = &nb->wireguard;
	struct ny_prom_label peer = { "peer", nb->peer_id };

	ny_prom_add(p, "nylon_wireguard_peer_transmit_bytes_total", NY_PROM_COUNTER, "Bytes sent to a WireGuard peer.",
		    &peer, 1, (double)wg->tx_bytes);
	ny_prom_add(p, "nylon_wireguard_peer_receive_bytes_total", NY_PROM_COUNTER,
		    "Bytes received from a WireGuard peer.", &peer, 1, (double)wg->rx_bytes);
	ny_prom_add(p, "nylon_wireguard_peer_latest_handshake_seconds", NY_PROM_GAUGE,
		    "Unix time of the newest completed handshake with a WireGuard peer; 0 if none.", &peer, 1,
		    ns_to_s(wg->latest_handshake_unix_ns));
	for (size_t i = 0; i < nb->n_endpoints; i++) {
		const struct ny_status_endpoint *ep = &nb->endpoints[i];
		struct ny_prom_label l[] = { { "peer", nb->peer_id }, { "endpoint", ep->address } };

		if (endpoint_seen(nb, i)) /* one series per address, or Prometheus rejects the whole scrape */
			continue;
		ny_prom_add(p, "nylon_endpoint_active", NY_PROM_GAUGE, "1 if the endpoint answers probes, else 0.", l, 2,
			    ep->active);
		ny_prom_add(p, "nylon_endpoint_metric", NY_PROM_GAUGE,
			    "Link metric of the endpoint in microseconds (4294967295 = unreachable).", l, 2, ep->metric);
		ny_prom_add(p, "nylon_endpoint_rtt_seconds", NY_PROM_GAUGE,
			    "Filtered (EWMA) round-trip time of the endpoint's probes.", l, 2,
			    ns_to_s(ep->filtered_rtt_ns));
	}
}

static bool same_route(const struct ny_status_selected *a, const struct ny_status_selected *b)
{
	return !strcmp(a->pub_route.source.prefix, b->pub_route.source.prefix) &&
	       !strcmp(a->pub_route.source.node_id, b->pub_route.source.node_id) && !strcmp(a->nh, b->nh);
}

static void add_routes(struct ny_prom *p, const struct ny_status *st)
{
	for (size_t i = 0; i < st->n_selected; i++) {
		const struct ny_status_selected *r = &st->selected[i];
		struct ny_prom_label l[] = { { "prefix", r->pub_route.source.prefix },
					     { "router", r->pub_route.source.node_id },
					     { "next_hop", r->nh } };

		if (i && same_route(&st->selected[i - 1], r))
			continue;
		ny_prom_add(p, "nylon_route_metric", NY_PROM_GAUGE,
			    "Metric of a selected route in microseconds (4294967295 = retracted).", l, 3,
			    r->pub_route.fd.metric);
	}
}

/* ---- ours ---- */

static void add_dataplane(struct ny_prom *p, const struct ny_status_dp_counters *dp)
{
	static const char pkts[] = "nylon_dataplane_packets_total";
	static const char pkts_help[] = "Packets moved by the data plane, by direction (rx, tx) and side: udp = "
					"authenticated WireGuard transport packets on the UDP port, tun = IP packets on the "
					"tunnel interface.";
	static const char bytes_help[] = "Bytes received by the data plane, by side (udp: transport packets, tun: IP "
					 "packets read from the interface).";
	const struct {
		const char *direction, *side;
		uint64_t v;
	} p_rows[] = {
		{ "rx", "udp", dp->rx_udp_pkts },
		{ "tx", "udp", dp->tx_udp_pkts },
		{ "rx", "tun", dp->rx_tun_pkts },
		{ "tx", "tun", dp->tx_tun_pkts },
	};

	for (size_t i = 0; i < ARRAY_LEN(p_rows); i++) {
		struct ny_prom_label l[] = { { "direction", p_rows[i].direction }, { "side", p_rows[i].side } };

		ny_prom_add(p, pkts, NY_PROM_COUNTER, pkts_help, l, 2, (double)p_rows[i].v);
	}
	counter1(p, "nylon_dataplane_receive_bytes_total", bytes_help, "side", "udp", dp->rx_udp_bytes);
	counter1(p, "nylon_dataplane_receive_bytes_total", bytes_help, "side", "tun", dp->rx_tun_bytes);
	counter(p, "nylon_dataplane_forwarded_packets_total",
		"Transit packets re-encrypted to the next hop inside nylon.", dp->fwd_pkts);
	counter(p, "nylon_dataplane_ttl_expired_packets_total",
		"Transit packets whose TTL ran out here, handed to the OS for ICMP Time Exceeded.", dp->ttl_expired);
	counter(p, "nylon_dataplane_control_packets_total",
		"Routing control messages handed from the data plane to the routing thread.", dp->control_pkts);
	counter(p, "nylon_dataplane_batches_total", "I/O batches processed by the data-plane shards.", dp->batches);
	counter(p, "nylon_dataplane_batch_packets_total",
		"Packets in those batches (the average batch size is this divided by nylon_dataplane_batches_total).",
		dp->batch_pkts);
	for (int d = 0; d < NY_DP_DROP__COUNT; d++)
		counter1(p, "nylon_dataplane_drops_total", "Packets dropped by the data plane, by reason.", "reason",
			 ny_dp_drop_name(d), dp->drops[d]);
}

static void add_wireguard(struct ny_prom *p, const struct ny_status_counters *c)
{
	for (int d = 1; d < NY_WG_DROP__COUNT; d++) /* 0 is "none" */
		counter1(p, "nylon_wireguard_drops_total", "Messages the WireGuard engine refused, by reason.", "reason",
			 ny_wg_drop_name(d), c->wg_drops[d]);
}

static void add_router(struct ny_prom *p, const struct ny_router_counters *r)
{
	static const char sent_help[] = "Routing messages sent to neighbours, by type.";
	static const char recv_help[] = "Routing messages received from neighbours and accepted, by type.";
	static const char drop_help[] = "Routing messages received and dropped, by reason.";
	static const char seqno_help[] = "Seqno requests (RFC 8966 §3.8.1) this node originated (starvation, "
					 "unfeasible update), forwarded, or skipped as duplicates of a recent one.";

	counter1(p, "nylon_router_messages_sent_total", sent_help, "type", "update", r->tx_update);
	counter1(p, "nylon_router_messages_sent_total", sent_help, "type", "seqno_request", r->tx_seqno_request);
	counter1(p, "nylon_router_messages_sent_total", sent_help, "type", "ack_retract", r->tx_ack_retract);
	counter1(p, "nylon_router_messages_received_total", recv_help, "type", "update", r->rx_update);
	counter1(p, "nylon_router_messages_received_total", recv_help, "type", "seqno_request", r->rx_seqno_request);
	counter1(p, "nylon_router_messages_received_total", recv_help, "type", "ack_retract", r->rx_ack_retract);
	counter1(p, "nylon_router_messages_received_total", recv_help, "type", "ignored_probe", r->rx_ignored_probe);
	counter1(p, "nylon_router_messages_dropped_total", drop_help, "reason", "bad_neighbour", r->drop_bad_neighbour);
	counter1(p, "nylon_router_messages_dropped_total", drop_help, "reason", "from_client", r->drop_from_client);
	counter1(p, "nylon_router_messages_dropped_total", drop_help, "reason", "unknown_router",
		 r->drop_unknown_router);
	counter1(p, "nylon_router_messages_dropped_total", drop_help, "reason", "unknown_prefix",
		 r->drop_unknown_prefix);
	counter1(p, "nylon_router_messages_dropped_total", drop_help, "reason", "bad_type", r->drop_bad_type);
	counter1(p, "nylon_router_seqno_requests_total", seqno_help, "action", "originated", r->seqno_req_originated);
	counter1(p, "nylon_router_seqno_requests_total", seqno_help, "action", "forwarded", r->seqno_req_forwarded);
	counter1(p, "nylon_router_seqno_requests_total", seqno_help, "action", "deduplicated", r->seqno_req_deduped);
	counter(p, "nylon_router_route_changes_total",
		"Forwarding-table changes: a route inserted, its next hop changed, retracted or released.",
		r->route_changes);
	counter(p, "nylon_router_triggered_updates_total", "Updates sent at once after a change (RFC 8966 §3.7.2).",
		r->triggered_updates);
	counter(p, "nylon_router_full_dumps_total", "Periodic full route dumps to the neighbours.", r->full_dumps);
}

static void add_probe_tokens(struct ny_prom *p, const struct ny_route_probe_token_stats *t)
{
	static const char help[] = "Link-probe tokens: added when a probe is sent; a pong then matches one, or is "
				   "unknown, expired or from the wrong neighbour; evicted ones were forgotten early.";
	const struct {
		const char *event;
		uint64_t v;
	} rows[] = {
		{ "added", t->added },		{ "matched", t->matched },
		{ "unknown", t->unknown },	{ "expired", t->expired },
		{ "wrong_neighbour", t->wrong_neighbour }, { "evicted", t->evicted },
	};

	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		counter1(p, "nylon_probe_tokens_total", help, "event", rows[i].event, rows[i].v);
}

int ny_obs_metrics_add(struct ny_prom *p, const struct ny_status *st)
{
	struct ny_prom_label info[] = { { "node", st->node.node_id },
					{ "interface", st->node.interface },
					{ "backend", st->node.backend } };

	add_node(p, st);
	for (size_t i = 0; i < st->n_neighbours; i++)
		add_neighbour(p, &st->neighbours[i]);
	add_routes(p, st);
	ny_prom_add(p, "nylon_node_info", NY_PROM_GAUGE, "1, labelled with this node's id, interface and I/O backend.",
		    info, ARRAY_LEN(info), 1);
	add_dataplane(p, &st->counters.dp);
	add_wireguard(p, &st->counters);
	add_router(p, &st->counters.router);
	add_probe_tokens(p, &st->counters.probe_tokens);
	return ny_prom_error(p); /* the first failed ny_prom_add: a bug here or out of memory, never bad input */
}
