/*
 * explore_yaml.c — YAML text to a positioned node tree (through libyaml's
 * document loader), an arena for the nodes, and typed scalar reads whose
 * errors say FILE:LINE:COL.  Scalars follow YAML 1.1 as PyYAML reads the
 * reallm inputs: quoted scalars are strings; True/False are booleans.
 */
#include "explore/explore_yaml.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Aliases make a small file expand into a huge tree; these bound the work. */
#define XYAML_MAX_NODES 200000
#define XYAML_MAX_DEPTH 64

/* ---- arena ---------------------------------------------------------------- */

struct xarena_block {
    xarena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *xarena_alloc(xarena *arena, size_t size, acc_error *err)
{
    size = (size + 15u) & ~(size_t)15u;
    if (arena->limit_bytes && arena->used_bytes + size > arena->limit_bytes) {
        acc_error_set(err, ACC_ERR_INPUT, "input expands to more than %zu MiB of configuration",
                      arena->limit_bytes >> 20);
        return NULL;
    }
    xarena_block *block = arena->head;
    if (!block || block->cap - block->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        block = malloc(sizeof *block + cap);
        if (!block) {
            acc_error_set(err, ACC_ERR_RUNTIME, "out of memory (%zu bytes)", cap);
            return NULL;
        }
        block->used = 0;
        block->cap = cap;
        block->next = arena->head;
        arena->head = block;
    }
    void *out = block->data + block->used;
    block->used += size;
    arena->used_bytes += size;
    memset(out, 0, size);
    return out;
}

char *xarena_strdup(xarena *arena, const char *text, size_t len, acc_error *err)
{
    char *copy = xarena_alloc(arena, len + 1, err);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}

void xarena_free(xarena *arena)
{
    xarena_block *block = arena->head;
    while (block) {
        xarena_block *next = block->next;
        free(block);
        block = next;
    }
    arena->head = NULL;
    arena->used_bytes = 0;
}

/* ---- errors ------------------------------------------------------------- */

acc_status xnode_error(acc_error *err, const xnode *node, const char *fmt, ...)
{
    char what[768];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    if (node)
        return acc_error_set(err, ACC_ERR_INPUT, "%s:%d:%d: %s", node->file, node->line,
                             node->column, what);
    return acc_error_set(err, ACC_ERR_INPUT, "%s", what);
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct convert_state {
    xarena *arena;
    yaml_document_t *doc;
    const char *file;
    size_t nodes;
    acc_error *err;
} convert_state;

static xnode *convert_node(convert_state *st, yaml_node_t *src, int depth)
{
    xnode probe = {.file = st->file,
                   .line = (int)src->start_mark.line + 1,
                   .column = (int)src->start_mark.column + 1};
    if (depth > XYAML_MAX_DEPTH) {
        xnode_error(st->err, &probe, "nesting deeper than %d levels (recursive alias?)",
                    XYAML_MAX_DEPTH);
        return NULL;
    }
    if (++st->nodes > XYAML_MAX_NODES) {
        xnode_error(st->err, &probe, "more than %d YAML nodes after expanding aliases",
                    XYAML_MAX_NODES);
        return NULL;
    }
    xnode *node = xarena_alloc(st->arena, sizeof *node, st->err);
    if (!node)
        return NULL;
    *node = probe;
    switch (src->type) {
    case YAML_SCALAR_NODE: {
        const char *value = (const char *)src->data.scalar.value;
        size_t length = src->data.scalar.length;
        if (memchr(value, '\0', length)) {
            xnode_error(st->err, node, "NUL character in a scalar");
            return NULL;
        }
        node->kind = XNODE_SCALAR;
        node->text = xarena_strdup(st->arena, value, length, st->err);
        if (!node->text)
            return NULL;
        node->quoted = src->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        return node;
    }
    case YAML_SEQUENCE_NODE: {
        node->kind = XNODE_SEQ;
        size_t count = (size_t)(src->data.sequence.items.top - src->data.sequence.items.start);
        node->count = count;
        node->items = xarena_alloc(st->arena, (count ? count : 1) * sizeof(xnode *), st->err);
        if (!node->items)
            return NULL;
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *child = yaml_document_get_node(st->doc, src->data.sequence.items.start[i]);
            if (!child || !(node->items[i] = convert_node(st, child, depth + 1)))
                return child ? NULL : (xnode_error(st->err, node, "dangling YAML node"), NULL);
        }
        return node;
    }
    case YAML_MAPPING_NODE: {
        node->kind = XNODE_MAP;
        size_t count = (size_t)(src->data.mapping.pairs.top - src->data.mapping.pairs.start);
        node->count = count;
        node->keys = xarena_alloc(st->arena, (count ? count : 1) * sizeof(xnode *), st->err);
        node->items = xarena_alloc(st->arena, (count ? count : 1) * sizeof(xnode *), st->err);
        if (!node->keys || !node->items)
            return NULL;
        for (size_t i = 0; i < count; i++) {
            yaml_node_pair_t *pair = &src->data.mapping.pairs.start[i];
            yaml_node_t *key = yaml_document_get_node(st->doc, pair->key);
            yaml_node_t *value = yaml_document_get_node(st->doc, pair->value);
            if (!key || !value) {
                xnode_error(st->err, node, "dangling YAML node");
                return NULL;
            }
            if (!(node->keys[i] = convert_node(st, key, depth + 1)))
                return NULL;
            if (node->keys[i]->kind != XNODE_SCALAR) {
                xnode_error(st->err, node->keys[i], "mapping keys must be plain scalars");
                return NULL;
            }
            for (size_t j = 0; j < i; j++) {
                if (strcmp(node->keys[j]->text, node->keys[i]->text) == 0) {
                    xnode_error(st->err, node->keys[i], "duplicate key '%s' (first at line %d)",
                                node->keys[i]->text, node->keys[j]->line);
                    return NULL;
                }
            }
            if (!(node->items[i] = convert_node(st, value, depth + 1)))
                return NULL;
        }
        return node;
    }
    default:
        xnode_error(st->err, node, "empty YAML node");
        return NULL;
    }
}

acc_status xyaml_parse(xarena *arena, const char *file, const char *text, size_t size,
                       xnode **out_root, acc_error *err)
{
    *out_root = NULL;
    const char *name = xarena_strdup(arena, file, strlen(file), err);
    if (!name)
        return err ? err->status : ACC_ERR_RUNTIME;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot initialise the YAML parser", file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
        acc_status status = acc_error_set(
            err, parser.error == YAML_MEMORY_ERROR ? ACC_ERR_RUNTIME : ACC_ERR_INPUT,
            "%s:%d:%d: YAML syntax error: %s%s%s", file, (int)parser.problem_mark.line + 1,
            (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "unknown",
            parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return status;
    }
    acc_status status = ACC_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s:1:1: empty YAML document", file);
    } else {
        convert_state st = {.arena = arena, .doc = &doc, .file = name, .err = err};
        *out_root = convert_node(&st, root, 0);
        if (!*out_root)
            status = err ? err->status : ACC_ERR_INPUT;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return status;
}

/* ---- lookups and typed reads ------------------------------------------- */

xnode *xnode_get(const xnode *map, const char *key)
{
    if (!map || map->kind != XNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return map->items[i];
    return NULL;
}

static const char *kind_name(const xnode *node)
{
    return node->kind == XNODE_SEQ ? "a list" : node->kind == XNODE_MAP ? "a mapping" : "a scalar";
}

int xnode_is_null(const xnode *node)
{
    if (!node || node->kind != XNODE_SCALAR || node->quoted)
        return 0;
    const char *t = node->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

/* YAML 1.1 booleans as PyYAML resolves them. */
static int bool_word(const char *t, int *value)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (!strcmp(t, yes[i])) {
            *value = 1;
            return 1;
        }
        if (!strcmp(t, no[i])) {
            *value = 0;
            return 1;
        }
    }
    return 0;
}

acc_status xnode_number(const xnode *node, const char *field, double *out, acc_error *err)
{
    if (node->kind != XNODE_SCALAR)
        return xnode_error(err, node, "%s: expected a number, got %s", field, kind_name(node));
    if (node->quoted)
        return xnode_error(err, node, "%s: expected a number, got the string '%.40s'", field,
                           node->text);
    int flag;
    if (xnode_is_null(node))
        return xnode_error(err, node, "%s: expected a number, got null", field);
    if (bool_word(node->text, &flag))
        return xnode_error(err, node, "%s: expected a number, got the boolean %s", field,
                           node->text);
    /* Digits may be grouped with '_' (YAML 1.1); hex and other bases are not numbers here. */
    char buf[128];
    size_t n = 0;
    for (const char *p = node->text; *p; p++) {
        if (*p == '_')
            continue;
        if (n + 1 >= sizeof buf || !(isdigit((unsigned char)*p) || strchr("+-.eE", *p)))
            return xnode_error(err, node, "%s: expected a number, got '%.40s'", field,
                               node->text);
        buf[n++] = *p;
    }
    buf[n] = '\0';
    char *end = NULL;
    double value = strtod(buf, &end);
    if (n == 0 || !end || *end != '\0' || !isfinite(value))
        return xnode_error(err, node, "%s: expected a number, got '%.40s'", field, node->text);
    *out = value;
    return ACC_OK;
}

acc_status xnode_bool(const xnode *node, const char *field, int *out, acc_error *err)
{
    if (node->kind != XNODE_SCALAR)
        return xnode_error(err, node, "%s: expected true or false, got %s", field,
                           kind_name(node));
    if (node->quoted || !bool_word(node->text, out))
        return xnode_error(err, node, "%s: expected true or false, got '%.40s'", field,
                           node->text);
    return ACC_OK;
}

acc_status xnode_string(const xnode *node, const char *field, char *out, size_t cap,
                        acc_error *err)
{
    if (node->kind != XNODE_SCALAR)
        return xnode_error(err, node, "%s: expected a string, got %s", field, kind_name(node));
    size_t len = strlen(node->text);
    if (len + 1 > cap)
        return xnode_error(err, node, "%s: longer than %zu characters", field, cap - 1);
    memcpy(out, node->text, len + 1);
    return ACC_OK;
}
