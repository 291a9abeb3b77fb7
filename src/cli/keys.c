/* `nylon key`, `nylon genkey`, `nylon pubkey`: X25519 keys in WireGuard's base64 text form, byte-for-byte
 * interchangeable with `wg genkey` and `wg pubkey`.
 *
 * Private keys go through read(2) and write(2) rather than stdio, so that no copy is left behind in a stdio
 * buffer we cannot wipe; every buffer that held one is wiped on every path. */
#include "nylon/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "nylon/crypto.h"

/* A key is 44 characters; the cap only bounds what we read from a pipe that never ends (`< /dev/zero`). */
#define PUBKEY_INPUT_MAX 1024

static const char key_usage[] =
	"Generate a clamped X25519 private key. The private key is printed in base64 on stdout and its public key\n"
	"on stderr, so that `nylon key > node.key` stores the secret and shows the public key.\n"
	"\n"
	"Usage:\n"
	"  nylon key [flags]\n"
	"\n"
	"Flags:\n"
	"  -h, --help   help for key\n";

static const char genkey_usage[] =
	"Generate a clamped X25519 private key and print it in base64 on stdout, like `wg genkey`.\n"
	"\n"
	"Usage:\n"
	"  nylon genkey [flags]\n"
	"\n"
	"Flags:\n"
	"  -h, --help   help for genkey\n";

static const char pubkey_usage[] =
	"Read a base64 private key on stdin and print its public key in base64 on stdout, like `wg pubkey`.\n"
	"\n"
	"Usage:\n"
	"  nylon pubkey [flags] < private.key\n"
	"\n"
	"Flags:\n"
	"  -h, --help   help for pubkey\n";

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the key's base64 and a newline to fd. */
static int write_key(int fd, const uint8_t key[NY_KEY_LEN])
{
	char line[NY_KEY_BASE64_LEN + 2];
	int ret;

	ny_key_to_base64(line, key);
	line[NY_KEY_BASE64_LEN] = '\n';
	ret = write_all(fd, line, NY_KEY_BASE64_LEN + 1);
	ny_crypto_wipe(line, sizeof(line));
	return ret;
}

/* Reads all of stdin into buf, up to cap bytes. Returns 0, -EFBIG when there is more, or -errno. */
static int read_stdin(char *buf, size_t cap, size_t *len)
{
	*len = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + *len, cap - *len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len == cap) {
			/* Full: one more byte says whether the input was exactly cap long or longer. */
			char extra;

			do
				n = read(STDIN_FILENO, &extra, 1);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return -errno;
			return n == 0 ? 0 : -EFBIG;
		}
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* What every key command does first: read its arguments, then start the crypto library. Returns -1 to go on, or
 * the exit status to return now (0 after --help, NY_CLI_EXIT_USAGE, or 1 when the library cannot start). */
static int start(int argc, char **argv, const char *usage)
{
	bool help;

	if (ny_cli_parse_no_args(argc, argv, usage, &help) < 0)
		return NY_CLI_EXIT_USAGE;
	if (help)
		return 0;
	if (ny_crypto_init() < 0) {
		fprintf(stderr, "Error: %s: cannot initialise the crypto library (libsodium)\n", argv[0]);
		return 1;
	}
	return -1;
}

/* key and genkey: a fresh private key on stdout, and for key its public key on stderr. */
static int generate(int argc, char **argv, const char *usage, bool with_public)
{
	uint8_t priv[NY_KEY_LEN];
	uint8_t pub[NY_KEY_LEN];
	int ret = start(argc, argv, usage);

	if (ret >= 0)
		return ret;

	ny_crypto_x25519_generate(priv);
	ret = write_key(STDOUT_FILENO, priv);
	if (ret < 0) {
		fprintf(stderr, "Error: %s: writing the private key: %s\n", argv[0], strerror(-ret));
		goto out;
	}
	if (with_public) {
		ny_crypto_x25519_public(pub, priv);
		ret = write_key(STDERR_FILENO, pub);
		/* Nowhere left to report a failure to write to stderr; the exit status says it. */
	}
out:
	ny_crypto_wipe(priv, sizeof(priv));
	return ret < 0 ? 1 : 0;
}

int ny_cli_key(int argc, char **argv)
{
	return generate(argc, argv, key_usage, true);
}

int ny_cli_genkey(int argc, char **argv)
{
	return generate(argc, argv, genkey_usage, false);
}

/* Decodes the private key in text[0..len), after trimming surrounding whitespace (a trailing newline from `echo`
 * or a file, \r\n from Windows). Reports what is wrong without echoing the input: it is meant to be a secret. */
static int parse_private(uint8_t priv[NY_KEY_LEN], const char *text, size_t len)
{
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;

	if (len == 0) {
		fputs("Error: pubkey: invalid private key: expected 44 characters of base64 on stdin, got nothing\n",
		      stderr);
		return -EINVAL;
	}
	if (len != NY_KEY_BASE64_LEN) {
		fprintf(stderr, "Error: pubkey: invalid private key: expected 44 characters of base64, got %zu\n", len);
		return -EINVAL;
	}
	if (ny_key_from_base64(priv, text, len) < 0) {
		fputs("Error: pubkey: invalid private key: expected 44 characters of base64 ending in '=', "
		      "got other characters\n",
		      stderr);
		return -EINVAL;
	}
	return 0;
}

int ny_cli_pubkey(int argc, char **argv)
{
	char input[PUBKEY_INPUT_MAX];
	uint8_t priv[NY_KEY_LEN];
	uint8_t pub[NY_KEY_LEN];
	size_t len = 0;
	int ret = start(argc, argv, pubkey_usage);

	if (ret >= 0)
		return ret;

	ret = read_stdin(input, sizeof(input), &len);
	if (ret == -EFBIG) {
		fprintf(stderr, "Error: pubkey: invalid private key: input is longer than %d bytes\n", PUBKEY_INPUT_MAX);
		goto out;
	}
	if (ret < 0) {
		fprintf(stderr, "Error: pubkey: reading stdin: %s\n", strerror(-ret));
		goto out;
	}
	ret = parse_private(priv, input, len);
	if (ret < 0)
		goto out;

	ny_crypto_x25519_public(pub, priv);
	ret = write_key(STDOUT_FILENO, pub);
	if (ret < 0)
		fprintf(stderr, "Error: pubkey: writing the public key: %s\n", strerror(-ret));
out:
	ny_crypto_wipe(input, sizeof(input));
	ny_crypto_wipe(priv, sizeof(priv));
	return ret < 0 ? 1 : 0;
}
