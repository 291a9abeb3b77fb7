/* A thin walker over a libyaml document that knows where it is: every helper reports its problems with the file,
 * line, column and field path, keeps going, and counts node visits so that alias expansion cannot run away
 * (a "billion laughs" document is refused, not expanded). libyaml stays inside src/conf/. */
#ifndef NYLON_CONF_YDOC_H
#define NYLON_CONF_YDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "conf/internal.h"

#define NY_CONF_Y_BUDGET 2000000 /* node visits per document; a 1 MiB file without aliases needs far fewer */

struct ny_conf_y {
	yaml_document_t doc;
	bool loaded;
	const char *file;
	struct ny_conf_report *r;
	char path[512];
	size_t path_len;
	long budget;
	int err; /* first fatal error (-ENOMEM, -E2BIG); parsing stops when set */
};

struct ny_conf_y_field {
	const char *key;
	bool required;
	int (*parse)(struct ny_conf_y *y, yaml_node_t *value, void *obj);
};

/* Loads the first document of text. Returns 0, or -EINVAL with the syntax error reported. */
int ny_conf_y_open(struct ny_conf_y *y, const char *file, const char *text, size_t len, struct ny_conf_report *r);
void ny_conf_y_close(struct ny_conf_y *y);
yaml_node_t *ny_conf_y_root(struct ny_conf_y *y);
/* Loads text and walks its root as a mapping of fields into obj. Returns 0, -ENOMEM, or -EINVAL when anything was
 * reported as an error (a YAML syntax error, a bad field, a spent visit budget). */
int ny_conf_y_parse(const char *file, const char *text, size_t len, const struct ny_conf_y_field *fields, size_t n,
		    void *obj, struct ny_conf_report *r);

struct ny_conf_pos ny_conf_y_pos(const yaml_node_t *node);
__attribute__((format(printf, 3, 4)))
void ny_conf_y_error(struct ny_conf_y *y, const yaml_node_t *node, const char *fmt, ...);

/* Field path handling: push returns the length to pop back to. */
size_t ny_conf_y_push_key(struct ny_conf_y *y, const char *key);
size_t ny_conf_y_push_index(struct ny_conf_y *y, size_t index);
void ny_conf_y_pop(struct ny_conf_y *y, size_t len);

bool ny_conf_y_is_null(const yaml_node_t *node);
/* A scalar's text, or NULL (reported) for a mapping, a sequence or a text with a NUL byte. */
const char *ny_conf_y_scalar(struct ny_conf_y *y, yaml_node_t *node, const char *expected);
/* Walks a mapping: known keys go to their field's parser under their path, unknown keys are warnings, missing
 * required keys and duplicate keys are errors. A null node is an empty mapping. Returns 0 or y->err. */
int ny_conf_y_mapping(struct ny_conf_y *y, yaml_node_t *node, const struct ny_conf_y_field *fields, size_t n,
		      void *obj);
/* The items of a sequence (null = empty). Returns the number of items, or 0 with an error for another kind. */
size_t ny_conf_y_sequence(struct ny_conf_y *y, yaml_node_t *node, yaml_node_item_t **items);
yaml_node_t *ny_conf_y_node(struct ny_conf_y *y, yaml_node_item_t item);
/* Charges one node visit; false once the budget is spent (reported once). */
bool ny_conf_y_charge(struct ny_conf_y *y, const yaml_node_t *node);

/* Typed values. Each returns 0 or -EINVAL (reported at the node), or -ENOMEM. */
int ny_conf_y_string(struct ny_conf_y *y, yaml_node_t *node, char **out);
int ny_conf_y_bool(struct ny_conf_y *y, yaml_node_t *node, bool *out);
int ny_conf_y_uint(struct ny_conf_y *y, yaml_node_t *node, uint64_t max, uint64_t *out);
int ny_conf_y_int64(struct ny_conf_y *y, yaml_node_t *node, int64_t *out);
int ny_conf_y_duration(struct ny_conf_y *y, yaml_node_t *node, int64_t *out);
int ny_conf_y_key(struct ny_conf_y *y, yaml_node_t *node, uint8_t key[NY_KEY_LEN], const char *what);
int ny_conf_y_addr(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_addr *out);
int ny_conf_y_cidr(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_cidr *out);
int ny_conf_y_cidr_list(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_cidr **out, size_t *n);
int ny_conf_y_string_list(struct ny_conf_y *y, yaml_node_t *node, struct ny_conf_strlist *out);
void ny_conf_strlist_clear(struct ny_conf_strlist *l);

#endif
