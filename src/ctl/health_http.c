/* The http check (reference §5.2): one GET with timeout `delay`; status 200 passes. The body is read to the end
 * and thrown away (nylon #134 leaked connections by not draining it), capped so that a huge or endless body
 * cannot keep a monitor busy. libcurl stays in this file. */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>

#include "nylon/base.h"
#include "nylon/dns.h"
#include "nylon/health.h"

struct transfer {
	size_t body;
	int stop_fd;
};

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	(void)data;
	t->body += n;
	return t->body > NY_HEALTH_HTTP_BODY_MAX ? 0 : n; /* 0 aborts with CURLE_WRITE_ERROR */
}

/* libcurl calls it at least once a second, during connect too: a stopping monitor gives up within that. */
static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = arg;
	struct pollfd p = { .fd = t->stop_fd, .events = POLLIN };

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return t->stop_fd >= 0 && poll(&p, 1, 0) > 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

/* curl_global_init is not thread-safe in older libcurl: once per process, before the first handle. */
static void init_curl(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ny_health_http_get(const char *url, int64_t timeout_ns, int stop_fd, uint64_t *elapsed_ns, long *status)
{
	struct transfer t = { 0, stop_fd };
	long code = 0, timeout_ms = (long)(timeout_ns / 1000000);
	uint64_t start;
	struct curl_slist *resolve = NULL;
	char entry[320];
	CURLcode rc;
	CURL *c;
	int ret;

	pthread_once(&curl_once, init_curl);
	if (curl_init_result != CURLE_OK || !(c = curl_easy_init()))
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "nylon-healthcheck/" NY_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	start = ny_clock_mono_ns();
	/* node.yaml's dns_resolvers name the URL's host (reference §2.1): libcurl gets the answer. */
	ret = ny_dns_curl_resolve_entry(url, (uint32_t)(timeout_ms > 0 ? timeout_ms : 1), entry, sizeof(entry));
	if (ret == 0 && (resolve = curl_slist_append(NULL, entry)))
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	rc = ret < 0 ? CURLE_COULDNT_RESOLVE_HOST : ret == 0 && !resolve ? CURLE_OUT_OF_MEMORY : curl_easy_perform(c);
	*elapsed_ns = ny_clock_mono_ns() - start;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
	if (status)
		*status = code;
	switch (rc) {
	case CURLE_OK:
		ret = code == 200 ? 0 : -EPROTO;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		ret = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_CONNECT:
		ret = -ECONNREFUSED;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		ret = -EHOSTUNREACH;
		break;
	case CURLE_WRITE_ERROR:
		ret = -EMSGSIZE;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		ret = -ECANCELED;
		break;
	default:
		ret = -EIO;
		break;
	}
	return ret;
}
