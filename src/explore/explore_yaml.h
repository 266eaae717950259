/*
 * explore_yaml.h — the explorer's view of a YAML file: a tree of scalars,
 * sequences and mappings, each node carrying the file and line:column it came
 * from so that every later error (unknown key, wrong type, bad sweep) can point
 * at the offending text.  Also the sweep expander: a list means "try each",
 * `associated_explore` zips lists instead of multiplying them.
 *
 * All nodes live in one arena and are freed together.
 */
#ifndef ACCINF_EXPLORE_YAML_H
#define ACCINF_EXPLORE_YAML_H

#include "accinf/base.h"

#include <stddef.h>

/* A bump allocator: many small nodes, one free. */
typedef struct xarena_block xarena_block;
typedef struct xarena {
    xarena_block *head;
    size_t used_bytes;  /* total handed out, for budgets */
    size_t limit_bytes; /* 0 = unlimited */
} xarena;

void *xarena_alloc(xarena *arena, size_t size, acc_error *err);
char *xarena_strdup(xarena *arena, const char *text, size_t len, acc_error *err);
void xarena_free(xarena *arena);

typedef enum xnode_kind { XNODE_SCALAR = 0, XNODE_SEQ, XNODE_MAP } xnode_kind;

typedef struct xnode xnode;
struct xnode {
    xnode_kind kind;
    const char *file; /* display name, shared */
    int line, column; /* 1-based */
    /* scalar */
    const char *text;
    int quoted; /* quoted scalars are always strings */
    /* sequence: items[count]; mapping: keys[count] (scalars) -> items[count] */
    size_t count;
    xnode **keys;
    xnode **items;
};

/* Parses YAML text (first document) into a tree.  Syntax errors come back as
 * "FILE:LINE:COL: ..." with status ACC_ERR_INPUT.  Aliases are expanded under
 * a node budget so that "billion laughs" inputs fail cleanly. */
acc_status xyaml_parse(xarena *arena, const char *file, const char *text, size_t size,
                       xnode **out_root, acc_error *err);

/* Sets err to "FILE:LINE:COL: <message>" for node and returns ACC_ERR_INPUT. */
acc_status xnode_error(acc_error *err, const xnode *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Mapping lookup by key text; NULL when absent. */
xnode *xnode_get(const xnode *map, const char *key);

/* Typed reads of a scalar; errors name the node position and field. */
acc_status xnode_number(const xnode *node, const char *field, double *out, acc_error *err);
acc_status xnode_bool(const xnode *node, const char *field, int *out, acc_error *err);
acc_status xnode_string(const xnode *node, const char *field, char *out, size_t cap,
                        acc_error *err);
/* 1 if a plain scalar spells null (~, null, empty). */
int xnode_is_null(const xnode *node);

/* --- sweeps ---------------------------------------------------------------
 * Counting and expansion follow one rule set:
 *  - a sequence is a sweep over its elements; an element that is a mapping
 *    is itself expanded and contributes all its variants; an element that is
 *    a sequence is one value (e.g. eval_len: [[256, 64], [64, 256]]);
 *  - a mapping is the cartesian product of its keys, first key slowest;
 *  - a mapping with `associated_explore: K` walks the list K in step: values
 *    that are mappings keyed by K's values pick the entry for the current
 *    value, lists as long as K are zipped, and what is left is multiplied;
 *  - an empty sequence is an error (empty sweep). */
acc_status xsweep_count(const xnode *map, double *out_count, acc_error *err);
acc_status xsweep_expand(xarena *arena, const xnode *map, xnode ***out_variants,
                         size_t *out_count, acc_error *err);
/* The first sequence with more than one element under node (for pointing an
 * error at the sweep), or node itself. */
const xnode *xsweep_first_list(const xnode *node);

#endif
