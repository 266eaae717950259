/*
 * explore_sweep.c — sweep semantics of the reallm input format: lists are
 * alternatives, mappings multiply their keys' alternatives (first key
 * slowest, as itertools.product does), and `associated_explore: K` walks K's
 * list in step with the mappings keyed by K's values (and with lists of the
 * same length).  Counting never allocates, so an oversized sweep is refused
 * before anything is expanded.
 */
#include "explore/explore_yaml.h"

#include <string.h>

static acc_status count_map(const xnode *map, double *out, acc_error *err);
static acc_status expand_map(xarena *arena, const xnode *map, xnode ***out, size_t *n,
                             acc_error *err);

static const char ASSOCIATED_KEY[] = "associated_explore";

/* ---- associated exploration helpers ------------------------------------ */

typedef struct assoc {
    const xnode *driver_key_node; /* the `associated_explore` value */
    size_t driver_index;          /* index of key K in the mapping */
    const xnode *driver;          /* K's value */
    size_t n;                     /* number of steps */
} assoc;

static const xnode *driver_value(const assoc *a, size_t i)
{
    return a->driver->kind == XNODE_SEQ ? a->driver->items[i] : a->driver;
}

static acc_status assoc_find(const xnode *map, assoc *a, int *found, acc_error *err)
{
    *found = 0;
    const xnode *name = xnode_get(map, ASSOCIATED_KEY);
    if (!name)
        return ACC_OK;
    if (name->kind != XNODE_SCALAR)
        return xnode_error(err, name, "%s: expected the name of a key", ASSOCIATED_KEY);
    a->driver_key_node = name;
    a->driver = NULL;
    for (size_t i = 0; i < map->count; i++) {
        if (strcmp(map->keys[i]->text, name->text) == 0) {
            a->driver_index = i;
            a->driver = map->items[i];
        }
    }
    if (!a->driver || strcmp(name->text, ASSOCIATED_KEY) == 0)
        return xnode_error(err, name, "%s: no key '%s' in this mapping", ASSOCIATED_KEY,
                           name->text);
    if (a->driver->kind == XNODE_MAP)
        return xnode_error(err, a->driver, "%s: the associated key must be a list of values",
                           name->text);
    a->n = a->driver->kind == XNODE_SEQ ? a->driver->count : 1;
    if (a->n == 0)
        return xnode_error(err, a->driver, "%s: empty sweep (a list needs at least one value)",
                           name->text);
    for (size_t i = 0; i < a->n; i++)
        if (driver_value(a, i)->kind != XNODE_SCALAR)
            return xnode_error(err, driver_value(a, i),
                               "%s: values of an associated key must be scalars", name->text);
    *found = 1;
    return ACC_OK;
}

/* A mapping value is "keyed by the driver" when any of its keys is one of
 * the driver's values; then it must name every driver value. */
static int keyed_by_driver(const assoc *a, const xnode *value)
{
    if (value->kind != XNODE_MAP)
        return 0;
    for (size_t k = 0; k < value->count; k++)
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(value->keys[k]->text, driver_value(a, i)->text) == 0)
                return 1;
    return 0;
}

/* The value key index `k` takes at step i of the associated walk. */
static acc_status assoc_select(const assoc *a, const xnode *map, size_t k, size_t i,
                               const xnode **out, acc_error *err)
{
    const xnode *value = map->items[k];
    if (k == a->driver_index) {
        *out = driver_value(a, i);
        return ACC_OK;
    }
    if (keyed_by_driver(a, value)) {
        const xnode *picked = xnode_get(value, driver_value(a, i)->text);
        if (!picked)
            return xnode_error(err, value, "%s: no entry for associated value '%s'",
                               map->keys[k]->text, driver_value(a, i)->text);
        *out = picked;
        return ACC_OK;
    }
    if (value->kind == XNODE_SEQ && a->n > 1) {
        if (value->count != a->n)
            return xnode_error(err, value,
                               "%s: list of %zu values cannot be zipped with '%s' (%zu values)",
                               map->keys[k]->text, value->count, a->driver_key_node->text, a->n);
        *out = value->items[i];
        return ACC_OK;
    }
    *out = value;
    return ACC_OK;
}

/* ---- counting ----------------------------------------------------------- */

static acc_status count_value(const xnode *value, const char *key, double *out, acc_error *err)
{
    if (value->kind == XNODE_SCALAR) {
        *out = 1;
        return ACC_OK;
    }
    if (value->kind == XNODE_MAP)
        return count_map(value, out, err);
    if (value->count == 0)
        return xnode_error(err, value, "%s: empty sweep (a list needs at least one value)", key);
    double total = 0;
    for (size_t i = 0; i < value->count; i++) {
        double c = 1;
        if (value->items[i]->kind == XNODE_MAP) {
            acc_status status = count_map(value->items[i], &c, err);
            if (status)
                return status;
        }
        total += c;
    }
    *out = total;
    return ACC_OK;
}

static acc_status count_map(const xnode *map, double *out, acc_error *err)
{
    assoc a;
    int associated;
    acc_status status = assoc_find(map, &a, &associated, err);
    if (status)
        return status;
    if (!associated) {
        double product = 1;
        for (size_t k = 0; k < map->count; k++) {
            double c;
            if ((status = count_value(map->items[k], map->keys[k]->text, &c, err)))
                return status;
            product *= c;
        }
        *out = product;
        return ACC_OK;
    }
    double total = 0;
    for (size_t i = 0; i < a.n; i++) {
        double product = 1;
        for (size_t k = 0; k < map->count; k++) {
            if (strcmp(map->keys[k]->text, ASSOCIATED_KEY) == 0)
                continue;
            const xnode *value;
            double c;
            if ((status = assoc_select(&a, map, k, i, &value, err)) ||
                (status = count_value(value, map->keys[k]->text, &c, err)))
                return status;
            product *= c;
        }
        total += product;
    }
    *out = total;
    return ACC_OK;
}

acc_status xsweep_count(const xnode *map, double *out_count, acc_error *err)
{
    if (map->kind != XNODE_MAP)
        return count_value(map, "value", out_count, err);
    return count_map(map, out_count, err);
}

/* ---- expansion ---------------------------------------------------------- */

/* Growable list of node pointers in the arena (old blocks are simply left). */
typedef struct nlist {
    xnode **items;
    size_t n, cap;
} nlist;

static acc_status nlist_push(xarena *arena, nlist *list, xnode *node, acc_error *err)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        xnode **grown = xarena_alloc(arena, cap * sizeof *grown, err);
        if (!grown)
            return err ? err->status : ACC_ERR_RUNTIME;
        if (list->n)
            memcpy(grown, list->items, list->n * sizeof *grown);
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->n++] = node;
    return ACC_OK;
}

static acc_status expand_value(xarena *arena, const xnode *value, const char *key, nlist *out,
                               acc_error *err)
{
    out->n = 0;
    if (value->kind == XNODE_SCALAR)
        return nlist_push(arena, out, (xnode *)value, err);
    if (value->kind == XNODE_MAP) {
        xnode **variants;
        size_t n;
        acc_status status = expand_map(arena, value, &variants, &n, err);
        if (status)
            return status;
        out->items = variants;
        out->n = out->cap = n;
        return ACC_OK;
    }
    if (value->count == 0)
        return xnode_error(err, value, "%s: empty sweep (a list needs at least one value)", key);
    for (size_t i = 0; i < value->count; i++) {
        const xnode *item = value->items[i];
        if (item->kind == XNODE_MAP) {
            xnode **variants;
            size_t n;
            acc_status status = expand_map(arena, item, &variants, &n, err);
            if (status)
                return status;
            for (size_t j = 0; j < n; j++)
                if ((status = nlist_push(arena, out, variants[j], err)))
                    return status;
        } else {
            acc_status status = nlist_push(arena, out, (xnode *)item, err);
            if (status)
                return status;
        }
    }
    return ACC_OK;
}

/* Appends the cartesian product of alternatives[k] (k < nkeys) as mapping
 * nodes shaped like `shape` (position and keys), first key slowest. */
static acc_status append_product(xarena *arena, const xnode *shape, xnode **keys, size_t nkeys,
                                 nlist *alternatives, nlist *out, acc_error *err)
{
    size_t total = 1;
    for (size_t k = 0; k < nkeys; k++)
        total *= alternatives[k].n;
    size_t *index = xarena_alloc(arena, (nkeys ? nkeys : 1) * sizeof *index, err);
    if (!index)
        return err ? err->status : ACC_ERR_RUNTIME;
    for (size_t v = 0; v < total; v++) {
        xnode *node = xarena_alloc(arena, sizeof *node, err);
        if (!node)
            return err ? err->status : ACC_ERR_RUNTIME;
        *node = *shape;
        node->kind = XNODE_MAP;
        node->count = nkeys;
        node->keys = keys;
        node->items = xarena_alloc(arena, (nkeys ? nkeys : 1) * sizeof(xnode *), err);
        if (!node->items)
            return err ? err->status : ACC_ERR_RUNTIME;
        for (size_t k = 0; k < nkeys; k++)
            node->items[k] = alternatives[k].items[index[k]];
        acc_status status = nlist_push(arena, out, node, err);
        if (status)
            return status;
        /* odometer: the last key turns fastest */
        for (size_t k = nkeys; k-- > 0;) {
            if (++index[k] < alternatives[k].n)
                break;
            index[k] = 0;
        }
    }
    return ACC_OK;
}

static acc_status expand_map(xarena *arena, const xnode *map, xnode ***out, size_t *n,
                             acc_error *err)
{
    assoc a;
    int associated;
    acc_status status = assoc_find(map, &a, &associated, err);
    if (status)
        return status;
    size_t cap = map->count ? map->count : 1;
    xnode **keys = xarena_alloc(arena, cap * sizeof *keys, err);
    size_t *source = xarena_alloc(arena, cap * sizeof *source, err);
    nlist *alternatives = xarena_alloc(arena, cap * sizeof *alternatives, err);
    if (!keys || !source || !alternatives)
        return err ? err->status : ACC_ERR_RUNTIME;
    size_t nkeys = 0;
    for (size_t k = 0; k < map->count; k++) {
        if (associated && strcmp(map->keys[k]->text, ASSOCIATED_KEY) == 0)
            continue;
        keys[nkeys] = map->keys[k];
        source[nkeys++] = k;
    }
    nlist result = {0};
    size_t steps = associated ? a.n : 1;
    for (size_t i = 0; i < steps; i++) {
        for (size_t j = 0; j < nkeys; j++) {
            const xnode *value = map->items[source[j]];
            if (associated && (status = assoc_select(&a, map, source[j], i, &value, err)))
                return status;
            alternatives[j] = (nlist){0};
            if ((status = expand_value(arena, value, keys[j]->text, &alternatives[j], err)))
                return status;
        }
        if ((status = append_product(arena, map, keys, nkeys, alternatives, &result, err)))
            return status;
    }
    *out = result.items;
    *n = result.n;
    return ACC_OK;
}

acc_status xsweep_expand(xarena *arena, const xnode *map, xnode ***out_variants,
                         size_t *out_count, acc_error *err)
{
    if (map->kind != XNODE_MAP)
        return xnode_error(err, map, "expected a mapping");
    return expand_map(arena, map, out_variants, out_count, err);
}

const xnode *xsweep_first_list(const xnode *node)
{
    if (node->kind == XNODE_SEQ && node->count > 1)
        return node;
    if (node->kind == XNODE_SCALAR)
        return NULL;
    for (size_t i = 0; i < node->count; i++) {
        const xnode *found = xsweep_first_list(node->items[i]);
        if (found)
            return found;
    }
    return NULL;
}
