/* Bundle repos (src/dist/repo.c, src/dist/fetch.c; reference §5.1): fetching file: and http:// URLs and the 1 MiB
 * cap on both, the poller's timestamp ordering (only newer bundles reach apply, a refused one is not retried), the
 * atomic 0600 write, and the bootstrap of a missing central file from node.yaml's dist. Bundles are sealed here
 * with a fresh distribution key; the http:// cases talk to a one-shot server on 127.0.0.1 in a thread. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nylon/bundle.h"
#include "nylon/conf.h"
#include "nylon/crypto.h"
#include "nylon/dist.h"
#include "loopback.h"

#define ERR_LEN 512

static char dir[64];

static void setup(void)
{
	cr_assert_eq(ny_crypto_init(), 0);
	strcpy(dir, "/tmp/ny-test-dist-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

TestSuite(dist_repo, .init = setup, .fini = teardown);

static char *path_in_dir(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(NY_DIST_MAX_BODY + 1);

	cr_assert_not_null(f, "cannot open %s", path);
	*len = fread(buf, 1, NY_DIST_MAX_BODY, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* ---- file: ---- */

Test(dist_repo, fetches_file_urls_absolute_relative_and_triple_slash)
{
	char url[PATH_MAX + 16], err[ERR_LEN], cwd[PATH_MAX];
	char *body;
	size_t len;

	write_file(path_in_dir("repo"), "hello", 5);
	snprintf(url, sizeof(url), "file:%s", path_in_dir("repo"));
	cr_assert_eq(ny_dist_fetch(url, NULL, &body, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(len, 5);
	cr_assert_str_eq(body, "hello");
	free(body);

	snprintf(url, sizeof(url), "file://%s", path_in_dir("repo"));
	cr_assert_eq(ny_dist_fetch(url, NULL, &body, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(body, "hello");
	free(body);

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(ny_dist_fetch("file:repo", NULL, &body, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_str_eq(body, "hello");
	free(body);
}

Test(dist_repo, file_errors_name_the_path)
{
	char url[PATH_MAX + 16], err[ERR_LEN];
	char *body;
	size_t len;

	snprintf(url, sizeof(url), "file:%s", path_in_dir("missing"));
	cr_assert_eq(ny_dist_fetch(url, NULL, &body, &len, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "missing"), "%s", err);
	cr_assert_null(body);
	snprintf(url, sizeof(url), "file:%s", dir);
	cr_assert_eq(ny_dist_fetch(url, NULL, &body, &len, err, sizeof(err)), -EINVAL, "a directory: %s", err);
	cr_assert_eq(ny_dist_fetch("file://host/x", NULL, &body, &len, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ny_dist_fetch("ftp://host/x", NULL, &body, &len, err, sizeof(err)), -EPROTONOSUPPORT);
	cr_assert_eq(ny_dist_fetch("/just/a/path", NULL, &body, &len, err, sizeof(err)), -EPROTONOSUPPORT);
}

Test(dist_repo, file_body_of_exactly_1mib_is_read_and_one_byte_more_is_refused)
{
	char url[PATH_MAX + 16], err[ERR_LEN];
	char *big = malloc(NY_DIST_MAX_BODY + 1), *body;
	size_t len;

	memset(big, 'A', NY_DIST_MAX_BODY + 1);
	write_file(path_in_dir("max"), big, NY_DIST_MAX_BODY);
	write_file(path_in_dir("over"), big, NY_DIST_MAX_BODY + 1);
	free(big);
	snprintf(url, sizeof(url), "file:%s", path_in_dir("max"));
	cr_assert_eq(ny_dist_fetch(url, NULL, &body, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(len, NY_DIST_MAX_BODY);
	free(body);
	snprintf(url, sizeof(url), "file:%s", path_in_dir("over"));
	cr_assert_eq(ny_dist_fetch(url, NULL, &body, &len, err, sizeof(err)), -EFBIG);
	cr_assert_null(body, "never a truncated body");
	cr_assert_not_null(strstr(err, "more than"), "%s", err);
}

/* ---- http:// against a one-shot server on loopback ---- */

struct http_server {
	int fd;
	uint16_t port;
	const char *status; /* e.g. "HTTP/1.1 200 OK" */
	bool content_length; /* announce the body's length */
	size_t body_len;
	pthread_t thread;
};

static void *serve_one(void *arg)
{
	struct http_server *s = arg;
	char req[4096], head[512], *body;
	size_t got = 0;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (got < sizeof(req) - 1) {
		ssize_t n = recv(c, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (s->content_length)
		snprintf(head, sizeof(head), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", s->status,
			 s->body_len);
	else
		snprintf(head, sizeof(head), "%s\r\nConnection: close\r\n\r\n", s->status);
	(void)!send(c, head, strlen(head), MSG_NOSIGNAL);
	body = malloc(s->body_len + 1);
	memset(body, 'B', s->body_len);
	for (size_t off = 0; off < s->body_len;) {
		ssize_t n = send(c, body + off, s->body_len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the client gave up (the cap): fine */
		off += (size_t)n;
	}
	free(body);
	close(c);
	return NULL;
}

static void server_start(struct http_server *s, const char *status, bool content_length, size_t body_len)
{
	s->status = status;
	s->content_length = content_length;
	s->body_len = body_len;
	s->fd = loopback_socket(SOCK_STREAM, 1, &s->port);
	cr_assert_eq(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

static int server_fetch(struct http_server *s, char **body, size_t *len, char *err)
{
	char url[64];
	int ret;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/central.nybundle", s->port);
	ret = ny_dist_fetch(url, NULL, body, len, err, ERR_LEN);
	pthread_join(s->thread, NULL);
	close(s->fd);
	return ret;
}

Test(dist_repo, http_fetch_returns_the_body)
{
	struct http_server s;
	char err[ERR_LEN], *body;
	size_t len;

	server_start(&s, "HTTP/1.1 200 OK", true, 1000);
	cr_assert_eq(server_fetch(&s, &body, &len, err), 0, "%s", err);
	cr_assert_eq(len, 1000);
	cr_assert_eq(body[0], 'B');
	cr_assert_eq(body[len], '\0');
	free(body);
}

Test(dist_repo, http_body_over_1mib_fails_with_or_without_content_length)
{
	struct http_server s;
	char err[ERR_LEN], *body;
	size_t len;

	server_start(&s, "HTTP/1.1 200 OK", true, NY_DIST_MAX_BODY + 1);
	cr_assert_eq(server_fetch(&s, &body, &len, err), -EFBIG, "%s", err);
	cr_assert_null(body);
	/* No length announced: the cap hits while the body streams in. */
	server_start(&s, "HTTP/1.0 200 OK", false, NY_DIST_MAX_BODY + 1);
	cr_assert_eq(server_fetch(&s, &body, &len, err), -EFBIG, "%s", err);
	cr_assert_null(body);
	server_start(&s, "HTTP/1.0 200 OK", false, NY_DIST_MAX_BODY);
	cr_assert_eq(server_fetch(&s, &body, &len, err), 0, "exactly 1 MiB: %s", err);
	cr_assert_eq(len, NY_DIST_MAX_BODY);
	free(body);
}

Test(dist_repo, http_error_status_is_an_error)
{
	struct http_server s;
	char err[ERR_LEN], *body;
	size_t len;

	server_start(&s, "HTTP/1.1 404 Not Found", true, 9);
	cr_assert_eq(server_fetch(&s, &body, &len, err), -EIO);
	cr_assert_not_null(strstr(err, "404"), "%s", err);
}

/* ---- bundles and the poller ---- */

struct keys {
	uint8_t priv[NY_KEY_LEN], pub[NY_KEY_LEN];
};

static void dist_keys(struct keys *k)
{
	ny_crypto_x25519_generate(k->priv);
	ny_crypto_x25519_public(k->pub, k->priv);
}

static char node_priv_b64[NY_KEY_BASE64_LEN + 1];

/* A valid central.yaml with routers a and b; a's private key is node_priv_b64 (for node.yaml). */
static char *central_yaml(bool with_a)
{
	uint8_t priv[NY_KEY_LEN], pub[NY_KEY_LEN];
	char a[NY_KEY_BASE64_LEN + 1], b[NY_KEY_BASE64_LEN + 1];
	char *text = malloc(1024);

	ny_crypto_x25519_generate(priv);
	ny_key_to_base64(node_priv_b64, priv);
	ny_crypto_x25519_public(pub, priv);
	ny_key_to_base64(a, pub);
	ny_crypto_x25519_generate(priv);
	ny_crypto_x25519_public(pub, priv);
	ny_key_to_base64(b, pub);
	if (with_a)
		snprintf(text, 1024,
			 "routers:\n  - id: a\n    pubkey: %s\n    addresses: [10.9.0.1]\n"
			 "  - id: b\n    pubkey: %s\n    addresses: [10.9.0.2]\n    endpoints: [\"127.0.0.1:57175\"]\n"
			 "graph:\n  - a, b\n",
			 a, b);
	else
		snprintf(text, 1024, "routers:\n  - id: b\n    pubkey: %s\n    addresses: [10.9.0.2]\ngraph: []\n", b);
	return text;
}

/* Seals yaml with timestamp ts into dir/name; returns the file: URL (static). */
static const char *seal_to(const char *name, const char *yaml, int64_t ts, const struct keys *k)
{
	static char url[PATH_MAX + 8];
	char err[ERR_LEN], *stamped, *b64;
	size_t len;

	cr_assert_eq(ny_bundle_stamp(yaml, strlen(yaml), ts, &stamped, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ny_bundle_seal(stamped, len, k->priv, &b64), 0);
	write_file(path_in_dir(name), b64, strlen(b64));
	free(stamped);
	free(b64);
	snprintf(url, sizeof(url), "file:%s", path_in_dir(name));
	return url;
}

struct fake {
	const struct keys *k;
	const char *repo;
	bool has_dist;
	int64_t applied_ts;
	unsigned calls;
	int64_t last_ts;
	enum ny_dist_apply_result answer;
};

static int fake_current(void *ctx, struct ny_dist_current *out)
{
	struct fake *f = ctx;

	*out = (struct ny_dist_current){ .has_dist = f->has_dist, .timestamp = f->applied_ts };
	memcpy(out->key, f->k->pub, NY_KEY_LEN);
	out->repos = calloc(1, sizeof(char *));
	out->repos[0] = strdup(f->repo);
	out->n_repos = 1;
	return 0;
}

static enum ny_dist_apply_result fake_apply(void *ctx, const char *yaml, size_t len, int64_t ts, char *msg,
					    size_t msg_len)
{
	struct fake *f = ctx;

	(void)msg_len;
	cr_assert(len > 0 && strstr(yaml, "routers:"));
	msg[0] = '\0';
	__atomic_add_fetch(&f->calls, 1, __ATOMIC_RELEASE);
	f->last_ts = ts;
	if (f->answer == NY_DIST_APPLIED)
		f->applied_ts = ts;
	return f->answer;
}

static struct ny_dist_poller *fake_poller(struct fake *f)
{
	struct ny_dist_poller *p;

	cr_assert_eq(ny_dist_poller_new(&p, &(struct ny_dist_poller_ops){ .current = fake_current, .apply = fake_apply,
									   .ctx = f }),
		     0);
	return p;
}

Test(dist_repo, poller_applies_only_newer_timestamps)
{
	struct keys k;
	char *yaml = central_yaml(true);
	struct fake f = { .k = &k, .has_dist = true, .applied_ts = 200, .answer = NY_DIST_APPLIED };
	struct ny_dist_poller *p;

	dist_keys(&k);
	p = fake_poller(&f);
	f.repo = seal_to("repo", yaml, 200, &k);
	cr_assert_eq(ny_dist_poller_poll(p), 0, "the same timestamp is not an update");
	seal_to("repo", yaml, 150, &k);
	cr_assert_eq(ny_dist_poller_poll(p), 0, "an older bundle is not an update");
	cr_assert_eq(f.calls, 0);
	seal_to("repo", yaml, 201, &k);
	cr_assert_eq(ny_dist_poller_poll(p), 1);
	cr_assert_eq(f.calls, 1);
	cr_assert_eq(f.last_ts, 201);
	cr_assert_eq(ny_dist_poller_poll(p), 0, "applied once, then current");
	cr_assert_eq(f.calls, 1);
	ny_dist_poller_free(p);
	free(yaml);
}

Test(dist_repo, poller_does_not_retry_a_refused_bundle)
{
	struct keys k;
	char *yaml = central_yaml(false);
	struct fake f = { .k = &k, .has_dist = true, .applied_ts = 100, .answer = NY_DIST_REJECTED };
	struct ny_dist_poller *p;

	dist_keys(&k);
	p = fake_poller(&f);
	f.repo = seal_to("repo", yaml, 300, &k);
	cr_assert_eq(ny_dist_poller_poll(p), 0);
	cr_assert_eq(ny_dist_poller_poll(p), 0);
	cr_assert_eq(f.calls, 1, "the refused timestamp is remembered");
	cr_assert_eq(f.applied_ts, 100);
	seal_to("repo", yaml, 301, &k);
	f.answer = NY_DIST_APPLIED;
	cr_assert_eq(ny_dist_poller_poll(p), 1, "a newer bundle still gets its chance");
	ny_dist_poller_free(p);
	free(yaml);
}

Test(dist_repo, poller_ignores_bundles_of_another_key_invalid_configs_and_no_dist)
{
	struct keys k, other;
	char *yaml = central_yaml(true), *invalid;
	struct fake f = { .k = &k, .has_dist = true, .applied_ts = 1, .answer = NY_DIST_APPLIED };
	struct ny_dist_poller *p;

	dist_keys(&k);
	dist_keys(&other);
	p = fake_poller(&f);
	f.repo = seal_to("repo", yaml, 500, &other);
	cr_assert_eq(ny_dist_poller_poll(p), 0);
	invalid = malloc(strlen(yaml) + 32);
	strcpy(invalid, yaml);
	strcat(invalid, "  - a, nobody\n"); /* parses, does not validate */
	seal_to("repo", invalid, 500, &k);
	free(invalid);
	cr_assert_eq(ny_dist_poller_poll(p), 0);
	cr_assert_eq(f.calls, 0);
	seal_to("repo", yaml, 500, &k);
	f.has_dist = false;
	cr_assert_eq(ny_dist_poller_poll(p), 0, "no dist in the applied config: nothing is polled");
	f.has_dist = true;
	cr_assert_eq(ny_dist_poller_poll(p), 1);
	ny_dist_poller_free(p);
	free(yaml);
}

Test(dist_repo, poller_thread_polls_at_its_interval_and_stops)
{
	struct keys k;
	char *yaml = central_yaml(true);
	struct fake f = { .k = &k, .has_dist = true, .applied_ts = 1, .answer = NY_DIST_APPLIED };
	struct ny_dist_poller *p;

	dist_keys(&k);
	p = fake_poller(&f);
	f.repo = seal_to("repo", yaml, 700, &k);
	cr_assert_eq(ny_dist_poller_start(p, 100), 0);
	for (int i = 0; i < 50 && __atomic_load_n(&f.calls, __ATOMIC_ACQUIRE) == 0; i++)
		usleep(100 * 1000);
	ny_dist_poller_free(p); /* joins: f is ours again */
	cr_assert_eq(f.calls, 1);
	cr_assert_eq(f.applied_ts, 700);
	free(yaml);
}

/* ---- atomic write, bootstrap ---- */

Test(dist_repo, write_atomic_replaces_the_file_with_mode_0600_and_leaves_no_temporary)
{
	const char *path = path_in_dir("central.yaml");
	struct stat st;
	char *got;
	size_t len;
	mode_t old = umask(0);
	DIR *d;
	struct dirent *e;
	int files = 0;

	write_file(path, "old", 3);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(ny_dist_write_atomic(path, "new: text\n", 10), 0);
	umask(old);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	got = read_file(path, &len);
	cr_assert_eq(len, 10);
	cr_assert_str_eq(got, "new: text\n");
	free(got);
	d = opendir(dir);
	while ((e = readdir(d)))
		files += e->d_name[0] != '.';
	closedir(d);
	cr_assert_eq(files, 1, "the temporary file is gone");
	cr_assert_eq(ny_dist_write_atomic("/nonexistent-dir/central.yaml", "x", 1), -ENOENT);
}

static void node_yaml(const char *path, const char *dist_url, const struct keys *k)
{
	char text[1024], pub[NY_KEY_BASE64_LEN + 1];
	int n = snprintf(text, sizeof(text), "id: a\nkey: %s\nport: 57175\n", node_priv_b64);

	if (dist_url) {
		ny_key_to_base64(pub, k->pub);
		snprintf(text + n, sizeof(text) - (size_t)n, "dist:\n  url: %s\n  key: %s\n", dist_url, pub);
	}
	write_file(path, text, strlen(text));
}

Test(dist_repo, bootstrap_writes_the_missing_central_from_node_dist)
{
	struct keys k;
	char *yaml = central_yaml(true), *got, err[ERR_LEN];
	char central[PATH_MAX], node[PATH_MAX];
	struct stat st;
	size_t len;

	dist_keys(&k);
	snprintf(central, sizeof(central), "%s", path_in_dir("central.yaml"));
	snprintf(node, sizeof(node), "%s", path_in_dir("node.yaml"));
	node_yaml(node, seal_to("bundle", yaml, 42, &k), &k);
	cr_assert_eq(ny_dist_bootstrap(central, node, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(central, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	got = read_file(central, &len);
	cr_assert_not_null(strstr(got, "timestamp: 42"), "%s", got);
	cr_assert_not_null(strstr(got, "- a, b"));
	free(got);
	/* It exists now: left alone, even with a bundle that would say otherwise. */
	seal_to("bundle", yaml, 43, &k);
	cr_assert_eq(ny_dist_bootstrap(central, node, err, sizeof(err)), 0, "%s", err);
	got = read_file(central, &len);
	cr_assert_not_null(strstr(got, "timestamp: 42"));
	free(got);
	free(yaml);
}

Test(dist_repo, bootstrap_fails_clearly_without_dist_or_without_this_node)
{
	struct keys k;
	char *yaml = central_yaml(false), err[ERR_LEN];
	char central[PATH_MAX], node[PATH_MAX];
	struct stat st;

	dist_keys(&k);
	snprintf(central, sizeof(central), "%s", path_in_dir("central.yaml"));
	snprintf(node, sizeof(node), "%s", path_in_dir("node.yaml"));
	node_yaml(node, NULL, &k);
	cr_assert_eq(ny_dist_bootstrap(central, node, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "does not exist"), "%s", err);
	cr_assert_not_null(strstr(err, "dist"), "%s", err);
	node_yaml(node, seal_to("bundle", yaml, 42, &k), &k); /* a bundle without router a */
	cr_assert_lt(ny_dist_bootstrap(central, node, err, sizeof(err)), 0);
	cr_assert_neq(stat(central, &st), 0, "nothing written");
	free(yaml);
}
