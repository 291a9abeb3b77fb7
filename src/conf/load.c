/* Loading configuration files: read (at most 1 MiB, as nylon since #107), parse, expand, validate. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/internal.h"

int ny_conf_read_file(const char *path, char **text, size_t *len, struct ny_conf_report *r)
{
	const struct ny_conf_pos nowhere = { 0, 0 };
	size_t cap = NY_CONF_MAX_FILE_SIZE + 1, n = 0;
	char *buf;
	int fd, ret = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		ny_conf_report_add(r, NY_CONF_ERROR, path, nowhere, "", "cannot open: %s", strerror(-ret));
		return ret;
	}
	/* One byte more than allowed tells an oversized file (or pipe) from one of exactly 1 MiB. */
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (n < cap) {
		ssize_t got = read(fd, buf + n, cap - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			ny_conf_report_add(r, NY_CONF_ERROR, path, nowhere, "", "cannot read: %s", strerror(-ret));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > NY_CONF_MAX_FILE_SIZE) {
		ret = -EFBIG;
		ny_conf_report_add(r, NY_CONF_ERROR, path, nowhere, "", "file is larger than %d bytes: expected at most 1 MiB",
				   NY_CONF_MAX_FILE_SIZE);
		goto out;
	}
	*text = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

int ny_conf_central_load_text(struct ny_conf_central **out, const char *name, const char *text, size_t len,
			      struct ny_conf_report *r)
{
	size_t errors = r->n_errors;
	int ret;

	*out = NULL;
	ret = ny_conf_central_parse(out, name, text, len, r);
	if (ret == 0)
		ret = ny_conf_central_expand(*out);
	if (ret == 0)
		ret = ny_conf_central_validate(*out, r);
	if (ret == 0 && r->n_errors > errors)
		ret = -EINVAL;
	if (ret) {
		ny_conf_central_free(*out);
		*out = NULL;
	}
	return ret;
}

int ny_conf_central_load(struct ny_conf_central **out, const char *path, struct ny_conf_report *r)
{
	char *text;
	size_t len;
	int ret;

	*out = NULL;
	ret = ny_conf_read_file(path, &text, &len, r);
	if (ret)
		return ret;
	ret = ny_conf_central_load_text(out, path, text, len, r);
	free(text);
	return ret;
}

int ny_conf_node_load(struct ny_conf_node **out, const char *path, const struct ny_conf_central *central,
		      struct ny_conf_report *r)
{
	struct ny_conf_node *n = NULL;
	char *text;
	size_t len;
	int ret;

	*out = NULL;
	ret = ny_conf_read_file(path, &text, &len, r);
	if (ret)
		return ret;
	ret = ny_conf_node_parse(&n, path, text, len, r);
	ny_crypto_wipe(text, len); /* it holds the private key */
	free(text);
	if (ret)
		return ret;
	ret = ny_conf_node_validate(n, central, r);
	if (ret) {
		ny_conf_node_free(n);
		return ret;
	}
	*out = n;
	return 0;
}
