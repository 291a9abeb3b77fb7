/* Config bundles (reference §5.1): a central.yaml signed with the distribution key and encrypted for the network,
 * byte-compatible with the Go implementation's `nylon seal` / `nylon open` and its bundle repos.
 *
 *   bundle = base64(nonce(24) || XChaCha20-Poly1305(key = dist public key, nonce, ad = "", sig(64) || yaml))
 *   sig    = XEdDSA(dist private key, yaml, 64 random bytes)
 *
 * Standard base64 with padding and no line breaks. The AEAD key is the distribution *public* key, a shared secret
 * of the network: it gives confidentiality against outsiders; only the private key can sign.
 *
 * What is signed. Go marshals its parsed config struct; we cannot reproduce yaml.v3's output byte for byte and do
 * not need to, since open only parses the YAML. So seal signs the file's own text with the timestamp set
 * (ny_bundle_stamp): the value of a top-level `timestamp` key is replaced in place, or a `timestamp: <ns>` line is
 * inserted before the first top-level key (inside the braces of a flow mapping), and every other byte - comments,
 * key order, prefixes (nylon #136) - is kept. Open accepts any YAML, Go's included.
 *
 * All functions are reentrant; results are malloc'd and owned by the caller.
 */
#ifndef NYLON_BUNDLE_H
#define NYLON_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "nylon/conf.h"
#include "nylon/crypto.h"
#include "nylon/xeddsa.h"

#define NY_BUNDLE_MAX_YAML NY_CONF_MAX_FILE_SIZE /* the config inside: 1 MiB, as a central.yaml file */
#define NY_BUNDLE_OVERHEAD (NY_XAEAD_NONCE_LEN + NY_AEAD_TAG_LEN + NY_XEDDSA_SIG_LEN) /* 104 bytes */
#define NY_BUNDLE_MAX_RAW (NY_BUNDLE_MAX_YAML + NY_BUNDLE_OVERHEAD)
#define NY_BUNDLE_MAX_BASE64 (((NY_BUNDLE_MAX_RAW + 2) / 3) * 4) /* base64 characters, line breaks not counted */

/* Signs and encrypts yaml[0..len) (already stamped and validated by the caller) with the distribution X25519
 * private key. *b64_out is a NUL-terminated string (free()). Returns 0, -EFBIG (yaml over NY_BUNDLE_MAX_YAML),
 * -ENOMEM. The private key and every secret intermediate are wiped. */
int ny_bundle_seal(const char *yaml, size_t len, const uint8_t dist_priv[NY_KEY_LEN], char **b64_out);

/* Decodes, decrypts and verifies a bundle's text with the distribution public key. Line breaks (\r, \n) in the
 * text are ignored, as Go's base64 decoder does; anything else outside the standard alphabet, bad padding or
 * non-zero padding bits are errors. On success *yaml_out is the NUL-terminated YAML (free()) and *yaml_len its
 * length; the YAML is not parsed or validated here. On failure a one-line reason is written to err and:
 *   -EINVAL        not base64, or shorter than a bundle can be
 *   -EFBIG         more than NY_BUNDLE_MAX_YAML of YAML (refused before the text is decoded)
 *   -EBADMSG       the AEAD tag does not verify: the wrong distribution key, or a modified bundle
 *   -EKEYREJECTED  the signature does not verify: not signed by this distribution key
 *   -ENOMEM */
int ny_bundle_open(const char *b64, size_t len, const uint8_t dist_pub[NY_KEY_LEN], char **yaml_out,
		   size_t *yaml_len, char *err, size_t err_len);

/* Sets the top-level `timestamp` of a central.yaml text to timestamp (unix ns), as described above. On success
 * *out (NUL-terminated, free()) and *out_len are the new text, which is checked to parse with that timestamp.
 * Returns 0, -EINVAL with a reason in err (not YAML, top level not a mapping, a timestamp value that cannot be
 * replaced in place), -ENOMEM. */
int ny_bundle_stamp(const char *yaml, size_t len, int64_t timestamp, char **out, size_t *out_len, char *err,
		    size_t err_len);

#endif
