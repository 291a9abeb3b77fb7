/* ny-wg_interop_peer: drives the nylon WireGuard engine over a plain UDP socket against a real WireGuard peer and
 * pings the peer's tunnel address through it (test/netns/wg_interop.sh).
 *
 * There is no TUN device: the program builds the ICMP echo requests itself, encrypts them with the engine, and
 * checks the echo replies the peer's kernel sends back, so a passing run proves handshake, key derivation, data
 * encryption and decryption against an independent implementation. In responder mode it never sends an
 * initiation, so the session it reaches can only come from the peer's handshake.
 *
 * Exit status: 0 after --count valid replies (and --answer echo requests of the peer answered), 1 on timeout (the message says which stage was reached), 2 on bad
 * usage or set-up errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nylon/aead.h"
#include "nylon/byteorder.h"
#include "nylon/crypto.h"
#include "nylon/wg.h"
#include "nylon/wg_messages.h"

#define PROG "wg_interop_peer"

#define IPV4_HEADER_LEN 20
#define ICMP_HEADER_LEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define IPPROTO_ICMP_NUM 1
#define PING_PAYLOAD_LEN 56 /* what ping(8) sends by default */
#define PING_RETRY_NS (NY_WG_NSEC) /* an echo request without a reply is replaced by a new one after this */
#define MAX_IP_PACKET 1420         /* the default WireGuard MTU */
#define DATA_BUF_LEN (NY_WG_DATA_HEADER_LEN + MAX_IP_PACKET + NY_WG_PADDING + NY_AEAD_TAG_LEN)
#define MAX_LOGGED_DROPS 20 /* enough to diagnose, bounded so a broken peer cannot flood the test log */
#define MAX_POLL_MS 1000

enum mode {
	MODE_INITIATOR,
	MODE_RESPONDER,
};

/* How far the run got; the timeout message names the stage so a failing test says what broke. */
enum stage {
	STAGE_NOTHING,   /* no handshake message of the peer accepted */
	STAGE_HANDSHAKE, /* handshake accepted, no keypair to send with yet */
	STAGE_SESSION,   /* keypair usable, echo requests sent, no valid reply */
	STAGE_REPLIES,   /* at least one valid reply */
	STAGE_ALL_REPLIES, /* --count replies, waiting for the peer's echo requests (--answer) */
};

struct options {
	const char *key_file; /* NULL: read the private key from stdin */
	uint8_t peer_public[NY_KEY_LEN];
	bool have_peer_public;
	uint16_t listen_port;
	struct sockaddr_in endpoint;
	bool have_endpoint;
	enum mode mode;
	struct in_addr our_ip;
	struct in_addr peer_ip;
	unsigned count;
	unsigned answer; /* echo requests of the peer to answer before exiting */
	unsigned timeout_s;
	enum ny_aead_provider aead;
};

struct interop {
	struct options opt;
	struct ny_wg_device dev;
	bool dev_ready;
	struct ny_wg_peer *peer;
	struct ny_aead_ctx *aead;
	int fd;
	struct sockaddr_in endpoint; /* where the peer is: --peer-endpoint, then the source of its authenticated
				      * messages (WireGuard's roaming, whitepaper §2.1) */
	bool have_endpoint;
	uint32_t pending_actions; /* asked for while handling something else; handled at the next loop turn */
	enum stage stage;
	bool told_no_initiation;
	uint16_t ping_id;
	uint16_t ping_seq; /* of the outstanding echo request */
	bool ping_outstanding;
	uint64_t ping_sent_at;
	unsigned requests_sent;
	unsigned replies;
	unsigned requests_answered;
	unsigned drops_logged;
	uint64_t start;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NY_WG_NSEC + (uint64_t)ts.tv_nsec;
}

static double elapsed_ms(const struct interop *io, uint64_t now)
{
	return (double)(now - io->start) / 1e6;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ny-" PROG " --peer-public-key KEY --listen-port PORT [--peer-endpoint IP:PORT]\n"
		"       [--private-key-file FILE] [--mode initiator|responder] [--our-ip IP] [--peer-ip IP]\n"
		"       [--count N] [--answer N] [--timeout SECONDS] [--aead openssl|sodium]\n"
		"The private key is read from stdin without --private-key-file. Keys are base64 as wg(8) prints them.\n"
		"--answer N also waits until N echo requests of the peer to --our-ip were answered.\n"
		"Defaults: --mode initiator --our-ip 198.19.0.1 --peer-ip 198.19.0.2 --count 3 --answer 0 --timeout 10\n"
		"--aead %s (the transport AEAD provider; the peer checks each one's output).\n",
		ny_aead_provider_name(NY_AEAD_DEFAULT));
}

/* Trims ASCII whitespace in place so a key file written by `wg genkey > f` (trailing newline) decodes. */
static int parse_key(uint8_t key[NY_KEY_LEN], char *text)
{
	size_t len;

	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
			   text[len - 1] == '\r'))
		len--;
	return ny_key_from_base64(key, text, len);
}

static int read_private_key(const char *path, uint8_t key[NY_KEY_LEN])
{
	char text[128];
	FILE *f = path ? fopen(path, "r") : stdin;
	size_t n;
	int err;

	if (!f) {
		err = -errno;
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return err;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	if (path)
		fclose(f);
	text[n] = '\0';
	err = parse_key(key, text);
	ny_crypto_wipe(text, sizeof(text));
	if (err)
		fprintf(stderr, PROG ": %s: expected a base64 private key of 44 characters\n",
			path ? path : "stdin");
	return err;
}

static int parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* IPv4 only: the scenarios' underlay is 198.18.0.0/15. */
static int parse_endpoint(const char *text, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(text, ':');
	unsigned long port;

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (parse_uint(colon + 1, 65535, &port) || port == 0)
		return -EINVAL;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{"private-key-file", required_argument, NULL, 'k'},
		{"peer-public-key", required_argument, NULL, 'p'},
		{"listen-port", required_argument, NULL, 'l'},
		{"peer-endpoint", required_argument, NULL, 'e'},
		{"mode", required_argument, NULL, 'm'},
		{"our-ip", required_argument, NULL, 'o'},
		{"peer-ip", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'c'},
		{"answer", required_argument, NULL, 'a'},
		{"timeout", required_argument, NULL, 't'},
		{"aead", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->mode = MODE_INITIATOR;
	opt->count = 3;
	opt->timeout_s = 10;
	opt->aead = NY_AEAD_DEFAULT;
	inet_pton(AF_INET, "198.19.0.1", &opt->our_ip);
	inet_pton(AF_INET, "198.19.0.2", &opt->peer_ip);

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			opt->key_file = optarg;
			break;
		case 'p':
			if (parse_key(opt->peer_public, optarg)) {
				fprintf(stderr, PROG ": --peer-public-key: expected 44 characters of base64\n");
				return -EINVAL;
			}
			opt->have_peer_public = true;
			break;
		case 'l':
			if (parse_uint(optarg, 65535, &v)) {
				fprintf(stderr, PROG ": --listen-port: expected 0..65535, got '%s'\n", optarg);
				return -EINVAL;
			}
			opt->listen_port = (uint16_t)v;
			break;
		case 'e':
			if (parse_endpoint(optarg, &opt->endpoint)) {
				fprintf(stderr, PROG ": --peer-endpoint: expected IPV4:PORT, got '%s'\n", optarg);
				return -EINVAL;
			}
			opt->have_endpoint = true;
			break;
		case 'm':
			if (strcmp(optarg, "initiator") == 0) {
				opt->mode = MODE_INITIATOR;
			} else if (strcmp(optarg, "responder") == 0) {
				opt->mode = MODE_RESPONDER;
			} else {
				fprintf(stderr, PROG ": --mode: expected initiator or responder, got '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'o':
		case 'i':
			if (inet_pton(AF_INET, optarg, c == 'o' ? &opt->our_ip : &opt->peer_ip) != 1) {
				fprintf(stderr, PROG ": --%s: expected an IPv4 address, got '%s'\n",
					c == 'o' ? "our-ip" : "peer-ip", optarg);
				return -EINVAL;
			}
			break;
		case 'c':
			if (parse_uint(optarg, 65535, &v) || v == 0) {
				fprintf(stderr, PROG ": --count: expected 1..65535, got '%s'\n", optarg);
				return -EINVAL;
			}
			opt->count = (unsigned)v;
			break;
		case 'a':
			if (parse_uint(optarg, 65535, &v)) {
				fprintf(stderr, PROG ": --answer: expected 0..65535, got '%s'\n", optarg);
				return -EINVAL;
			}
			opt->answer = (unsigned)v;
			break;
		case 't':
			if (parse_uint(optarg, 3600, &v) || v == 0) {
				fprintf(stderr, PROG ": --timeout: expected 1..3600 seconds, got '%s'\n", optarg);
				return -EINVAL;
			}
			opt->timeout_s = (unsigned)v;
			break;
		case 'A':
			if (ny_aead_provider_parse(optarg, &opt->aead)) {
				fprintf(stderr, PROG ": --aead: expected openssl or sodium, got '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!opt->have_peer_public) {
		fprintf(stderr, PROG ": --peer-public-key is required\n");
		return -EINVAL;
	}
	if (opt->mode == MODE_INITIATOR && !opt->have_endpoint) {
		fprintf(stderr, PROG ": --mode initiator needs --peer-endpoint\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- IPv4 / ICMP ------------------------------------------------------------------------------------------ */

/* The Internet checksum (RFC 1071) of buf. */
static uint16_t inet_checksum(const uint8_t *buf, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Writes an IPv4 header for an ICMP packet of total_len bytes; src and dst are in network order. */
static void build_ipv4_header(uint8_t *ip, size_t total_len, struct in_addr src, struct in_addr dst, uint16_t ip_id)
{
	memset(ip, 0, IPV4_HEADER_LEN);
	ip[0] = 0x45; /* version 4, 5 words of header */
	put_be16(ip + 2, (uint16_t)total_len);
	put_be16(ip + 4, ip_id);
	put_be16(ip + 6, 0x4000); /* don't fragment, as ping does */
	ip[8] = 64;               /* TTL */
	ip[9] = IPPROTO_ICMP_NUM;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put_be16(ip + 10, inet_checksum(ip, IPV4_HEADER_LEN));
}

/* The echo payload is a function of the sequence number, so a reply is checked byte for byte without keeping
 * copies of what was sent. */
static void fill_ping_payload(uint8_t *p, uint16_t seq)
{
	static const char tag[] = "nylon wg interop";
	size_t i;

	memcpy(p, tag, sizeof(tag) - 1);
	for (i = sizeof(tag) - 1; i < PING_PAYLOAD_LEN; i++)
		p[i] = (uint8_t)(seq * 7 + i);
}

/* Returns the packet length. */
static size_t build_echo_request(uint8_t *pkt, const struct options *opt, uint16_t id, uint16_t seq)
{
	uint8_t *icmp = pkt + IPV4_HEADER_LEN;
	size_t icmp_len = ICMP_HEADER_LEN + PING_PAYLOAD_LEN;

	build_ipv4_header(pkt, IPV4_HEADER_LEN + icmp_len, opt->our_ip, opt->peer_ip, seq);
	icmp[0] = ICMP_ECHO_REQUEST;
	icmp[1] = 0;
	put_be16(icmp + 2, 0);
	put_be16(icmp + 4, id);
	put_be16(icmp + 6, seq);
	fill_ping_payload(icmp + ICMP_HEADER_LEN, seq);
	put_be16(icmp + 2, inet_checksum(icmp, icmp_len));
	return IPV4_HEADER_LEN + icmp_len;
}

/* A parsed, checksum-verified IPv4 ICMP packet. */
struct icmp_view {
	struct in_addr src;
	struct in_addr dst;
	const uint8_t *icmp;
	size_t icmp_len;
};

/* Returns 0, or -EPROTO with *why set when the packet is not a well-formed IPv4 ICMP packet. */
static int parse_icmp(const uint8_t *pkt, size_t len, struct icmp_view *v, const char **why)
{
	size_t ihl, total;

	if (len < IPV4_HEADER_LEN || pkt[0] >> 4 != 4) {
		*why = "not IPv4";
		return -EPROTO;
	}
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	total = get_be16(pkt + 2);
	/* The plaintext is padded to 16 bytes (whitepaper §5.4.6): the IPv4 total length says where it ends. */
	if (ihl < IPV4_HEADER_LEN || total < ihl || total > len) {
		*why = "bad IPv4 lengths";
		return -EPROTO;
	}
	if (inet_checksum(pkt, ihl) != 0) {
		*why = "bad IPv4 header checksum";
		return -EPROTO;
	}
	if (pkt[9] != IPPROTO_ICMP_NUM) {
		*why = "not ICMP";
		return -EPROTO;
	}
	if (total - ihl < ICMP_HEADER_LEN) {
		*why = "short ICMP";
		return -EPROTO;
	}
	if (inet_checksum(pkt + ihl, total - ihl) != 0) {
		*why = "bad ICMP checksum";
		return -EPROTO;
	}
	memcpy(&v->src, pkt + 12, 4);
	memcpy(&v->dst, pkt + 16, 4);
	v->icmp = pkt + ihl;
	v->icmp_len = total - ihl;
	return 0;
}

/* ---- sending ---------------------------------------------------------------------------------------------- */

static int send_to(struct interop *io, const void *buf, size_t len, const struct sockaddr_in *dst)
{
	if (sendto(io->fd, buf, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		int err = -errno;

		fprintf(stderr, PROG ": sendto: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

static int send_datagram(struct interop *io, const void *buf, size_t len)
{
	if (!io->have_endpoint)
		return -EDESTADDRREQ;
	return send_to(io, buf, len, &io->endpoint);
}

/* Encrypts one IP packet (len 0: a keepalive) to the peer and sends it. Returns 0, -ENOKEY when there is no
 * session yet, or another negative errno. */
static int send_data(struct interop *io, const uint8_t *ip, size_t len, uint64_t now)
{
	uint8_t buf[DATA_BUF_LEN];
	struct ny_wg_packet pkt;
	uint32_t actions = 0;
	int n;

	if (len > MAX_IP_PACKET)
		return -EMSGSIZE;
	if (!io->have_endpoint)
		return -EDESTADDRREQ;
	/* Zeroed so that the padding the engine adds after the payload is zero whatever it does with it. */
	memset(buf, 0, sizeof(buf));
	if (len)
		memcpy(buf + NY_WG_DATA_HEADER_LEN, ip, len);
	pkt = (struct ny_wg_packet){.buf = buf, .len = (uint32_t)len, .cap = sizeof(buf)};
	n = ny_wg_transport_encrypt_batch(io->peer, io->aead, &pkt, 1, now, &actions);
	io->pending_actions |= actions;
	if (n < 0)
		return n;
	if (n != 1)
		return -EIO;
	return send_datagram(io, buf, pkt.len);
}

/* Only the initiator role may start a handshake: in responder mode the session must come from the peer. */
static void send_initiation(struct interop *io, uint64_t now)
{
	struct ny_wg_msg_initiation msg;
	int err;

	if (io->opt.mode == MODE_RESPONDER) {
		if (!io->told_no_initiation)
			printf("%8.1f ms: engine asked for an initiation; responder mode does not send one\n",
			       elapsed_ms(io, now));
		io->told_no_initiation = true;
		return;
	}
	if (!io->have_endpoint || !ny_wg_timers_may_initiate(io->peer, now))
		return;
	err = ny_wg_handshake_create_initiation(io->peer, now, &msg);
	if (err) {
		fprintf(stderr, PROG ": creating an initiation failed: %s\n", strerror(-err));
		return;
	}
	if (send_datagram(io, &msg, sizeof(msg)) == 0)
		printf("%8.1f ms: sent handshake initiation (sender index %08" PRIx32 ")\n", elapsed_ms(io, now),
		       ny_le32_to_cpu(msg.sender_index));
}

static void handle_actions(struct interop *io, uint32_t actions, uint64_t now)
{
	if (actions & NY_WG_ACTION_SEND_INITIATION)
		send_initiation(io, now);
	if (actions & NY_WG_ACTION_SEND_KEEPALIVE) {
		int err = send_data(io, NULL, 0, now);

		if (err && err != -ENOKEY)
			fprintf(stderr, PROG ": keepalive not sent: %s\n", strerror(-err));
	}
	if (actions & NY_WG_ACTION_GAVE_UP)
		printf("%8.1f ms: engine gave up on the handshake (REKEY_ATTEMPT_TIME)\n", elapsed_ms(io, now));
	/* NY_WG_ACTION_SEND_STAGED needs nothing here: the main loop sends the echo request once a keypair exists. */
}

/* Sends the next echo request when none is outstanding or the outstanding one is presumed lost. */
static void maybe_send_ping(struct interop *io, uint64_t now)
{
	uint8_t pkt[IPV4_HEADER_LEN + ICMP_HEADER_LEN + PING_PAYLOAD_LEN];
	size_t len;
	int err;

	if (io->replies >= io->opt.count || (io->ping_outstanding && now - io->ping_sent_at < PING_RETRY_NS))
		return;
	if (!ny_wg_keypair_for_sending(io->peer, now))
		return;
	if (io->stage < STAGE_SESSION)
		io->stage = STAGE_SESSION;
	if (io->ping_outstanding)
		printf("%8.1f ms: no reply to seq %u, sending the next request\n", elapsed_ms(io, now),
		       io->ping_seq);
	len = build_echo_request(pkt, &io->opt, io->ping_id, (uint16_t)(io->ping_seq + 1));
	err = send_data(io, pkt, len, now);
	if (err) {
		if (err != -ENOKEY)
			fprintf(stderr, PROG ": echo request not sent: %s\n", strerror(-err));
		return;
	}
	io->ping_seq++;
	io->ping_outstanding = true;
	io->ping_sent_at = now;
	io->requests_sent++;
}

/* ---- receiving -------------------------------------------------------------------------------------------- */

static void log_drop(struct interop *io, uint64_t now, const char *what, enum ny_wg_drop drop)
{
	if (io->drops_logged >= MAX_LOGGED_DROPS)
		return;
	io->drops_logged++;
	printf("%8.1f ms: dropped %s: %s\n", elapsed_ms(io, now), what, ny_wg_drop_name(drop));
}

static void handle_echo_reply(struct interop *io, const struct icmp_view *v, uint64_t now)
{
	uint8_t expect[PING_PAYLOAD_LEN];
	uint16_t id = get_be16(v->icmp + 4), seq = get_be16(v->icmp + 6);
	char src[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &v->src, src, sizeof(src));
	if (v->src.s_addr != io->opt.peer_ip.s_addr || v->dst.s_addr != io->opt.our_ip.s_addr) {
		printf("%8.1f ms: echo reply from unexpected %s ignored\n", elapsed_ms(io, now), src);
		return;
	}
	if (id != io->ping_id || !io->ping_outstanding || seq != io->ping_seq) {
		printf("%8.1f ms: echo reply id %u seq %u does not answer the outstanding request (id %u seq %u)\n",
		       elapsed_ms(io, now), id, seq, io->ping_id, io->ping_seq);
		return;
	}
	fill_ping_payload(expect, seq);
	if (v->icmp_len != ICMP_HEADER_LEN + PING_PAYLOAD_LEN ||
	    memcmp(v->icmp + ICMP_HEADER_LEN, expect, PING_PAYLOAD_LEN) != 0) {
		printf("%8.1f ms: echo reply seq %u has a different payload (%zu bytes)\n", elapsed_ms(io, now), seq,
		       v->icmp_len - ICMP_HEADER_LEN);
		return;
	}
	io->ping_outstanding = false;
	io->replies++;
	io->stage = io->replies >= io->opt.count ? STAGE_ALL_REPLIES : STAGE_REPLIES;
	printf("%8.1f ms: reply %u/%u: %zu bytes from %s: icmp_seq=%u time=%.3f ms\n", elapsed_ms(io, now),
	       io->replies, io->opt.count, v->icmp_len, src, seq, (double)(now - io->ping_sent_at) / 1e6);
}

/* Answers an echo request from the peer's side (its ping to our tunnel address). */
static void answer_echo_request(struct interop *io, const struct icmp_view *v, uint64_t now)
{
	uint8_t pkt[MAX_IP_PACKET];
	uint8_t *icmp = pkt + IPV4_HEADER_LEN;
	size_t total = IPV4_HEADER_LEN + v->icmp_len;

	if (v->dst.s_addr != io->opt.our_ip.s_addr || total > sizeof(pkt))
		return;
	build_ipv4_header(pkt, total, io->opt.our_ip, v->src, (uint16_t)io->requests_answered);
	memcpy(icmp, v->icmp, v->icmp_len);
	icmp[0] = ICMP_ECHO_REPLY;
	put_be16(icmp + 2, 0);
	put_be16(icmp + 2, inet_checksum(icmp, v->icmp_len));
	if (send_data(io, pkt, total, now) == 0) {
		io->requests_answered++;
		printf("%8.1f ms: answered echo request %u of the peer: icmp_seq=%u\n", elapsed_ms(io, now),
		       io->requests_answered, get_be16(v->icmp + 6));
	}
}

static void handle_plaintext(struct interop *io, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct icmp_view v;
	const char *why;

	if (len == 0)
		return; /* keepalive */
	if (parse_icmp(pkt, len, &v, &why)) {
		printf("%8.1f ms: ignored a %zu-byte tunnel packet: %s\n", elapsed_ms(io, now), len, why);
		return;
	}
	if (v.icmp[0] == ICMP_ECHO_REPLY && v.icmp[1] == 0)
		handle_echo_reply(io, &v, now);
	else if (v.icmp[0] == ICMP_ECHO_REQUEST && v.icmp[1] == 0)
		answer_echo_request(io, &v, now);
}

static void learn_endpoint(struct interop *io, const struct sockaddr_in *src)
{
	io->endpoint = *src;
	io->have_endpoint = true;
}

/* The address form the cookie is bound to: address and port, as the kernel module does. */
static size_t cookie_source(const struct sockaddr_in *src, uint8_t out[6])
{
	memcpy(out, &src->sin_addr, 4);
	memcpy(out + 4, &src->sin_port, 2);
	return 6;
}

static void receive_handshake(struct interop *io, const uint8_t *buf, size_t len, const struct sockaddr_in *src,
			      uint64_t now)
{
	static const char *const names[] = {"?", "initiation", "response", "cookie reply", "data"};
	struct ny_wg_rx rx;
	uint8_t src_bytes[6];
	size_t src_len = cookie_source(src, src_bytes);

	memset(&rx, 0, sizeof(rx));
	ny_wg_device_receive_handshake(&io->dev, buf, len, src_bytes, src_len, false, now, &rx);
	if (rx.drop != NY_WG_DROP_NONE) {
		log_drop(io, now, names[buf[0]], rx.drop);
		if (rx.reply_len > 0) /* a cookie reply under load goes to whoever sent the message */
			send_to(io, rx.reply, rx.reply_len, src);
		return;
	}
	printf("%8.1f ms: accepted handshake %s\n", elapsed_ms(io, now), names[buf[0]]);
	if (rx.peer == io->peer)
		learn_endpoint(io, src);
	if (rx.reply_len > 0 && send_to(io, rx.reply, rx.reply_len, src) == 0)
		printf("%8.1f ms: sent handshake %s (%zu bytes)\n", elapsed_ms(io, now),
		       rx.reply[0] < 4 ? names[rx.reply[0]] : "?", rx.reply_len);
	if (io->stage < STAGE_HANDSHAKE && (rx.type == NY_WG_MSG_INITIATION || rx.type == NY_WG_MSG_RESPONSE))
		io->stage = STAGE_HANDSHAKE;
	io->pending_actions |= rx.actions;
}

static void receive_data(struct interop *io, uint8_t *buf, size_t len, size_t cap, const struct sockaddr_in *src,
			 uint64_t now)
{
	struct ny_wg_keypair *kp = ny_wg_transport_lookup(&io->dev, buf, len);
	struct ny_wg_packet pkt = {.buf = buf, .len = (uint32_t)len, .cap = (uint32_t)cap};
	uint32_t actions = 0;

	if (!kp) {
		log_drop(io, now, "data", NY_WG_DROP_UNKNOWN_INDEX);
		return;
	}
	if (ny_wg_transport_decrypt_batch(&io->dev, kp, io->aead, &pkt, 1, now, &actions) != 1) {
		log_drop(io, now, "data", pkt.drop);
		io->pending_actions |= actions;
		return;
	}
	if (ny_wg_keypair_peer(kp) == io->peer)
		learn_endpoint(io, src);
	io->pending_actions |= actions;
	handle_plaintext(io, buf + NY_WG_DATA_HEADER_LEN, pkt.len, now);
}

static void receive_one(struct interop *io, uint64_t now)
{
	uint8_t buf[2048];
	struct sockaddr_in src;
	socklen_t src_len = sizeof(src);
	ssize_t n;

	n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&src, &src_len);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fprintf(stderr, PROG ": recvfrom: %s\n", strerror(errno));
		return;
	}
	if (src_len != sizeof(src) || src.sin_family != AF_INET)
		return;
	switch (ny_wg_message_classify(buf, (size_t)n)) {
	case NY_WG_MSG_INITIATION:
	case NY_WG_MSG_RESPONSE:
	case NY_WG_MSG_COOKIE:
		receive_handshake(io, buf, (size_t)n, &src, now);
		break;
	case NY_WG_MSG_DATA:
		receive_data(io, buf, (size_t)n, sizeof(buf), &src, now);
		break;
	default:
		log_drop(io, now, "datagram", NY_WG_DROP_MALFORMED);
		break;
	}
}

/* ---- main loop -------------------------------------------------------------------------------------------- */

static int poll_timeout_ms(const struct interop *io, uint64_t now, uint64_t deadline)
{
	uint64_t next = deadline, timer = ny_wg_timers_next_deadline(io->peer);
	uint64_t wait_ns;

	if (io->pending_actions)
		return 0;
	if (timer < next)
		next = timer;
	if (io->ping_outstanding && io->ping_sent_at + PING_RETRY_NS < next)
		next = io->ping_sent_at + PING_RETRY_NS;
	if (next <= now)
		return 0;
	wait_ns = next - now;
	if (wait_ns >= (uint64_t)MAX_POLL_MS * 1000000)
		return MAX_POLL_MS;
	return (int)((wait_ns + 999999) / 1000000); /* round up so a deadline is not polled for twice */
}

static const char *stage_message(enum stage stage)
{
	switch (stage) {
	case STAGE_NOTHING:
		return "no handshake: no initiation or response of the peer was accepted";
	case STAGE_HANDSHAKE:
		return "handshake done but no keypair to send with (as responder: no data from the initiator "
		       "confirmed the session)";
	case STAGE_SESSION:
		return "session established and echo requests sent, but no valid echo reply";
	case STAGE_REPLIES:
		return "echo replies received, but fewer than --count";
	case STAGE_ALL_REPLIES:
		return "all echo replies received, but fewer echo requests of the peer answered than --answer";
	}
	return "?";
}

static void print_drop_stats(const struct interop *io)
{
	int i;

	for (i = 1; i < NY_WG_DROP__COUNT; i++)
		if (io->dev.stats.drops[i])
			fprintf(stderr, PROG ": engine drops %s: %" PRIu64 "\n", ny_wg_drop_name((enum ny_wg_drop)i),
				io->dev.stats.drops[i]);
}

static int run(struct interop *io)
{
	uint64_t now = monotonic_ns();
	uint64_t deadline = now + (uint64_t)io->opt.timeout_s * NY_WG_NSEC;
	struct pollfd pfd = {.fd = io->fd, .events = POLLIN};

	if (io->opt.mode == MODE_INITIATOR)
		io->pending_actions |= NY_WG_ACTION_SEND_INITIATION;
	while (io->replies < io->opt.count || io->requests_answered < io->opt.answer) {
		uint32_t actions;
		int ready;

		now = monotonic_ns();
		if (now >= deadline) {
			fprintf(stderr,
				PROG ": timeout after %u s (%u/%u replies, %u requests sent, %u/%u of the peer's "
				     "answered): %s\n",
				io->opt.timeout_s, io->replies, io->opt.count, io->requests_sent,
				io->requests_answered, io->opt.answer, stage_message(io->stage));
			return 1;
		}
		if (stop_signal) {
			fprintf(stderr, PROG ": stopped by signal %d: %s\n", (int)stop_signal,
				stage_message(io->stage));
			return 1;
		}
		actions = io->pending_actions | ny_wg_timers_tick(io->peer, now);
		io->pending_actions = 0;
		handle_actions(io, actions, now);
		maybe_send_ping(io, now);

		ready = poll(&pfd, 1, poll_timeout_ms(io, now, deadline));
		if (ready < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			return 2;
		}
		if (ready > 0 && (pfd.revents & POLLIN))
			receive_one(io, monotonic_ns());
	}
	printf("%8.1f ms: %u/%u echo replies, %u echo requests of the peer answered\n",
	       elapsed_ms(io, monotonic_ns()), io->replies, io->opt.count, io->requests_answered);
	return 0;
}

/* Binds to *port on every address; with *port 0 the kernel picks one and *port says which. */
static int open_socket(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(*port), .sin_addr.s_addr = INADDR_ANY};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static int setup(struct interop *io)
{
	uint8_t priv[NY_KEY_LEN];
	int err;

	err = ny_crypto_init();
	if (err) {
		fprintf(stderr, PROG ": crypto init failed\n");
		return err;
	}
	err = read_private_key(io->opt.key_file, priv);
	if (err)
		goto out;
	err = ny_wg_device_init(&io->dev, priv, io->start);
	if (err) {
		fprintf(stderr, PROG ": device init failed: %s\n", strerror(-err));
		goto out;
	}
	io->dev_ready = true;
	io->peer = ny_wg_device_add_peer(&io->dev, io->opt.peer_public, NULL);
	if (!io->peer) {
		err = -errno;
		fprintf(stderr, PROG ": adding the peer failed: %s\n", strerror(errno));
		goto out;
	}
	io->aead = ny_aead_ctx_new(io->opt.aead);
	if (!io->aead) {
		err = -ENOMEM;
		fprintf(stderr, PROG ": no AEAD context (%s)\n", ny_aead_provider_name(io->opt.aead));
		goto out;
	}
	io->fd = open_socket(&io->opt.listen_port);
	if (io->fd < 0) {
		err = io->fd;
		fprintf(stderr, PROG ": UDP port %u: %s\n", io->opt.listen_port, strerror(-err));
		goto out;
	}
	io->endpoint = io->opt.endpoint;
	io->have_endpoint = io->opt.have_endpoint;
	io->ping_id = (uint16_t)(getpid() & 0xffff);
out:
	ny_crypto_wipe(priv, sizeof(priv));
	return err;
}

static void teardown(struct interop *io)
{
	if (io->fd >= 0)
		close(io->fd);
	ny_aead_ctx_free(io->aead);
	if (io->dev_ready)
		ny_wg_device_destroy(&io->dev);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct interop io;
	int ret;

	memset(&io, 0, sizeof(io));
	io.fd = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Without SA_RESTART, so a signal ends the poll() at once and the run still frees everything. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (parse_options(argc, argv, &io.opt))
		return 2;
	io.start = monotonic_ns();
	if (setup(&io)) {
		teardown(&io);
		return 2;
	}
	printf("%8.1f ms: listening on UDP port %u as %s, AEAD %s\n", elapsed_ms(&io, monotonic_ns()),
	       io.opt.listen_port, io.opt.mode == MODE_INITIATOR ? "initiator" : "responder",
	       ny_aead_provider_name(io.opt.aead));
	ret = run(&io);
	print_drop_stats(&io);
	teardown(&io);
	return ret;
}
