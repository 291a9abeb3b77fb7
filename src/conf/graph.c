/* The peering graph (reference §2.3, ParseGraph): group definitions `name = a, b, G2` and clique lines
 * `x, y, z`, expanded into a sorted list of unique node pairs. Groups nest, may be used before their definition,
 * and are expanded in dependency order; a cycle is an error that names its groups. Expansion is iterative and
 * bounded, because a 1 MiB file could otherwise ask for billions of pairs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

#define MAX_EDGES (1u << 22)        /* pairs in the expanded graph */
#define MAX_SET_ENTRIES (1u << 24)  /* node entries over all expanded groups */

struct sym {
	const char *name;
	bool is_group;
	size_t index; /* node index, or group index */
};

struct line {
	char *buf;        /* the line split in place */
	char *group;      /* the defined group, or NULL for a clique line */
	char **syms;
	size_t n_syms;
	struct sym *res;  /* resolved symbols */
	struct ny_conf_pos pos;
	size_t number;
};

struct group {
	const char *name;
	struct line *def;
	size_t *nodes;    /* expanded members, sorted and unique */
	size_t n_nodes;
	int state;        /* 0 new, 1 on the stack, 2 expanded */
};

struct id_ref {
	const char *id;
	size_t index;
};

struct graph {
	const char *file;
	struct ny_conf_report *r;
	struct line *lines;
	size_t n_lines;
	struct id_ref *id_order; /* node ids sorted by name */
	size_t n_ids;
	struct group *groups;
	size_t n_groups;
	size_t set_entries;
	struct ny_conf_edge *edges;
	size_t n_edges, cap_edges;
	bool failed;
	int err; /* -ENOMEM */
};

__attribute__((format(printf, 3, 4)))
static void report(struct graph *g, const struct line *l, const char *fmt, ...)
{
	char path[40];
	va_list ap;

	snprintf(path, sizeof(path), "graph[%zu]", l->number);
	va_start(ap, fmt);
	if (ny_conf_report_vadd(g->r, NY_CONF_ERROR, g->file, l->pos, path, fmt, ap))
		g->err = -ENOMEM;
	va_end(ap);
	g->failed = true;
}

static char *trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/* Splits a comma-separated list in place. */
static int split_list(struct line *l, char *s)
{
	size_t n = 1;

	for (char *p = s; *p; p++)
		n += *p == ',';
	l->syms = calloc(n, sizeof(*l->syms));
	l->res = calloc(n, sizeof(*l->res));
	if (!l->syms || !l->res)
		return -ENOMEM;
	for (char *tok = s;; l->n_syms++) {
		char *comma = strchr(tok, ',');

		if (comma)
			*comma = '\0';
		l->syms[l->n_syms] = trim(tok);
		if (!comma) {
			l->n_syms++;
			break;
		}
		tok = comma + 1;
	}
	return 0;
}

static bool list_empty(const struct line *l)
{
	return l->n_syms == 1 && l->syms[0][0] == '\0';
}

static int split_line(struct graph *g, struct line *l)
{
	char *eq = strchr(l->buf, '=');
	char q[NY_CONF_QUOTE_LEN];

	if (eq && strchr(eq + 1, '=')) {
		report(g, l, "invalid group definition %s: expected exactly one '='", ny_conf_quote(q, l->buf));
		return 0;
	}
	if (eq) {
		*eq = '\0';
		l->group = trim(l->buf);
		if (split_list(l, eq + 1))
			return -ENOMEM;
		if (l->group[0] == '\0')
			report(g, l, "invalid group definition: expected a name before '='");
		else if (list_empty(l))
			report(g, l, "group %s is an empty list: expected at least one member",
			       ny_conf_quote(q, l->group));
		return 0;
	}
	if (split_list(l, l->buf))
		return -ENOMEM;
	if (list_empty(l))
		report(g, l, "empty list: expected symbols such as \"a, b\"");
	else if (l->n_syms < 2)
		report(g, l, "invalid pairing %s: expected at least 2 symbols", ny_conf_quote(q, l->syms[0]));
	return 0;
}

static int id_ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct id_ref *)a)->id, ((const struct id_ref *)b)->id);
}

static long find_id(const struct graph *g, const char *name)
{
	size_t lo = 0, hi = g->n_ids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(g->id_order[mid].id, name);

		if (c == 0)
			return (long)g->id_order[mid].index;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->name, ((const struct group *)b)->name);
}

static long find_group(const struct graph *g, const char *name)
{
	struct group key = { .name = name };
	struct group *found = g->n_groups ? bsearch(&key, g->groups, g->n_groups, sizeof(key), group_cmp) : NULL;

	return found ? found - g->groups : -1;
}

static int collect_groups(struct graph *g)
{
	char q[NY_CONF_QUOTE_LEN];
	size_t n = 0;

	g->groups = calloc(g->n_lines ? g->n_lines : 1, sizeof(*g->groups));
	if (!g->groups)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_lines; i++) {
		struct line *l = &g->lines[i];

		if (!l->group || !l->group[0])
			continue;
		if (find_id(g, l->group) >= 0) {
			report(g, l, "group name %s is also a node id: expected a name that is not a router or "
				     "client", ny_conf_quote(q, l->group));
			continue;
		}
		g->groups[n].name = l->group;
		g->groups[n++].def = l;
	}
	g->n_groups = n;
	/* Sorted by name; a duplicate is reported on its later line. */
	qsort(g->groups, n, sizeof(*g->groups), group_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(g->groups[i].name, g->groups[i - 1].name)) {
			const struct line *a = g->groups[i - 1].def, *b = g->groups[i].def;

			report(g, a->number > b->number ? a : b, "duplicate group %s: expected each group defined "
								  "once", ny_conf_quote(q, g->groups[i].name));
		}
	}
	return 0;
}

static void resolve(struct graph *g)
{
	char q[NY_CONF_QUOTE_LEN];

	for (size_t i = 0; i < g->n_lines; i++) {
		struct line *l = &g->lines[i];

		for (size_t j = 0; j < l->n_syms; j++) {
			long k;

			if (list_empty(l))
				break;
			if (l->syms[j][0] == '\0') {
				report(g, l, "empty symbol in the list: expected a node id or group name");
				continue;
			}
			if ((k = find_id(g, l->syms[j])) >= 0) {
				l->res[j] = (struct sym){ l->syms[j], false, (size_t)k };
			} else if ((k = find_group(g, l->syms[j])) >= 0) {
				l->res[j] = (struct sym){ l->syms[j], true, (size_t)k };
			} else {
				report(g, l, "unknown symbol %s: expected a router, a client or a group",
				       ny_conf_quote(q, l->syms[j]));
			}
		}
	}
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The members of a group whose member groups are all expanded. */
static int expand_one(struct graph *g, struct group *gr)
{
	const struct line *l = gr->def;
	size_t total = 0, k = 0;

	for (size_t j = 0; j < l->n_syms; j++)
		total += l->res[j].is_group ? g->groups[l->res[j].index].n_nodes : 1;
	if (g->set_entries + total > MAX_SET_ENTRIES) {
		report(g, l, "graph too large: groups expand to more than %u node entries", MAX_SET_ENTRIES);
		return -E2BIG;
	}
	gr->nodes = malloc((total ? total : 1) * sizeof(size_t));
	if (!gr->nodes)
		return -ENOMEM;
	for (size_t j = 0; j < l->n_syms; j++) {
		const struct sym *s = &l->res[j];

		if (!s->is_group) {
			gr->nodes[k++] = s->index;
			continue;
		}
		memcpy(gr->nodes + k, g->groups[s->index].nodes, g->groups[s->index].n_nodes * sizeof(size_t));
		k += g->groups[s->index].n_nodes;
	}
	qsort(gr->nodes, k, sizeof(size_t), size_cmp);
	gr->n_nodes = 0;
	for (size_t j = 0; j < k; j++) {
		if (!gr->n_nodes || gr->nodes[gr->n_nodes - 1] != gr->nodes[j])
			gr->nodes[gr->n_nodes++] = gr->nodes[j];
	}
	g->set_entries += gr->n_nodes;
	gr->state = 2;
	return 0;
}

static void report_cycle(struct graph *g, const size_t *stack, size_t top, size_t from)
{
	size_t len = 1, off = 0;
	char *msg;

	for (size_t i = from; i < top; i++)
		len += strlen(g->groups[stack[i]].name) + 4;
	len += strlen(g->groups[stack[from]].name);
	msg = malloc(len);
	if (!msg) {
		g->err = -ENOMEM;
		return;
	}
	for (size_t i = from; i < top; i++)
		off += (size_t)snprintf(msg + off, len - off, "%s -> ", g->groups[stack[i]].name);
	snprintf(msg + off, len - off, "%s", g->groups[stack[from]].name);
	report(g, g->groups[stack[from]].def, "group cycle: %s", msg);
	free(msg);
}

/* Depth-first over the group dependencies with an explicit stack (a chain of groups may be very long). */
static int expand_groups(struct graph *g)
{
	size_t *stack = malloc((g->n_groups + 1) * sizeof(size_t) * 2);
	int ret = 0;

	if (!stack)
		return -ENOMEM;
	for (size_t s = 0; s < g->n_groups && !ret; s++) {
		size_t top = 0;
		size_t *next = stack + g->n_groups + 1; /* next member to visit, per stack slot */

		if (g->groups[s].state)
			continue;
		stack[top] = s;
		next[top++] = 0;
		g->groups[s].state = 1;
		while (top && !ret) {
			struct group *gr = &g->groups[stack[top - 1]];
			const struct line *l = gr->def;
			size_t j = next[top - 1]++;
			struct group *h;

			if (j >= l->n_syms) {
				ret = expand_one(g, gr);
				top--;
				continue;
			}
			if (!l->res[j].is_group)
				continue;
			h = &g->groups[l->res[j].index];
			if (h->state == 1) {
				size_t from = 0;

				while (stack[from] != l->res[j].index)
					from++;
				report_cycle(g, stack, top, from);
				ret = -ELOOP;
			} else if (h->state == 0) {
				h->state = 1;
				stack[top] = l->res[j].index;
				next[top++] = 0;
			}
		}
	}
	free(stack);
	return ret;
}

static int add_edge(struct graph *g, const struct line *l, size_t a, size_t b)
{
	struct ny_conf_edge *e;

	if (a == b) /* self-pairs are dropped */
		return 0;
	if (g->n_edges == g->cap_edges) {
		size_t cap = g->cap_edges ? g->cap_edges * 2 : 16;

		if (g->n_edges >= MAX_EDGES) {
			report(g, l, "graph too large: more than %u pairs", MAX_EDGES);
			return -E2BIG;
		}
		e = realloc(g->edges, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		g->edges = e;
		g->cap_edges = cap;
	}
	g->edges[g->n_edges++] = (struct ny_conf_edge){ a < b ? a : b, a < b ? b : a };
	return 0;
}

static void members(const struct graph *g, const struct sym *s, const size_t **v, size_t *n)
{
	if (s->is_group) {
		*v = g->groups[s->index].nodes;
		*n = g->groups[s->index].n_nodes;
	} else {
		*v = &s->index;
		*n = 1;
	}
}

/* A clique line: every member of each symbol with every member of each later symbol. */
static int connect_line(struct graph *g, const struct line *l)
{
	for (size_t i = 0; i < l->n_syms; i++) {
		for (size_t j = i + 1; j < l->n_syms; j++) {
			const size_t *va, *vb;
			size_t na, nb;

			members(g, &l->res[i], &va, &na);
			members(g, &l->res[j], &vb, &nb);
			for (size_t x = 0; x < na; x++) {
				for (size_t y = 0; y < nb; y++) {
					int ret = add_edge(g, l, va[x], vb[y]);

					if (ret)
						return ret;
				}
			}
		}
	}
	return 0;
}

static int edge_cmp(const void *pa, const void *pb)
{
	const struct ny_conf_edge *a = pa, *b = pb;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

static int build(struct graph *g, const struct ny_conf_graph_line *in)
{
	int ret;

	for (size_t i = 0; i < g->n_lines; i++) {
		g->lines[i].buf = strdup(in[i].text);
		g->lines[i].pos = in[i].pos;
		g->lines[i].number = i;
		if (!g->lines[i].buf || split_line(g, &g->lines[i]))
			return -ENOMEM;
	}
	if ((ret = collect_groups(g)))
		return ret;
	resolve(g);
	if (g->failed)
		return -EINVAL;
	if ((ret = expand_groups(g)))
		return ret;
	for (size_t i = 0; i < g->n_lines; i++) {
		if (!g->lines[i].group && (ret = connect_line(g, &g->lines[i])))
			return ret;
	}
	if (g->n_edges)
		qsort(g->edges, g->n_edges, sizeof(*g->edges), edge_cmp);
	/* duplicate pairs are merged */
	size_t n = 0;
	for (size_t i = 0; i < g->n_edges; i++) {
		if (!n || edge_cmp(&g->edges[n - 1], &g->edges[i]))
			g->edges[n++] = g->edges[i];
	}
	g->n_edges = n;
	return 0;
}

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n_lines; i++) {
		free(g->lines[i].buf);
		free(g->lines[i].syms);
		free(g->lines[i].res);
	}
	free(g->lines);
	for (size_t i = 0; i < g->n_groups; i++)
		free(g->groups[i].nodes);
	free(g->groups);
	free(g->id_order);
	free(g->edges);
}

int ny_conf_graph_expand(const struct ny_conf_graph_line *lines, size_t n_lines, const char *const *ids,
			 size_t n_ids, const char *file, struct ny_conf_edge **edges, size_t *n_edges,
			 struct ny_conf_report *r)
{
	struct graph g = { .file = file, .r = r, .n_lines = n_lines, .n_ids = n_ids };
	int ret = -ENOMEM;

	*edges = NULL;
	*n_edges = 0;
	g.lines = calloc(n_lines ? n_lines : 1, sizeof(*g.lines));
	g.id_order = malloc((n_ids ? n_ids : 1) * sizeof(*g.id_order));
	if (!g.lines || !g.id_order)
		goto out;
	for (size_t i = 0; i < n_ids; i++)
		g.id_order[i] = (struct id_ref){ ids[i], i };
	qsort(g.id_order, n_ids, sizeof(*g.id_order), id_ref_cmp);
	ret = build(&g, lines);
	if (!ret && g.err)
		ret = g.err;
	if (!ret && g.failed)
		ret = -EINVAL;
	if (!ret) {
		*edges = g.edges;
		*n_edges = g.n_edges;
		g.edges = NULL;
	} else if (ret != -ENOMEM) {
		ret = -EINVAL;
	}
out:
	graph_free(&g);
	return ret;
}
