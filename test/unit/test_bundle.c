/* Config bundles (src/dist/): the format's round trip and every way a bundle must be refused, the timestamp edit
 * of the YAML text, and `nylon seal` / `nylon open` run in-process on temporary files.
 *
 * Fixtures in test/data/bundle/: central.yaml (every prefix type, nylon #136), central.key / central.pub (a
 * distribution key pair made with `nylon genkey` / `nylon pubkey`), and central.nybundle, sealed from them by
 * `nylon seal` at the time of writing: it pins the format (a later change that cannot open it breaks old
 * bundles). No bundle made by the Go implementation was available to add. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nylon/bundle.h"
#include "nylon/cli.h"
#include "nylon/conf.h"
#include "nylon/crypto.h"
#include "nylon/xeddsa.h"

#define ERR_LEN 256

static void setup(void)
{
	cr_assert_eq(ny_crypto_init(), 0);
}

TestSuite(bundle, .init = setup);

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *fixture(const char *name, size_t *len)
{
	const char *dir = getenv("NY_TEST_DATA");
	char path[PATH_MAX];

	cr_assert_not_null(dir, "NY_TEST_DATA is not set");
	snprintf(path, sizeof(path), "%s/bundle/%s", dir, name);
	return read_all(path, len);
}

static void fixture_key(const char *name, uint8_t key[NY_KEY_LEN])
{
	size_t len;
	char *text = fixture(name, &len);

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	cr_assert_eq(ny_key_from_base64(key, text, len), 0);
	free(text);
}

static struct ny_conf_central *parse_central(const char *text, size_t len)
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, len, &r), 0);
	cr_assert_eq(ny_conf_central_expand(c), 0);
	cr_assert_eq(ny_conf_central_validate(c, &r), 0);
	ny_conf_report_free(&r);
	return c;
}

static void assert_prefix_eq(const struct ny_conf_prefix *a, const struct ny_conf_prefix *b)
{
	cr_assert_eq(a->type, b->type);
	cr_assert(ny_conf_cidr_equal(&a->prefix, &b->prefix));
	cr_assert_eq(a->metric, b->metric);
	cr_assert_eq(a->has_metric, b->has_metric);
	cr_assert_eq(a->delay_ns, b->delay_ns);
	cr_assert_eq(a->max_failures, b->max_failures);
	cr_assert_eq((a->url == NULL), (b->url == NULL));
	if (a->url)
		cr_assert_str_eq(a->url, b->url);
	cr_assert_eq((a->bind_if == NULL), (b->bind_if == NULL));
	if (a->bind_if)
		cr_assert_str_eq(a->bind_if, b->bind_if);
}

static void assert_peers_eq(const struct ny_conf_peer *a, const struct ny_conf_peer *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(a[i].id, b[i].id);
		cr_assert_arr_eq(a[i].pubkey, b[i].pubkey, NY_KEY_LEN);
		cr_assert_eq(a[i].n_addresses, b[i].n_addresses);
		cr_assert_eq(a[i].n_endpoints, b[i].n_endpoints);
		for (size_t k = 0; k < a[i].n_endpoints; k++)
			cr_assert_str_eq(a[i].endpoints[k].text, b[i].endpoints[k].text);
		cr_assert_eq(a[i].n_prefixes, b[i].n_prefixes, "peer %s", a[i].id);
		for (size_t k = 0; k < a[i].n_prefixes; k++)
			assert_prefix_eq(&a[i].prefixes[k], &b[i].prefixes[k]);
	}
}

/* Equal as configurations, the timestamp aside. */
static void assert_central_eq(const struct ny_conf_central *a, const struct ny_conf_central *b)
{
	cr_assert_eq(a->has_dist, b->has_dist);
	cr_assert_arr_eq(a->dist_key, b->dist_key, NY_KEY_LEN);
	cr_assert_eq(a->n_dist_repos, b->n_dist_repos);
	cr_assert_eq(a->n_routers, b->n_routers);
	cr_assert_eq(a->n_clients, b->n_clients);
	assert_peers_eq(a->routers, b->routers, a->n_routers);
	assert_peers_eq(a->clients, b->clients, a->n_clients);
	cr_assert_eq(a->n_graph, b->n_graph);
	for (size_t i = 0; i < a->n_graph; i++)
		cr_assert_str_eq(a->graph[i].text, b->graph[i].text);
	cr_assert_eq(a->n_edges, b->n_edges);
	cr_assert_eq(a->n_exclude_ips, b->n_exclude_ips);
}

/* A sealed bundle of the fixture, under a fresh key pair. */
struct sealed {
	uint8_t priv[NY_KEY_LEN];
	uint8_t pub[NY_KEY_LEN];
	char *yaml;
	size_t yaml_len;
	char *b64;
};

static void seal_fixture(struct sealed *s)
{
	char err[ERR_LEN];
	size_t len;
	char *text = fixture("central.yaml", &len);

	ny_crypto_x25519_generate(s->priv);
	ny_crypto_x25519_public(s->pub, s->priv);
	cr_assert_eq(ny_bundle_stamp(text, len, 1754000000123456789LL, &s->yaml, &s->yaml_len, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(ny_bundle_seal(s->yaml, s->yaml_len, s->priv, &s->b64), 0);
	free(text);
}

static void sealed_free(struct sealed *s)
{
	free(s->yaml);
	free(s->b64);
}

static int open_text(const char *b64, size_t len, const uint8_t pub[NY_KEY_LEN])
{
	char err[ERR_LEN] = "";
	char *yaml = NULL;
	size_t yaml_len = 0;
	int ret = ny_bundle_open(b64, len, pub, &yaml, &yaml_len, err, sizeof(err));

	if (ret == 0)
		cr_assert_not_null(yaml);
	else
		cr_assert(yaml == NULL && err[0] != '\0', "a refusal must say why");
	free(yaml);
	return ret;
}

/* Base64 of raw bytes, as a bundle's text. */
static char *encode(const uint8_t *raw, size_t len)
{
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(cap);

	cr_assert_not_null(out);
	sodium_bin2base64(out, cap, raw, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static uint8_t *decode(const char *b64, size_t *len)
{
	size_t cap = strlen(b64) / 4 * 3;
	uint8_t *raw = malloc(cap);

	cr_assert_not_null(raw);
	cr_assert_eq(sodium_base642bin(raw, cap, b64, strlen(b64), NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL),
		     0);
	return raw;
}

/* A bundle built by hand: yaml signed by signer, encrypted under enc_pub. */
static char *forge(const char *yaml, size_t len, const uint8_t signer[NY_KEY_LEN], const uint8_t enc_pub[NY_KEY_LEN])
{
	size_t plain_len = 64 + len, raw_len = 24 + plain_len + 16;
	uint8_t *plain = malloc(plain_len), *raw = malloc(raw_len), z[64];
	char *b64;

	cr_assert(plain && raw);
	ny_crypto_random(z, sizeof(z));
	cr_assert_eq(ny_xeddsa_sign(plain, signer, (const uint8_t *)yaml, len, z), 0);
	memcpy(plain + 64, yaml, len);
	ny_crypto_random(raw, 24);
	ny_crypto_xaead_seal(raw + 24, plain, plain_len, NULL, 0, raw, enc_pub);
	b64 = encode(raw, raw_len);
	free(plain);
	free(raw);
	return b64;
}

Test(bundle, round_trip_keeps_the_config_and_its_prefixes)
{
	struct ny_conf_central *before, *after;
	struct sealed s;
	char err[ERR_LEN];
	char *yaml;
	size_t yaml_len, len;
	char *text = fixture("central.yaml", &len);

	seal_fixture(&s);
	cr_assert_eq(ny_bundle_open(s.b64, strlen(s.b64), s.pub, &yaml, &yaml_len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(yaml_len, s.yaml_len);
	cr_assert_arr_eq(yaml, s.yaml, yaml_len, "open returns exactly the text that was sealed");
	before = parse_central(text, len);
	after = parse_central(yaml, yaml_len);
	cr_assert_eq(after->timestamp, 1754000000123456789LL);
	assert_central_eq(before, after);
	cr_assert_eq(after->routers[0].n_prefixes, 5, "2 addresses + 3 prefixes (nylon #136)");
	ny_conf_central_free(before);
	ny_conf_central_free(after);
	free(yaml);
	free(text);
	sealed_free(&s);
}

Test(bundle, text_is_standard_base64_without_line_breaks)
{
	struct sealed s;
	size_t n;

	seal_fixture(&s);
	n = strlen(s.b64);
	cr_assert_eq(n % 4, 0);
	cr_assert_eq(strspn(s.b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="), n);
	/* nonce(24) || ciphertext(64 + yaml) || tag(16) */
	cr_assert_eq(n, (24 + 64 + s.yaml_len + 16 + 2) / 3 * 4);
	sealed_free(&s);
}

Test(bundle, opens_with_line_breaks_in_the_text)
{
	struct sealed s;
	size_t n;
	char *wrapped;

	seal_fixture(&s);
	n = strlen(s.b64);
	wrapped = malloc(n + n / 76 * 2 + 3);
	cr_assert_not_null(wrapped);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		wrapped[o++] = s.b64[i];
		if (i % 76 == 75) {
			wrapped[o++] = '\r';
			wrapped[o++] = '\n';
		}
	}
	wrapped[o++] = '\n';
	cr_assert_eq(open_text(wrapped, o, s.pub), 0);
	free(wrapped);
	sealed_free(&s);
}

Test(bundle, rejects_every_byte_flipped)
{
	struct sealed s;
	size_t raw_len;
	uint8_t *raw;

	seal_fixture(&s);
	raw = decode(s.b64, &raw_len);
	for (size_t i = 0; i < raw_len; i++) {
		char *b64;

		raw[i] ^= 0xff;
		b64 = encode(raw, raw_len);
		cr_assert_eq(open_text(b64, strlen(b64), s.pub), -EBADMSG, "byte %zu", i);
		free(b64);
		raw[i] ^= 0xff;
	}
	free(raw);
	sealed_free(&s);
}

Test(bundle, rejects_every_character_of_the_text_changed)
{
	struct sealed s;
	size_t n;

	seal_fixture(&s);
	n = strlen(s.b64);
	for (size_t i = 0; i < n; i++) {
		char saved = s.b64[i];

		s.b64[i] = saved == 'A' ? 'B' : 'A';
		cr_assert_neq(open_text(s.b64, n, s.pub), 0, "character %zu", i);
		s.b64[i] = saved;
	}
	cr_assert_eq(open_text(s.b64, n, s.pub), 0);
	sealed_free(&s);
}

Test(bundle, rejects_truncation)
{
	struct sealed s;
	size_t raw_len, n;
	uint8_t *raw;

	seal_fixture(&s);
	raw = decode(s.b64, &raw_len);
	for (size_t len = 0; len < raw_len; len++) {
		char *b64 = encode(raw, len);
		int ret = open_text(b64, strlen(b64), s.pub);

		cr_assert(len < NY_BUNDLE_OVERHEAD ? ret == -EINVAL : ret == -EBADMSG, "%zu bytes: %d", len, ret);
		free(b64);
	}
	n = strlen(s.b64);
	for (size_t len = 1; len < n; len += 7)
		cr_assert_neq(open_text(s.b64, len, s.pub), 0, "%zu characters", len);
	free(raw);
	sealed_free(&s);
}

Test(bundle, rejects_the_wrong_distribution_key)
{
	struct sealed s;
	uint8_t other[NY_KEY_LEN], other_pub[NY_KEY_LEN];

	seal_fixture(&s);
	ny_crypto_x25519_generate(other);
	ny_crypto_x25519_public(other_pub, other);
	cr_assert_eq(open_text(s.b64, strlen(s.b64), other_pub), -EBADMSG);
	/* The private key is not the key either. */
	cr_assert_eq(open_text(s.b64, strlen(s.b64), s.priv), -EBADMSG);
	sealed_free(&s);
}

Test(bundle, rejects_a_bundle_signed_by_another_key)
{
	struct sealed s;
	uint8_t mallory[NY_KEY_LEN];
	char *b64;

	seal_fixture(&s);
	/* Whoever knows the public key can encrypt; only the private key can sign. */
	ny_crypto_x25519_generate(mallory);
	b64 = forge(s.yaml, s.yaml_len, mallory, s.pub);
	cr_assert_eq(open_text(b64, strlen(b64), s.pub), -EKEYREJECTED);
	free(b64);
	/* The same construction with the right signer opens: forge() builds the real format. */
	b64 = forge(s.yaml, s.yaml_len, s.priv, s.pub);
	cr_assert_eq(open_text(b64, strlen(b64), s.pub), 0);
	free(b64);
	sealed_free(&s);
}

Test(bundle, rejects_oversized)
{
	uint8_t priv[NY_KEY_LEN], pub[NY_KEY_LEN];
	size_t big = NY_BUNDLE_MAX_YAML + 1;
	char *yaml = malloc(big), *b64 = NULL, *text;

	cr_assert_not_null(yaml);
	memset(yaml, '#', big);
	ny_crypto_x25519_generate(priv);
	ny_crypto_x25519_public(pub, priv);
	cr_assert_eq(ny_bundle_seal(yaml, big, priv, &b64), -EFBIG);
	cr_assert_null(b64);
	/* Sealed by hand, it is still refused after decryption. */
	b64 = forge(yaml, big, priv, pub);
	cr_assert_eq(open_text(b64, strlen(b64), pub), -EFBIG);
	free(b64);
	/* A text too long to hold 1 MiB of YAML is refused before it is decoded. */
	text = malloc(NY_BUNDLE_MAX_BASE64 + 4);
	cr_assert_not_null(text);
	memset(text, 'A', NY_BUNDLE_MAX_BASE64 + 4);
	cr_assert_eq(open_text(text, NY_BUNDLE_MAX_BASE64 + 4, pub), -EFBIG);
	/* Exactly 1 MiB is allowed. */
	b64 = NULL;
	cr_assert_eq(ny_bundle_seal(yaml, big - 1, priv, &b64), 0);
	cr_assert_eq(open_text(b64, strlen(b64), pub), 0);
	free(b64);
	free(text);
	free(yaml);
}

Test(bundle, rejects_garbage_base64)
{
	static const char *const cases[] = {
		"", "A", "AAA", "AAAAA", "!!!!", "AAAA AAAA", "AA=A", "A===", "====", "AAAA====", "AAB=",
		"AAAB=", "AAAAAB==", "AAAA\tAAA", "AAAA\x80\x80\x80\x80",
	};
	uint8_t pub[NY_KEY_LEN] = { 9 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(open_text(cases[i], strlen(cases[i]), pub), -EINVAL, "case %zu: \"%s\"", i, cases[i]);
	/* Valid base64 that is too short, and random bytes of a plausible size. */
	cr_assert_eq(open_text("AAAA", 4, pub), -EINVAL);
	for (int i = 0; i < 32; i++) {
		uint8_t raw[300];
		char *b64;

		ny_crypto_random(raw, sizeof(raw));
		b64 = encode(raw, NY_BUNDLE_OVERHEAD + (size_t)i * 5);
		cr_assert_eq(open_text(b64, strlen(b64), pub), -EBADMSG);
		free(b64);
	}
}

Test(bundle, opens_the_committed_fixture)
{
	uint8_t pub[NY_KEY_LEN], priv[NY_KEY_LEN], derived[NY_KEY_LEN];
	struct ny_conf_central *c;
	char err[ERR_LEN], *text, *yaml;
	size_t len, yaml_len;

	fixture_key("central.pub", pub);
	fixture_key("central.key", priv);
	ny_crypto_x25519_public(derived, priv);
	cr_assert_arr_eq(derived, pub, NY_KEY_LEN);
	text = fixture("central.nybundle", &len);
	cr_assert_eq(ny_bundle_open(text, len, pub, &yaml, &yaml_len, err, sizeof(err)), 0, "%s", err);
	c = parse_central(yaml, yaml_len);
	cr_assert_gt(c->timestamp, 0);
	cr_assert_eq(c->routers[0].n_prefixes, 5);
	ny_conf_central_free(c);
	free(yaml);
	free(text);
}

/* ---- the timestamp edit ---- */

static char *stamp(const char *text, int64_t ts)
{
	char err[ERR_LEN] = "";
	char *out = NULL;
	size_t out_len = 0;
	int ret = ny_bundle_stamp(text, strlen(text), ts, &out, &out_len, err, sizeof(err));

	cr_assert_eq(ret, 0, "stamping \"%s\": %s", text, err);
	cr_assert_eq(strlen(out), out_len);
	return out;
}

struct stamp_case {
	const char *in;
	const char *out;
};

Test(bundle, stamp_sets_the_timestamp_and_keeps_every_other_byte)
{
	static const struct stamp_case cases[] = {
		/* Replaced in place, comments and quoting around it kept. */
		{ "graph: []\ntimestamp: 5 # old\nrouters: []\n", "graph: []\ntimestamp: 42 # old\nrouters: []\n" },
		{ "timestamp: \"5\"\n", "timestamp: 42\n" },
		{ "timestamp: 1754000000000000000\r\ngraph: []\r\n", "timestamp: 42\r\ngraph: []\r\n" },
		/* Set with no value. */
		{ "timestamp:\ngraph: []\n", "timestamp: 42\ngraph: []\n" },
		{ "timestamp:\n", "timestamp: 42\n" },
		/* Inserted before the first key, after leading comments and `---`. */
		{ "# é\ngraph: []\n", "# é\ntimestamp: 42\ngraph: []\n" },
		{ "---\n# c\nrouters: []\n", "---\n# c\ntimestamp: 42\nrouters: []\n" },
		{ "  graph: []\n  routers: []\n", "  timestamp: 42\n  graph: []\n  routers: []\n" },
		/* A nested `timestamp` is not the config's. */
		{ "x:\n  timestamp: 1\ngraph: []\n", "timestamp: 42\nx:\n  timestamp: 1\ngraph: []\n" },
		/* Flow mappings. */
		{ "{graph: []}\n", "{timestamp: 42, graph: []}\n" },
		{ "{}\n", "{timestamp: 42}\n" },
		{ "{graph: [], timestamp: 7}", "{graph: [], timestamp: 42}" },
		/* Empty documents. */
		{ "", "timestamp: 42\n" },
		{ "# nothing\n", "# nothing\ntimestamp: 42\n" },
		{ "# nothing", "# nothing\ntimestamp: 42\n" },
		/* Non-ASCII text before the value: libyaml counts characters, the edit counts bytes. */
		{ "# ééé ☃\ntimestamp: 9\n", "# ééé ☃\ntimestamp: 42\n" },
		{ "\xef\xbb\xbf# é\ntimestamp: 9\n", "\xef\xbb\xbf# é\ntimestamp: 42\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = stamp(cases[i].in, 42);

		cr_assert_str_eq(out, cases[i].out, "case %zu", i);
		free(out);
	}
}

Test(bundle, stamp_refuses_what_it_cannot_edit)
{
	static const char *const cases[] = {
		"- a\n- b\n",                 /* not a mapping */
		"just text\n",                /* a scalar */
		"timestamp: {a: 1}\n",        /* not a number */
		"timestamp: [1]\n",           /* not a number */
		"graph: [\n",                 /* not YAML */
		"timestamp: |\n  5\ngraph: []\n", /* a multi-line value */
		"\xff\xfet\0i\0",             /* UTF-16 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ERR_LEN] = "";
		char *out = (char *)1;
		size_t out_len = 1;

		cr_assert_eq(ny_bundle_stamp(cases[i], strlen(cases[i]) + (i == 6 ? 4 : 0), 1, &out, &out_len, err,
					     sizeof(err)),
			     -EINVAL, "case %zu", i);
		cr_assert_null(out);
		cr_assert_neq(err[0], '\0', "case %zu says why", i);
	}
}

Test(bundle, stamp_keeps_the_fixture_equal)
{
	struct ny_conf_central *a, *b;
	size_t len;
	char *text = fixture("central.yaml", &len);
	char *out = stamp(text, INT64_MAX);

	a = parse_central(text, len);
	b = parse_central(out, strlen(out));
	cr_assert_eq(b->timestamp, INT64_MAX);
	assert_central_eq(a, b);
	ny_conf_central_free(a);
	ny_conf_central_free(b);
	free(out);
	free(text);
}

/* ---- the commands ---- */

struct cli_result {
	int status;
	char out[16384];
	char err[4096];
};

static void slurp_fd(int fd, char *buf, size_t cap)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, cap - 1);
	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
}

static void run(struct cli_result *r, char **argv)
{
	char out_path[] = "/tmp/ny-bundle-out.XXXXXX", err_path[] = "/tmp/ny-bundle-err.XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path), so, se, argc = 0;

	cr_assert(out >= 0 && err >= 0);
	unlink(out_path);
	unlink(err_path);
	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(out, 1);
	dup2(err, 2);
	r->status = ny_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp_fd(out, r->out, sizeof(r->out));
	slurp_fd(err, r->err, sizeof(r->err));
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

Test(bundle, seal_then_open_via_the_commands)
{
	char dir[] = "/tmp/ny-bundle-cli.XXXXXX", central[PATH_MAX], key[PATH_MAX], out[PATH_MAX], pub_b64[64];
	uint8_t priv[NY_KEY_LEN], pub[NY_KEY_LEN];
	struct cli_result *r = malloc(sizeof(*r));
	struct ny_conf_central *a, *b;
	struct stat st;
	size_t len;
	char *text;

	cr_assert_not_null(r);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(central, sizeof(central), "%s/central.yaml", dir);
	snprintf(key, sizeof(key), "%s/central.key", dir);
	snprintf(out, sizeof(out), "%s/central.nybundle", dir);
	text = fixture("central.yaml", &len);
	write_file(central, text, len);
	fixture_key("central.key", priv);
	ny_crypto_x25519_public(pub, priv);
	{
		char line[NY_KEY_BASE64_LEN + 2];

		ny_key_to_base64(line, priv);
		strcat(line, "\n");
		write_file(key, line, strlen(line));
	}
	ny_key_to_base64(pub_b64, pub);

	char *seal_argv[] = { "nylon", "seal", "-c", central, "--key", key, "-o", out, NULL };
	run(r, seal_argv);
	cr_assert_eq(r->status, 0, "seal: %s", r->err);
	cr_assert_str_eq(r->out, "");
	cr_assert_eq(stat(out, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	char *open_argv[] = { "nylon", "open", pub_b64, "-i", out, NULL };
	run(r, open_argv);
	cr_assert_eq(r->status, 0, "open: %s", r->err);
	cr_assert_str_eq(r->err, "Bundle is valid\n");
	a = parse_central(text, len);
	b = parse_central(r->out, strlen(r->out));
	assert_central_eq(a, b);
	cr_assert_gt(b->timestamp, 1700000000000000000LL, "seal sets now in unix ns");
	ny_conf_central_free(a);
	ny_conf_central_free(b);

	/* Errors: wrong key, bad key text, missing bundle, invalid config; usage. */
	char other_b64[NY_KEY_BASE64_LEN + 1];
	uint8_t other[NY_KEY_LEN];
	ny_crypto_x25519_generate(other);
	ny_key_to_base64(other_b64, other);
	char *wrong_argv[] = { "nylon", "open", other_b64, "--input", out, NULL };
	run(r, wrong_argv);
	cr_assert_eq(r->status, 1);
	cr_assert(strncmp(r->err, "Error: ", 7) == 0, "%s", r->err);
	cr_assert_str_eq(r->out, "");

	char bad_key[] = "not-a-key";
	char *bad_argv[] = { "nylon", "open", bad_key, "-i", out, NULL };
	run(r, bad_argv);
	cr_assert_eq(r->status, 1);

	char missing[PATH_MAX];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	char *missing_argv[] = { "nylon", "open", pub_b64, "-i", missing, NULL };
	run(r, missing_argv);
	cr_assert_eq(r->status, 1);

	write_file(central, "routers:\n  - id: \"BAD ID\"\n", 26);
	run(r, seal_argv);
	cr_assert_eq(r->status, 1);
	cr_assert(strstr(r->err, "Error: ") != NULL, "%s", r->err);

	char *usage_argv[] = { "nylon", "open", NULL };
	run(r, usage_argv);
	cr_assert_eq(r->status, 2);
	char flag[] = "--bogus";
	char *usage2_argv[] = { "nylon", "seal", flag, NULL };
	run(r, usage2_argv);
	cr_assert_eq(r->status, 2);

	unlink(central);
	unlink(key);
	unlink(out);
	rmdir(dir);
	free(text);
	free(r);
}
