/* contrib/examples: the example mesh loads and validates through the same code as `nylon verify central.yaml
 * --node node-X.yaml`, each node's private key belongs to its router, node-a's hooks split into programs, and the
 * phone's stock WireGuard file matches its client entry and router a. The repository root is found from
 * NY_TEST_DATA (<root>/test/data). */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/conf.h"
#include "nylon/crypto.h"
#include "nylon/hooks.h"

static char examples[PATH_MAX];
static struct ny_conf_central *central;

static void load_central(void)
{
	const char *data = getenv("NY_TEST_DATA");
	char root[PATH_MAX], path[PATH_MAX + 32];
	struct ny_conf_report r;

	cr_assert_not_null(data, "NY_TEST_DATA is not set (run through ctest)");
	snprintf(root, sizeof(root), "%s", data);
	snprintf(examples, sizeof(examples), "%s/contrib/examples", dirname(dirname(root)));
	cr_assert_eq(ny_crypto_init(), 0);
	snprintf(path, sizeof(path), "%s/central.yaml", examples);
	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_load(&central, path, &r), 0);
	ny_conf_report_print(&r, NY_CONF_WARNING, stderr);
	cr_assert_eq(r.n_errors + r.n_warnings, 0, "central.yaml is not clean");
	ny_conf_report_free(&r);
}

static void free_central(void)
{
	ny_conf_central_free(central);
}

TestSuite(contrib, .init = load_central, .fini = free_central);

static const struct ny_conf_peer *peer(const char *id)
{
	long i = ny_conf_central_find(central, id);

	cr_assert_geq(i, 0, "no %s in central.yaml", id);
	return ny_conf_central_peer(central, (size_t)i);
}

Test(contrib, the_mesh_is_three_routers_and_a_phone)
{
	cr_assert_eq(central->n_routers, 3);
	cr_assert_eq(central->n_clients, 1);
	cr_assert(peer("phone")->is_client);
	cr_assert(ny_conf_central_adjacent(central, (size_t)ny_conf_central_find(central, "a"),
					   (size_t)ny_conf_central_find(central, "phone")));
	cr_assert(ny_conf_central_adjacent(central, (size_t)ny_conf_central_find(central, "b"),
					   (size_t)ny_conf_central_find(central, "c")));
}

Test(contrib, every_node_file_validates_and_holds_its_routers_key)
{
	static const char *const ids[] = { "a", "b", "c" };

	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX + 32];
		struct ny_conf_report r;
		struct ny_conf_node *node = NULL;
		uint8_t pub[NY_KEY_LEN];

		snprintf(path, sizeof(path), "%s/node-%s.yaml", examples, ids[i]);
		ny_conf_report_init(&r);
		cr_assert_eq(ny_conf_node_load(&node, path, central, &r), 0, "%s", path);
		ny_conf_report_print(&r, NY_CONF_WARNING, stderr);
		cr_assert_eq(r.n_errors + r.n_warnings, 0, "%s is not clean", path);
		ny_conf_report_free(&r);
		cr_assert_str_eq(node->id, ids[i]);
		ny_crypto_x25519_public(pub, node->key);
		cr_assert(memcmp(pub, peer(ids[i])->pubkey, NY_KEY_LEN) == 0, "%s: key of another node", path);
		for (size_t h = 0; h < node->post_up.n; h++) {
			char **argv;
			size_t argc;

			cr_assert_eq(ny_hook_split(node->post_up.v[h], &argv, &argc), 0);
			cr_assert_str_neq(argv[argc - 1], "", "a trailing space would pass an empty argument");
			free(argv);
		}
		ny_conf_node_free(node);
	}
}

/* The value of `Key = value` in phone.conf. */
static void wg_value(const char *text, const char *key, char *out, size_t len)
{
	char pattern[64];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\n%s = ", key);
	p = strstr(text, pattern);
	cr_assert_not_null(p, "phone.conf has no %s", key);
	p += strlen(pattern);
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

Test(contrib, the_phone_file_matches_its_client_and_router_a)
{
	char path[PATH_MAX + 32], text[4096], value[128], want[NY_KEY_BASE64_LEN + 1];
	uint8_t key[NY_KEY_LEN], pub[NY_KEY_LEN];
	struct ny_conf_addr addr;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/phone.conf", examples);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);

	wg_value(text, "PrivateKey", value, sizeof(value));
	cr_assert_eq(ny_key_from_base64(key, value, strlen(value)), 0);
	ny_crypto_x25519_public(pub, key);
	cr_assert(memcmp(pub, peer("phone")->pubkey, NY_KEY_LEN) == 0, "PrivateKey is not the phone's");
	wg_value(text, "PublicKey", value, sizeof(value));
	ny_key_to_base64(want, peer("a")->pubkey);
	cr_assert_str_eq(value, want, "the phone's peer is not router a");
	wg_value(text, "Endpoint", value, sizeof(value));
	cr_assert_str_eq(value, peer("a")->endpoints[0].text);
	wg_value(text, "Address", value, sizeof(value));
	cr_assert(strlen(value) > 3 && strcmp(value + strlen(value) - 3, "/32") == 0);
	value[strlen(value) - 3] = '\0';
	cr_assert_eq(ny_conf_addr_parse(&addr, value), 0);
	cr_assert(memcmp(&addr, &peer("phone")->addresses[0], sizeof(addr)) == 0, "Address is not the phone's");
}
