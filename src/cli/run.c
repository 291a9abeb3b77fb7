/* `nylon run`: load the configuration, bring up the interface, start the data plane, and on SIGINT / SIGTERM
 * take down everything that was added (reference §1, §4.4, §5.6). */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "nylon/base.h"
#include "nylon/cli.h"
#include "nylon/conf.h"
#include "nylon/dataplane.h"
#include "nylon/dist.h"
#include "nylon/dns.h"
#include "nylon/hooks.h"
#include "nylon/ipc.h"
#include "nylon/obs.h"
#include "nylon/sys.h"
#include "nylon/trace.h"

#define NY_TUN_MTU 1420

struct run_opts {
	const char *central;
	const char *node;
	const char *log;
	int verbose;
	unsigned shards;
	const char *io;
	const char *aead;
	bool no_offload;
	bool json;
	bool trace_tc;
	bool uring_compat;
};

static void usage(FILE *f)
{
	fputs("Usage: nylon run [flags]\n\n"
	      "Runs the nylon daemon.\n\n"
	      "Flags:\n"
	      "  -c, --config <path>   central config (default ./central.yaml)\n"
	      "  -n, --node <path>     node config (default ./node.yaml)\n"
	      "  -l, --log <path>      also append logs to this file (overrides node.yaml log_path)\n"
	      "  -v, --verbose         debug logs\n"
	      "  -j, --json            logs on stderr as JSON lines (the --log file stays text)\n"
	      "      --shards <n>      data-plane threads (default: node.yaml `shards`, else one per CPU)\n"
	      "      --io <backend>    auto | io_uring | epoll (default: node.yaml `io_backend`, else auto)\n"
	      "      --aead <impl>     openssl | sodium (default: node.yaml `aead`, else openssl)\n"
	      "      --no-offload      read and write the TUN one packet at a time (no TSO/GRO)\n"
	      "      --dbg-trace-tc    trace every traffic-control decision for `nylon trace`\n"
	      "      --dbg-io-uring-compat  use io_uring as Linux 6.1 offers it (no DEFER_TASKRUN, one-shot TUN\n"
	      "                        reads), to test that path on a newer kernel\n"
	      "  -h, --help            this help\n",
	      f);
}

static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' }, { "node", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },      { "shards", required_argument, NULL, 's' },
		{ "io", required_argument, NULL, 'i' },     { "aead", required_argument, NULL, 'a' },
		{ "no-offload", no_argument, NULL, 'o' },   { "help", no_argument, NULL, 'h' },
		{ "log", required_argument, NULL, 'l' },     { "json", no_argument, NULL, 'j' },
		/* nylon's flags that this implementation does not have yet: refused by name, not as unknown. */
		{ "dbg-probe", no_argument, NULL, 'X' },
		{ "dbg-wg", no_argument, NULL, 'X' },       { "dbg-repo", no_argument, NULL, 'X' },
		{ "dbg-perf", no_argument, NULL, 'X' },     { "dbg-trace", no_argument, NULL, 'X' },
		{ "dbg-trace-tc", no_argument, NULL, 'T' },
		{ "dbg-io-uring-compat", no_argument, NULL, 'U' },
		{ 0 },
	};
	int c;

	*o = (struct run_opts){ .central = "./central.yaml", .node = "./node.yaml" };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:n:l:vhjpw", longs, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c': o->central = optarg; break;
		case 'n': o->node = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'l': o->log = optarg; break;
		case 'j': o->json = true; break;
		case 'T': o->trace_tc = true; break;
		case 'U': o->uring_compat = true; break;
		case 'X':
		case 'p':
		case 'w':
			fprintf(stderr, "Error: run: %s is not supported by this version of nylon yet\n", argv[optind - 1]);
			return 2;
		case 'i': o->io = optarg; break;
		case 'a': o->aead = optarg; break;
		case 'o': o->no_offload = true; break;
		case 's':
			o->shards = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || o->shards > 1024) {
				fprintf(stderr, "Error: run: --shards: expected a number from 0 to 1024, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "Error: run: unknown flag \"%s\"\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Error: run: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Flags override node.yaml, which overrides the defaults. */
static int make_dp_config(const struct run_opts *o, const struct ny_conf_node *n, struct ny_dp_config *cfg)
{
	*cfg = (struct ny_dp_config){ .ifname = n->interface_name, .port = n->port, .shards = n->shards,
				      .aead = NY_AEAD_DEFAULT, .vnet = !o->no_offload,
				      .use_system_routing = n->use_system_routing, .validate_source = n->validate_source,
				      .configure_routes = !n->no_net_configure, .uring_compat = o->uring_compat };
	cfg->backend = n->io_backend == NY_CONF_IO_URING ? NY_IO_URING :
		       n->io_backend == NY_CONF_IO_EPOLL ? NY_IO_EPOLL : NY_IO_AUTO;
	if (n->aead == NY_CONF_AEAD_SODIUM)
		cfg->aead = NY_AEAD_SODIUM;
	if (o->shards)
		cfg->shards = o->shards;
	if (o->io && ny_io_backend_parse(o->io, &cfg->backend) < 0) {
		fprintf(stderr, "Error: run: --io: expected auto, io_uring or epoll, got \"%s\"\n", o->io);
		return -EINVAL;
	}
	if (o->aead && ny_aead_provider_parse(o->aead, &cfg->aead) < 0) {
		fprintf(stderr, "Error: run: --aead: expected openssl or sodium, got \"%s\"\n", o->aead);
		return -EINVAL;
	}
	return 0;
}

static int load_config(const struct run_opts *o, struct ny_conf_central **central, struct ny_conf_node **node)
{
	struct ny_conf_report r;
	int ret;

	ny_conf_report_init(&r);
	ret = ny_conf_central_load(central, o->central, &r);
	if (ret == 0)
		ret = ny_conf_node_load(node, o->node, *central, &r);
	ny_cli_print_report(&r);
	ny_conf_report_free(&r);
	return ret;
}

/* The node's own addresses on the interface, MTU and link up; the routing thread installs the routes once this is
 * done (reference §4.4). */
static int configure_os(struct ny_sys *sys, const char *ifname, const struct ny_conf_peer *self,
			unsigned *ifindex, char *err, size_t err_len)
{
	int ret;

	if ((ret = ny_sys_link_index(sys, ifname, ifindex)) < 0 ||
	    (ret = ny_sys_link_set_mtu(sys, *ifindex, NY_TUN_MTU)) < 0) {
		snprintf(err, err_len, "interface %s: %s", ifname, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < self->n_addresses; i++) {
		if ((ret = ny_sys_addr_add(sys, *ifindex, &self->addresses[i])) < 0) {
			snprintf(err, err_len, "adding an address to %s: %s", ifname, strerror(-ret));
			return ret;
		}
	}
	if ((ret = ny_sys_link_set_up(sys, *ifindex)) < 0)
		snprintf(err, err_len, "bringing %s up: %s", ifname, strerror(-ret));
	return ret;
}

static void log_stats(struct ny_dp_node *dp)
{
	struct ny_dp_stats st;
	struct ny_io_stats io;

	ny_dp_node_stats(dp, &st);
	ny_dp_node_io_stats(dp, &io);
	ny_log_info("run", "io: waits=%llu udp_rx_dgrams=%llu tun_rx_pkts=%llu udp_tx_calls=%llu tun_tx_pkts=%llu "
		    "udp_tx_errors=%llu tun_tx_errors=%llu udp_rx_errors=%llu", (unsigned long long)io.waits,
		    (unsigned long long)io.udp_rx_dgrams, (unsigned long long)io.tun_rx_pkts,
		    (unsigned long long)io.udp_tx_calls, (unsigned long long)io.tun_tx_pkts,
		    (unsigned long long)io.udp_tx_errors, (unsigned long long)io.tun_tx_errors,
		    (unsigned long long)io.udp_rx_errors);
	ny_log_info("run", "stats: rx_udp=%llu tx_udp=%llu rx_tun=%llu tx_tun=%llu fwd=%llu ttl_expired=%llu control=%llu",
		    (unsigned long long)st.rx_udp_pkts, (unsigned long long)st.tx_udp_pkts,
		    (unsigned long long)st.rx_tun_pkts, (unsigned long long)st.tx_tun_pkts,
		    (unsigned long long)st.fwd_pkts, (unsigned long long)st.ttl_expired,
		    (unsigned long long)st.control_pkts);
	for (int d = 0; d < NY_DP_DROP__COUNT; d++)
		if (st.drops[d])
			ny_log_info("run", "drops: %s=%llu", ny_dp_drop_name(d), (unsigned long long)st.drops[d]);
	for (int d = 1; d < NY_WG_DROP__COUNT; d++)
		if (dp->dev.stats.drops[d])
			ny_log_info("run", "wireguard drops: %s=%llu", ny_wg_drop_name(d),
				    (unsigned long long)dp->dev.stats.drops[d]);
}

static void obs_follow_config(void *obs, const struct ny_conf_central *central)
{
	ny_obs_server_set_central(obs, central);
}

/* Waits for SIGINT or SIGTERM; SIGHUP reloads the central config meanwhile (reference §5.1). */
static int wait_for_signal(struct ny_run_reload *rl)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	for (;;) {
		char msg[256];

		sigwait(&set, &sig);
		if (sig != SIGHUP)
			return sig;
		ny_log_info("run", "received SIGHUP, reloading %s", rl->central_path);
		ny_run_reload_apply(rl, msg, sizeof(msg));
	}
}

static int run(const struct run_opts *o)
{
	struct ny_conf_central *central = NULL;
	struct ny_conf_node *node = NULL;
	struct ny_dp_node dp;
	struct ny_dp_config cfg;
	struct ny_sys *sys = NULL;
	struct ny_obs_server *obs = NULL;
	struct ny_ipc_server *ipc = NULL;
	struct ny_dist_poller *dist = NULL;
	struct ny_run_reload rl = { 0 };
	struct ny_trace_ring *trace = NULL;
	bool dp_ready = false, rl_ready = false;
	bool hooks_up = false; /* pre_up ran: the down hooks run at exit */
	char err[256] = "";
	sigset_t set;
	int ret;

	/* A missing central file comes from node.yaml's dist (reference §5.1). */
	if (ny_dist_bootstrap(o->central, o->node, err, sizeof(err)) < 0)
		goto fail;
	if (load_config(o, &central, &node) < 0)
		return 1;
	if ((o->log || node->log_path) && (ret = ny_log_open_file(o->log ? o->log : node->log_path)) < 0) {
		snprintf(err, sizeof(err), "log file %s: %s", o->log ? o->log : node->log_path, strerror(-ret));
		goto fail;
	}
	if (make_dp_config(o, node, &cfg) < 0)
		goto fail;
	/* Health checks and bundle fetches look names up with them too (reference §2.1); endpoints use the routing
	 * thread's own resolver. */
	if ((ret = ny_dns_set_default_servers(node->dns_resolvers, node->n_dns_resolvers)) < 0) {
		snprintf(err, sizeof(err), "dns_resolvers: %s", strerror(-ret));
		goto fail;
	}
	if (if_nametoindex(cfg.ifname)) {
		snprintf(err, sizeof(err), "interface %s already exists (is another nylon running?)", cfg.ifname);
		goto fail;
	}
	/* Every thread inherits this mask: only the main thread's sigwait sees SIGINT, SIGTERM and SIGHUP. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((ret = ny_dp_node_init(&dp, &cfg, central, node, err, sizeof(err))) < 0)
		goto fail_dp;
	dp_ready = true;
	if (o->trace_tc && !(dp.trace = trace = ny_trace_ring_new(NY_TRACE_RING_LINES))) {
		snprintf(err, sizeof(err), "--dbg-trace-tc: %s", strerror(ENOMEM));
		goto fail_dp;
	}
	if ((ret = ny_dp_node_start(&dp, err, sizeof(err))) < 0)
		goto fail_dp;
	/* From here on the reload state owns the applied central config (a reload replaces it). */
	if ((ret = ny_run_reload_init(&rl, o->central, central, node, &dp)) < 0) {
		snprintf(err, sizeof(err), "%s: %s", o->central, strerror(-ret));
		goto fail_dp;
	}
	rl_ready = true;
	central = NULL;
	ny_log_info("run", "node %s: interface %s, port %u, %u shards, io %s, aead %s, tun offload %s, udp gso %s, "
		    "udp gro %s", node->id, cfg.ifname, cfg.port, dp.n_shards, ny_dp_node_io_detail(&dp),
		    ny_aead_provider_name(cfg.aead), dp.features.tun_vnet ? "on" : "off",
		    dp.features.udp_gso ? "on" : "off", dp.features.udp_gro ? "on" : "off");
	hooks_up = true;
	ny_hooks_run(node, NY_HOOK_PRE_UP); /* device up with peers; no address, link down (reference §5.5) */
	if (!node->no_net_configure) {
		const struct ny_conf_peer *self =
			ny_conf_central_peer(rl.central, (size_t)ny_conf_central_find(rl.central, node->id));

		if ((ret = ny_sys_open(&sys)) < 0) {
			snprintf(err, sizeof(err), "netlink: %s", strerror(-ret));
			goto fail_dp;
		}
		unsigned ifindex;

		if ((ret = configure_os(sys, cfg.ifname, self, &ifindex, err, sizeof(err))) < 0)
			goto fail_dp;
		ny_dp_routing_enable_routes(&dp, ifindex);
		ny_run_reload_set_os(&rl, sys, ifindex);
	}
	ny_hooks_run(node, NY_HOOK_POST_UP);
	/* Observability (reference §5.3) once the node is up; a listen error is fatal, as nylon's. Before the IPC
	 * socket, so that /discovery follows every reload from the first. */
	if (node->observability_addr) {
		if (ny_obs_server_start(&obs, node->observability_addr, rl.central, ny_obs_node_source(&dp), err,
					sizeof(err)) < 0)
			goto fail_dp;
		rl.applied = obs_follow_config;
		rl.applied_ctx = obs;
	}
	/* The UAPI/IPC socket, once the node answers (reference §5.4). */
	if ((ret = ny_ipc_server_start(&ipc, NULL, cfg.ifname,
				       &(struct ny_ipc_ops){ .node = &dp, .trace_enabled = trace != NULL,
							     .reload = ny_run_reload_ipc, .reload_ctx = &rl },
				       err, sizeof(err))) < 0)
		goto fail_dp;
	/* Bundle repos of the applied config, polled on their own thread (reference §5.1). */
	if ((ret = ny_dist_poller_new(&dist, &(struct ny_dist_poller_ops){ .current = ny_run_reload_dist_current,
									    .apply = ny_run_reload_dist_apply,
									    .ctx = &rl })) < 0 ||
	    (ret = ny_dist_poller_start(dist, 0)) < 0) {
		snprintf(err, sizeof(err), "starting the bundle poller: %s", strerror(-ret));
		goto fail_dp;
	}
	printf("Nylon has been initialized. To gracefully exit, send SIGINT or Ctrl+C.\n");
	fflush(stdout);
	ret = wait_for_signal(&rl);
	ny_log_info("run", "received %s, shutting down", ret == SIGINT ? "SIGINT" : "SIGTERM");
	ny_dist_poller_free(dist); /* first: no update may be applied to a node being taken down */
	dist = NULL;
	ny_obs_server_stop(obs); /* no scrape may read a node being taken down */
	obs = NULL;
	ny_ipc_server_stop(ipc);
	ipc = NULL;
	ny_dp_node_stop(&dp);
	log_stats(&dp);
	ret = 0;
	goto out;
fail_dp:
	ret = 1;
	fprintf(stderr, "Error: run: %s\n", err);
out:
	ny_dist_poller_free(dist);
	ny_obs_server_stop(obs);
	ny_ipc_server_stop(ipc);
	if (rl_ready)
		ny_run_reload_set_os(&rl, NULL, 0); /* no reload touches the OS after this */
	if (dp_ready)
		ny_dp_node_stop(&dp); /* the routing thread removes its routes (already stopped on a clean shutdown) */
	if (sys) {
		ny_sys_undo_all(sys);
		ny_sys_close(sys);
	}
	if (hooks_up)
		ny_hooks_run(node, NY_HOOK_PRE_DOWN); /* routes and addresses gone, device still there (§5.5) */
	if (dp_ready)
		ny_dp_node_destroy(&dp); /* closing the last TUN queue removes the interface */
	ny_trace_ring_free(trace); /* every shard and IPC reader is gone */
	if (hooks_up)
		ny_hooks_run(node, NY_HOOK_POST_DOWN);
	if (rl_ready) {
		ny_conf_central_free(rl.central);
		ny_run_reload_free(&rl);
	}
	ny_conf_node_free(node);
	ny_conf_central_free(central);
	ny_dns_set_default_servers(NULL, 0);
	ny_log_close_file();
	return ret;
fail:
	if (*err)
		fprintf(stderr, "Error: run: %s\n", err);
	ny_conf_node_free(node);
	ny_conf_central_free(central);
	return 1;
}

int ny_cli_run(int argc, char **argv)
{
	struct run_opts o;
	int ret = parse_opts(argc, argv, &o);

	if (ret >= 0)
		return ret;
	if (o.verbose)
		ny_log_set_level(NY_LOG_DEBUG);
	if (o.json)
		ny_log_set_format(NY_LOG_FORMAT_JSON);
	if (ny_crypto_init() < 0) {
		fputs("Error: run: libsodium failed to initialise\n", stderr);
		return 1;
	}
	return run(&o);
}
