/* Fetching a repo's body (reference §5.1): file:<path> read directly, http(s) through libcurl. Both refuse a body
 * over NY_DIST_MAX_BODY instead of cutting it: a cut bundle would only fail later with a misleading AEAD error.
 * libcurl stays in this file. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nylon/dist.h"
#include "nylon/dns.h"

struct body {
	char *buf;
	size_t len;
	size_t cap;
	bool too_big;
	const atomic_bool *stop;
};

static int read_fd(int fd, struct body *b)
{
	for (;;) {
		ssize_t n;

		if (b->len == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 65536;
			char *buf;

			if (cap > NY_DIST_MAX_BODY + 1)
				cap = NY_DIST_MAX_BODY + 1;
			if (b->len == cap) {
				b->too_big = true;
				return -EFBIG;
			}
			if (!(buf = realloc(b->buf, cap + 1)))
				return -ENOMEM;
			b->buf = buf;
			b->cap = cap;
		}
		n = read(fd, b->buf + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	if (b->len > NY_DIST_MAX_BODY) {
		b->too_big = true;
		return -EFBIG;
	}
	return 0;
}

/* file:<path> is opaque in Go's url.Parse and may be relative; file:///abs has an empty host. */
static int fetch_file(const char *url, struct body *b, char *err, size_t err_len)
{
	const char *path = url + strlen("file:");
	struct stat st;
	int fd, ret;

	if (strncmp(path, "//", 2) == 0) {
		path += 2;
		if (strncmp(path, "localhost/", 10) == 0)
			path += 9;
		if (*path != '/') {
			snprintf(err, err_len, "%s: a file URL with a host is not supported", url);
			return -EINVAL;
		}
	}
	if (!*path) {
		snprintf(err, err_len, "%s: no path", url);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, err_len, "%s: not a regular file", path);
		return -EINVAL;
	}
	ret = read_fd(fd, b);
	close(fd);
	if (ret == -EFBIG)
		snprintf(err, err_len, "%s: more than %u bytes", path, NY_DIST_MAX_BODY);
	else if (ret < 0)
		snprintf(err, err_len, "%s: %s", path, strerror(-ret));
	return ret;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;

	if (n > NY_DIST_MAX_BODY - b->len) {
		b->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *buf;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > NY_DIST_MAX_BODY)
			cap = NY_DIST_MAX_BODY;
		if (!(buf = realloc(b->buf, cap + 1)))
			return 0;
		b->buf = buf;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const struct body *b = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return b->stop && *b->stop; /* non-zero aborts: CURLE_ABORTED_BY_CALLBACK */
}

static CURLcode curl_init_result = CURLE_FAILED_INIT;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* libcurl 7.84+ makes curl_global_init thread-safe where it has atomics (Debian 12: 7.88); the once keeps it to
 * one call. Never cleaned up: the process exits with it. */
static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int curl_error(CURLcode rc, long status, const struct body *b, const char *url, const char *detail, char *err,
		      size_t err_len)
{
	if (b->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, err_len, "%s: body over %u bytes", url, NY_DIST_MAX_BODY);
		return -EFBIG;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, err_len, "%s: stopped", url);
		return -ECANCELED;
	}
	if (rc == CURLE_HTTP_RETURNED_ERROR) {
		snprintf(err, err_len, "%s: HTTP status %ld", url, status);
		return -EIO;
	}
	if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR) {
		snprintf(err, err_len, "%s: out of memory", url);
		return -ENOMEM;
	}
	snprintf(err, err_len, "%s: %s", url, *detail ? detail : curl_easy_strerror(rc));
	return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
}

static int fetch_http(const char *url, struct body *b, char *err, size_t err_len)
{
	char detail[CURL_ERROR_SIZE] = "", entry[320];
	struct curl_slist *resolve = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;
	int ret;

	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK || !(h = curl_easy_init())) {
		snprintf(err, err_len, "%s: libcurl failed to initialise", url);
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM around name lookups */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L); /* as Go's http.Get: up to 10 redirects */
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, NY_DIST_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, NY_DIST_TOTAL_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)NY_DIST_MAX_BODY); /* when Content-Length says */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, b);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "nylon/" NY_VERSION);
	/* node.yaml's dns_resolvers name the URL's host (reference §2.1): libcurl gets the answer. */
	ret = ny_dns_curl_resolve_entry(url, 0, entry, sizeof(entry));
	if (ret == 0 && (resolve = curl_slist_append(NULL, entry)))
		curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	if (ret < 0)
		snprintf(detail, sizeof(detail), "dns_resolvers: %s", ny_dns_strerror(ret));
	rc = ret < 0 ? CURLE_COULDNT_RESOLVE_HOST : ret == 0 && !resolve ? CURLE_OUT_OF_MEMORY : curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(resolve);
	if (rc != CURLE_OK)
		return curl_error(rc, status, b, url, detail, err, err_len);
	return 0;
}

int ny_dist_fetch(const char *url, const atomic_bool *stop, char **body, size_t *len, char *err, size_t err_len)
{
	struct body b = { .stop = stop };
	int ret;

	*body = NULL;
	*len = 0;
	if (strncmp(url, "file:", 5) == 0) {
		ret = fetch_file(url, &b, err, err_len);
	} else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
		ret = fetch_http(url, &b, err, err_len);
	} else {
		snprintf(err, err_len, "%s: unsupported scheme: expected file:, http:// or https://", url);
		return -EPROTONOSUPPORT;
	}
	if (ret == 0 && !b.buf && !(b.buf = malloc(1))) {
		snprintf(err, err_len, "%s: out of memory", url);
		ret = -ENOMEM;
	}
	if (ret < 0) {
		free(b.buf);
		return ret;
	}
	b.buf[b.len] = '\0';
	*body = b.buf;
	*len = b.len;
	return 0;
}
