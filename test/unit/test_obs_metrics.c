/* /metrics from a hand-built status snapshot: nylon's 15 series with their names, types and labels (reference
 * §5.3), ours (data plane, drops by reason, router counters), units converted to seconds, and a snapshot that
 * would repeat a series (two endpoints written alike) still rendering. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/obs.h"
#include "nylon/status.h"

static struct ny_status_endpoint eps_b[3];
static struct ny_status_neighbour nbs[2];
static struct ny_status_selected sel[3];

static void build(struct ny_status *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->node.node_id, "alpha");
	strcpy(st->node.interface, "nylon0");
	strcpy(st->node.backend, "io_uring");
	st->node.config_timestamp = 1700000000500000000LL;
	st->node.stats = (struct ny_status_node_stats){ .neighbour_count = 2, .active_endpoint_count = 1,
							.selected_route_count = 3, .advertised_prefix_count = 2,
							.tx_bytes = 123456789, .rx_bytes = 987654321 };

	memset(nbs, 0, sizeof(nbs));
	memset(eps_b, 0, sizeof(eps_b));
	strcpy(nbs[0].peer_id, "beta");
	nbs[0].wireguard = (struct ny_status_wg_peer){ .latest_handshake_unix_ns = 1700000001250000000LL,
						       .tx_bytes = 1000, .rx_bytes = 2000 };
	strcpy(eps_b[0].address, "198.18.0.2:57175");
	eps_b[0].active = true;
	eps_b[0].metric = 1250;
	eps_b[0].filtered_rtt_ns = 1250000;
	strcpy(eps_b[1].address, "[fd00::2]:57175");
	eps_b[1].metric = 0xffffffffu;
	strcpy(eps_b[2].address, "198.18.0.2:57175"); /* the same text again: one series only */
	nbs[0].endpoints = eps_b;
	nbs[0].n_endpoints = 3;
	strcpy(nbs[1].peer_id, "phone");
	nbs[1].passive_client = true;
	st->neighbours = nbs;
	st->n_neighbours = 2;

	memset(sel, 0, sizeof(sel));
	strcpy(sel[0].pub_route.source.prefix, "198.19.0.1/32");
	strcpy(sel[0].pub_route.source.node_id, "alpha");
	strcpy(sel[0].nh, "alpha");
	strcpy(sel[1].pub_route.source.prefix, "198.19.0.2/32");
	strcpy(sel[1].pub_route.source.node_id, "beta");
	strcpy(sel[1].nh, "beta");
	sel[1].pub_route.fd.metric = 1255;
	strcpy(sel[2].pub_route.source.prefix, "fd00::2/128");
	strcpy(sel[2].pub_route.source.node_id, "beta");
	strcpy(sel[2].nh, "beta");
	sel[2].pub_route.fd.metric = 0xffffffffu;
	st->selected = sel;
	st->n_selected = 3;

	st->counters.dp = (struct ny_status_dp_counters){ .rx_udp_pkts = 10, .rx_udp_bytes = 1500, .tx_udp_pkts = 11,
							  .rx_tun_pkts = 12, .rx_tun_bytes = 1600, .tx_tun_pkts = 13,
							  .fwd_pkts = 4, .ttl_expired = 1, .control_pkts = 7,
							  .batches = 5, .batch_pkts = 40 };
	st->counters.dp.drops[NY_DP_DROP_NO_ROUTE] = 3;
	st->counters.wg_drops[NY_WG_DROP_REPLAY] = 2;
	st->counters.router.tx_update = 21;
	st->counters.router.rx_update = 22;
	st->counters.router.route_changes = 6;
	st->counters.router.seqno_req_originated = 1;
	st->counters.probe_tokens.matched = 9;
}

static char *render(void)
{
	struct ny_status st;
	struct ny_prom *p = ny_prom_new();
	char *out = NULL;
	size_t len;

	build(&st);
	cr_assert_eq(ny_obs_metrics_add(p, &st), 0);
	cr_assert_eq(ny_prom_render(p, &out, &len), 0);
	ny_prom_free(p);
	return out;
}

static void expect_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	cr_expect(strstr(text, want) != NULL, "missing line: %s", line);
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *s = text; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

Test(obs_metrics, nylon_series_names_types_labels)
{
	char *m = render();

	cr_expect(strncmp(m, "# HELP nylon_up ", 16) == 0);
	expect_line(m, "# TYPE nylon_up gauge");
	expect_line(m, "nylon_up 1");
	expect_line(m, "# TYPE nylon_config_timestamp_seconds gauge");
	expect_line(m, "nylon_config_timestamp_seconds 1700000000.5");
	expect_line(m, "# TYPE nylon_neighbours gauge");
	expect_line(m, "nylon_neighbours 2");
	expect_line(m, "# TYPE nylon_active_endpoints gauge");
	expect_line(m, "nylon_active_endpoints 1");
	expect_line(m, "# TYPE nylon_selected_routes gauge");
	expect_line(m, "nylon_selected_routes 3");
	expect_line(m, "# TYPE nylon_advertised_prefixes gauge");
	expect_line(m, "nylon_advertised_prefixes 2");
	expect_line(m, "# TYPE nylon_wireguard_transmit_bytes_total counter");
	expect_line(m, "nylon_wireguard_transmit_bytes_total 123456789");
	expect_line(m, "# TYPE nylon_wireguard_receive_bytes_total counter");
	expect_line(m, "nylon_wireguard_receive_bytes_total 987654321");
	expect_line(m, "# TYPE nylon_wireguard_peer_transmit_bytes_total counter");
	expect_line(m, "nylon_wireguard_peer_transmit_bytes_total{peer=\"beta\"} 1000");
	expect_line(m, "nylon_wireguard_peer_transmit_bytes_total{peer=\"phone\"} 0");
	expect_line(m, "# TYPE nylon_wireguard_peer_receive_bytes_total counter");
	expect_line(m, "nylon_wireguard_peer_receive_bytes_total{peer=\"beta\"} 2000");
	expect_line(m, "# TYPE nylon_wireguard_peer_latest_handshake_seconds gauge");
	expect_line(m, "nylon_wireguard_peer_latest_handshake_seconds{peer=\"beta\"} 1700000001.25");
	expect_line(m, "nylon_wireguard_peer_latest_handshake_seconds{peer=\"phone\"} 0");
	expect_line(m, "# TYPE nylon_endpoint_active gauge");
	expect_line(m, "nylon_endpoint_active{endpoint=\"198.18.0.2:57175\",peer=\"beta\"} 1");
	expect_line(m, "nylon_endpoint_active{endpoint=\"[fd00::2]:57175\",peer=\"beta\"} 0");
	expect_line(m, "# TYPE nylon_endpoint_metric gauge");
	expect_line(m, "nylon_endpoint_metric{endpoint=\"198.18.0.2:57175\",peer=\"beta\"} 1250");
	expect_line(m, "nylon_endpoint_metric{endpoint=\"[fd00::2]:57175\",peer=\"beta\"} 4294967295");
	expect_line(m, "# TYPE nylon_endpoint_rtt_seconds gauge");
	expect_line(m, "nylon_endpoint_rtt_seconds{endpoint=\"198.18.0.2:57175\",peer=\"beta\"} 0.00125");
	expect_line(m, "# TYPE nylon_route_metric gauge");
	expect_line(m, "nylon_route_metric{next_hop=\"alpha\",prefix=\"198.19.0.1/32\",router=\"alpha\"} 0");
	expect_line(m, "nylon_route_metric{next_hop=\"beta\",prefix=\"198.19.0.2/32\",router=\"beta\"} 1255");
	expect_line(m, "nylon_route_metric{next_hop=\"beta\",prefix=\"fd00::2/128\",router=\"beta\"} 4294967295");
	free(m);
}

Test(obs_metrics, help_and_type_once_per_family)
{
	char *m = render();

	cr_expect_eq(count(m, "# TYPE nylon_endpoint_metric "), 1);
	cr_expect_eq(count(m, "# HELP nylon_endpoint_metric "), 1);
	cr_expect_eq(count(m, "# TYPE nylon_dataplane_drops_total "), 1);
	cr_expect_eq(count(m, "# TYPE nylon_router_messages_sent_total "), 1);
	/* Every TYPE line has its HELP line just before it. */
	cr_expect_eq(count(m, "# TYPE "), count(m, "# HELP "));
	free(m);
}

Test(obs_metrics, repeated_endpoint_text_is_one_series)
{
	char *m = render();

	cr_expect_eq(count(m, "nylon_endpoint_active{endpoint=\"198.18.0.2:57175\",peer=\"beta\"}"), 1);
	free(m);
}

Test(obs_metrics, ours_dataplane_router_and_drops)
{
	char *m = render();
	char line[256];

	expect_line(m, "nylon_node_info{backend=\"io_uring\",interface=\"nylon0\",node=\"alpha\"} 1");
	expect_line(m, "# TYPE nylon_dataplane_packets_total counter");
	expect_line(m, "nylon_dataplane_packets_total{direction=\"rx\",side=\"udp\"} 10");
	expect_line(m, "nylon_dataplane_packets_total{direction=\"tx\",side=\"udp\"} 11");
	expect_line(m, "nylon_dataplane_packets_total{direction=\"rx\",side=\"tun\"} 12");
	expect_line(m, "nylon_dataplane_packets_total{direction=\"tx\",side=\"tun\"} 13");
	expect_line(m, "nylon_dataplane_receive_bytes_total{side=\"udp\"} 1500");
	expect_line(m, "nylon_dataplane_receive_bytes_total{side=\"tun\"} 1600");
	expect_line(m, "nylon_dataplane_forwarded_packets_total 4");
	expect_line(m, "nylon_dataplane_ttl_expired_packets_total 1");
	expect_line(m, "nylon_dataplane_control_packets_total 7");
	expect_line(m, "nylon_dataplane_batches_total 5");
	expect_line(m, "nylon_dataplane_batch_packets_total 40");
	snprintf(line, sizeof(line), "nylon_dataplane_drops_total{reason=\"%s\"} 3", ny_dp_drop_name(NY_DP_DROP_NO_ROUTE));
	expect_line(m, line);
	for (int d = 0; d < NY_DP_DROP__COUNT; d++) {
		snprintf(line, sizeof(line), "\nnylon_dataplane_drops_total{reason=\"%s\"} ", ny_dp_drop_name(d));
		cr_expect_eq(count(m, line), 1, "drop reason %s listed once", ny_dp_drop_name(d));
	}
	snprintf(line, sizeof(line), "nylon_wireguard_drops_total{reason=\"%s\"} 2", ny_wg_drop_name(NY_WG_DROP_REPLAY));
	expect_line(m, line);
	cr_expect_eq(count(m, "reason=\"none\""), 0);
	expect_line(m, "nylon_router_messages_sent_total{type=\"update\"} 21");
	expect_line(m, "nylon_router_messages_received_total{type=\"update\"} 22");
	expect_line(m, "nylon_router_route_changes_total 6");
	expect_line(m, "nylon_router_seqno_requests_total{action=\"originated\"} 1");
	expect_line(m, "nylon_probe_tokens_total{event=\"matched\"} 9");
	free(m);
}
