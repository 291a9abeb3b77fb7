/* `nylon seal` and `nylon open` (reference §1, §5.1): config bundles for distribution.
 *
 * seal: load and validate central.yaml (errors printed as `verify` prints them), set its timestamp to now in
 * unix ns (ny_bundle_stamp: the file's text with the timestamp set, see nylon/bundle.h), validate that text,
 * sign and encrypt it with the distribution private key, and write the bundle atomically with mode 0600
 * (temporary file, fsync, rename). Prints nothing on success, as the Go implementation.
 *
 * open: decrypt and verify a bundle with the distribution public key, validate the config inside, print the YAML
 * on stdout and `Bundle is valid` on stderr. The Go implementation prints both on stderr (reference §9.4); the
 * YAML goes to stdout here so that `nylon open KEY > central.yaml` works.
 *
 * Exit status: 0 success, 1 `Error: ...` (invalid config, bad key, bad bundle, I/O), 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "nylon/bundle.h"
#include "nylon/conf.h"
#include "nylon/crypto.h"
#include "nylon/dist.h"

#define EXIT_FAILED 1
#define KEY_FILE_MAX 1024 /* a key is 44 characters; the cap bounds a wrong path (a huge file, a device) */

#define DEFAULT_CENTRAL "central.yaml"
#define DEFAULT_KEY "central.key"
#define DEFAULT_BUNDLE "central.nybundle"

static const char seal_usage[] =
	"Validate a central config, set its timestamp to now, sign it with the distribution private key and\n"
	"encrypt it for the network, and write the bundle (mode 0600).\n"
	"\n"
	"Usage:\n"
	"  nylon seal [flags]\n"
	"\n"
	"Flags:\n"
	"  -c, --config string   central config to seal (default \"" DEFAULT_CENTRAL "\")\n"
	"  -h, --help            help for seal\n"
	"  -k, --key string      distribution private key (default \"" DEFAULT_KEY "\")\n"
	"  -o, --output string   bundle to write (default \"" DEFAULT_BUNDLE "\")\n";

static const char open_usage[] =
	"Decrypt a bundle, verify its signature with the distribution public key and validate the config inside.\n"
	"The config is printed on stdout, \"Bundle is valid\" on stderr.\n"
	"\n"
	"Usage:\n"
	"  nylon open <dist-pubkey> [flags]\n"
	"\n"
	"Flags:\n"
	"  -h, --help           help for open\n"
	"  -i, --input string   bundle to open (default \"" DEFAULT_BUNDLE "\")\n";

/* A command's flags: each takes one value, as -x VALUE, --long VALUE or --long=VALUE. */
struct flag {
	char short_name;
	const char *long_name;
	const char **value;
};

struct args {
	const char *positional;
	bool help;
};

__attribute__((format(printf, 3, 4))) static int usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Error: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return -EINVAL;
}

/* Parses argv against flags; at most max_positional (0 or 1) positional argument. */
static int parse_args(int argc, char **argv, const struct flag *flags, size_t n_flags, int max_positional,
		      const char *usage, struct args *a)
{
	bool flags_done = false;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct flag *f = NULL;
		const char *value = NULL;

		if (!flags_done && strcmp(arg, "--") == 0) {
			flags_done = true;
			continue;
		}
		if (!flags_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			a->help = true;
			continue;
		}
		if (flags_done || arg[0] != '-' || arg[1] == '\0') {
			if (a->positional || max_positional == 0)
				return usage_error(argv[0], usage, "unexpected argument \"%s\"", arg);
			a->positional = arg;
			continue;
		}
		for (size_t k = 0; k < n_flags && !f; k++) {
			size_t n = strlen(flags[k].long_name);

			if (arg[1] == flags[k].short_name && arg[2] == '\0') {
				f = &flags[k];
			} else if (arg[1] == '-' && strncmp(arg + 2, flags[k].long_name, n) == 0) {
				if (arg[2 + n] == '\0') {
					f = &flags[k];
				} else if (arg[2 + n] == '=') {
					f = &flags[k];
					value = arg + 3 + n;
				}
			}
		}
		if (!f)
			return usage_error(argv[0], usage, "unknown flag: %s", arg);
		if (!value) {
			if (i + 1 >= argc)
				return usage_error(argv[0], usage, "flag needs an argument: %s", arg);
			value = argv[++i];
		}
		*f->value = value;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads a whole file of at most cap bytes into a new NUL-terminated buffer. -EFBIG when larger. */
static int read_file(const char *path, size_t cap, char **out, size_t *len)
{
	size_t n = 0;
	char *buf;
	int fd, ret = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap + 2);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	/* One byte more than allowed tells an oversized file from one of exactly cap bytes. */
	while (n < cap + 1) {
		ssize_t got = read(fd, buf + n, cap + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (ret == 0 && n > cap)
		ret = -EFBIG;
	if (ret) {
		ny_crypto_wipe(buf, n);
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* The distribution private key: one base64 key, surrounding whitespace allowed. Never echoed. */
static int read_private_key(const char *path, uint8_t key[NY_KEY_LEN])
{
	char *text;
	size_t len, start = 0;
	int ret = read_file(path, KEY_FILE_MAX, &text, &len);

	if (ret == -EFBIG) {
		fprintf(stderr, "Error: seal: %s: not a key: longer than %d bytes\n", path, KEY_FILE_MAX);
		return ret;
	}
	if (ret) {
		fprintf(stderr, "Error: seal: cannot read the distribution key %s: %s\n", path, strerror(-ret));
		return ret;
	}
	while (start < len && is_space(text[start]))
		start++;
	while (len > start && is_space(text[len - 1]))
		len--;
	ret = ny_key_from_base64(key, text + start, len - start);
	if (ret)
		fprintf(stderr, "Error: seal: %s: expected a private key (44 characters of base64, as `nylon key` "
				"writes)\n",
			path);
	ny_crypto_wipe(text, len);
	free(text);
	return ret;
}

/* Parses, expands and validates a central config text; prints the report (errors, or warnings with quiet off). */
static int validate_text(const char *name, const char *text, size_t len, bool quiet)
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;
	int ret;

	ny_conf_report_init(&r);
	ret = ny_conf_central_load_text(&c, name, text, len, &r);
	if (ret) {
		if (r.n_errors == 0)
			fprintf(stderr, "Error: %s: %s\n", name, strerror(-ret));
		ny_cli_print_report(&r);
	} else if (!quiet) {
		ny_cli_print_report(&r);
	}
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
	return ret;
}

static int64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A central config whose dist.key is not the sealing key's public key makes bundles its nodes cannot open. */
static void warn_dist_key(const char *text, size_t len, const uint8_t priv[NY_KEY_LEN])
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;
	uint8_t pub[NY_KEY_LEN];

	ny_conf_report_init(&r);
	if (ny_conf_central_parse(&c, "central.yaml", text, len, &r) == 0 && c->has_dist) {
		ny_crypto_x25519_public(pub, priv);
		if (!ny_crypto_equal(pub, c->dist_key, NY_KEY_LEN))
			fputs("warning: seal: the key is not the private key of the config's dist.key: nodes that "
			      "follow dist.key will not open this bundle\n",
			      stderr);
	}
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

int ny_cli_seal(int argc, char **argv)
{
	const char *config = DEFAULT_CENTRAL, *key_path = DEFAULT_KEY, *output = DEFAULT_BUNDLE;
	const struct flag flags[] = {
		{ 'c', "config", &config },
		{ 'k', "key", &key_path },
		{ 'o', "output", &output },
	};
	char *text = NULL, *stamped = NULL, *b64 = NULL;
	size_t len = 0, stamped_len = 0;
	uint8_t priv[NY_KEY_LEN];
	char err[256];
	struct args a;
	int status = EXIT_FAILED, ret;

	if (parse_args(argc, argv, flags, sizeof(flags) / sizeof(flags[0]), 0, seal_usage, &a))
		return NY_CLI_EXIT_USAGE;
	if (a.help) {
		fputs(seal_usage, stdout);
		return 0;
	}
	if (ny_crypto_init()) {
		fputs("Error: seal: cannot initialise the crypto library (libsodium)\n", stderr);
		return EXIT_FAILED;
	}

	ret = read_file(config, NY_CONF_MAX_FILE_SIZE, &text, &len);
	if (ret) {
		fprintf(stderr, "Error: seal: cannot read %s: %s\n", config,
			ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret));
		goto out;
	}
	if (validate_text(config, text, len, false))
		goto out;
	ret = ny_bundle_stamp(text, len, now_unix_ns(), &stamped, &stamped_len, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "Error: seal: %s: %s\n", config, ret == -ENOMEM ? strerror(ENOMEM) : err);
		goto out;
	}
	/* What is signed is what was validated: the stamped text itself. */
	if (validate_text(config, stamped, stamped_len, true))
		goto out;
	if (read_private_key(key_path, priv))
		goto out_key;
	warn_dist_key(stamped, stamped_len, priv);
	ret = ny_bundle_seal(stamped, stamped_len, priv, &b64);
	if (ret) {
		fprintf(stderr, "Error: seal: %s\n",
			ret == -EFBIG ? "the config with its timestamp is larger than 1 MiB" : strerror(-ret));
		goto out_key;
	}
	ret = ny_dist_write_atomic(output, b64, strlen(b64));
	if (ret) {
		fprintf(stderr, "Error: seal: cannot write %s: %s\n", output, strerror(-ret));
		goto out_key;
	}
	status = 0;
out_key:
	ny_crypto_wipe(priv, sizeof(priv));
out:
	free(b64);
	free(stamped);
	free(text);
	return status;
}

int ny_cli_open(int argc, char **argv)
{
	const char *input = DEFAULT_BUNDLE;
	const struct flag flags[] = {
		{ 'i', "input", &input },
	};
	char *text = NULL, *yaml = NULL;
	size_t len = 0, yaml_len = 0;
	uint8_t pub[NY_KEY_LEN];
	char err[256];
	struct args a;
	int status = EXIT_FAILED, ret;

	if (parse_args(argc, argv, flags, sizeof(flags) / sizeof(flags[0]), 1, open_usage, &a))
		return NY_CLI_EXIT_USAGE;
	if (a.help) {
		fputs(open_usage, stdout);
		return 0;
	}
	if (!a.positional) {
		usage_error(argv[0], open_usage, "missing the distribution public key argument");
		return NY_CLI_EXIT_USAGE;
	}
	if (ny_crypto_init()) {
		fputs("Error: open: cannot initialise the crypto library (libsodium)\n", stderr);
		return EXIT_FAILED;
	}
	if (ny_key_from_base64(pub, a.positional, strlen(a.positional))) {
		fprintf(stderr, "Error: open: invalid distribution public key \"%s\": expected 44 characters of "
				"base64\n",
			a.positional);
		return EXIT_FAILED;
	}

	/* Line breaks do not count towards the size limit; allow some beyond the base64 itself. */
	ret = read_file(input, NY_BUNDLE_MAX_BASE64 + NY_BUNDLE_MAX_BASE64 / 32, &text, &len);
	if (ret) {
		fprintf(stderr, "Error: open: cannot read %s: %s\n", input,
			ret == -EFBIG ? "too large for a bundle of 1 MiB of YAML" : strerror(-ret));
		goto out;
	}
	ret = ny_bundle_open(text, len, pub, &yaml, &yaml_len, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "Error: open: %s: %s\n", input, ret == -ENOMEM ? strerror(ENOMEM) : err);
		goto out;
	}
	if (validate_text(input, yaml, yaml_len, false))
		goto out;
	if (fwrite(yaml, 1, yaml_len, stdout) != yaml_len) {
		perror("Error: open: writing to stdout");
		goto out;
	}
	if (yaml_len > 0 && yaml[yaml_len - 1] != '\n')
		putchar('\n');
	fflush(stdout);
	fputs("Bundle is valid\n", stderr);
	status = 0;
out:
	free(yaml);
	free(text);
	return status;
}
