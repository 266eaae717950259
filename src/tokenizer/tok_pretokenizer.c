/*
 * tok_pretokenizer.c — HF pre-tokenizers: Sequence, ByteLevel (GPT-2
 * regex and byte -> unicode mapping), Split (regex or string, every split
 * behavior, invert), Metaspace (prepend schemes first/always/never),
 * Digits, Whitespace and WhitespaceSplit.  They cut the untokenized pieces
 * further and may rewrite their text.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char WHITESPACE_PATTERN[] = "\\w+|[^\\w\\s]+";

typedef enum pre_kind {
    PRE_SEQUENCE,
    PRE_BYTELEVEL,
    PRE_SPLIT,
    PRE_METASPACE,
    PRE_DIGITS,
    PRE_WHITESPACE_SPLIT,
} pre_kind;

typedef enum prepend_scheme { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } prepend_scheme;

struct tok_pretokenizer {
    pre_kind kind;
    tok_pretokenizer **children;
    size_t n_children;
    /* ByteLevel */
    int add_prefix_space, use_regex;
    tok_bytelevel_map bytes;
    /* Split (ByteLevel's regex and Whitespace too) */
    tok_regex *regex;
    tok_split_behavior behavior;
    int invert;
    /* Metaspace */
    uint32_t replacement;
    char replacement_utf8[4];
    size_t replacement_len;
    prepend_scheme prepend;
    int split;
    /* Digits */
    int individual_digits;
};

void tok_pretokenizer_free(tok_pretokenizer *pre)
{
    if (!pre)
        return;
    for (size_t i = 0; i < pre->n_children; i++)
        tok_pretokenizer_free(pre->children[i]);
    free(pre->children);
    tok_regex_free(pre->regex);
    free(pre);
}

static acc_status load_behavior(const tok_ctx *ctx, json_t *json, const char *field,
                                tok_split_behavior *out)
{
    static const struct {
        const char *name;
        tok_split_behavior behavior;
    } names[] = {
        {"Removed", TOK_SPLIT_REMOVED},
        {"Isolated", TOK_SPLIT_ISOLATED},
        {"MergedWithPrevious", TOK_SPLIT_MERGED_WITH_PREVIOUS},
        {"MergedWithNext", TOK_SPLIT_MERGED_WITH_NEXT},
        {"Contiguous", TOK_SPLIT_CONTIGUOUS},
    };
    const char *text;
    char path[300];
    snprintf(path, sizeof path, "%s.behavior", field);
    if (tok_json_string(ctx, json, "behavior", field, &text, NULL) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!text)
        return tok_json_error(ctx, path, "missing");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0) {
            *out = names[i].behavior;
            return ACC_OK;
        }
    return tok_json_error(ctx, path, "unsupported '%s'", text);
}

static acc_status load_metaspace(const tok_ctx *ctx, json_t *json, const char *field,
                                 tok_pretokenizer *pre)
{
    if (tok_json_char(ctx, json, "replacement", field, &pre->replacement) != ACC_OK)
        return ACC_ERR_INPUT;
    pre->replacement_len = tok_utf8_encode(pre->replacement, pre->replacement_utf8);
    const char *scheme;
    if (tok_json_string(ctx, json, "prepend_scheme", field, &scheme, NULL) != ACC_OK)
        return ACC_ERR_INPUT;
    pre->prepend = PREPEND_ALWAYS;
    if (scheme && strcmp(scheme, "first") == 0)
        pre->prepend = PREPEND_FIRST;
    else if (scheme && strcmp(scheme, "never") == 0)
        pre->prepend = PREPEND_NEVER;
    else if (scheme && strcmp(scheme, "always") != 0) {
        char path[300];
        snprintf(path, sizeof path, "%s.prepend_scheme", field);
        return tok_json_error(ctx, path, "unsupported '%s'", scheme);
    }
    /* Files from before prepend_scheme existed say add_prefix_space. */
    json_t *legacy = json_object_get(json, "add_prefix_space");
    if (json_is_false(legacy))
        pre->prepend = PREPEND_NEVER;
    return tok_json_bool(ctx, json, "split", field, 1, &pre->split);
}

static acc_status load_sequence(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                                tok_pretokenizer *pre)
{
    json_t *list;
    if (tok_json_list(ctx, json, "pretokenizers", field, &list) != ACC_OK)
        return ACC_ERR_INPUT;
    pre->children = acc_calloc(json_array_size(list), sizeof *pre->children, ctx->err);
    if (!pre->children)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < json_array_size(list); i++) {
        char path[256];
        snprintf(path, sizeof path, "%s.pretokenizers[%zu]", field, i);
        acc_status st = tok_pretokenizer_load(ctx, json_array_get(list, i), path, depth + 1,
                                              &pre->children[pre->n_children]);
        if (st != ACC_OK)
            return st;
        if (pre->children[pre->n_children])
            pre->n_children++;
    }
    return ACC_OK;
}

acc_status tok_pretokenizer_load(const tok_ctx *ctx, json_t *json, const char *field,
                                 int depth, tok_pretokenizer **out)
{
    *out = NULL;
    const char *type;
    if (tok_json_component(ctx, json, field, depth, &type) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!type)
        return ACC_OK;
    tok_pretokenizer *pre = acc_calloc(1, sizeof *pre, ctx->err);
    if (!pre)
        return ACC_ERR_RUNTIME;
    acc_status st = ACC_OK;
    if (strcmp(type, "Sequence") == 0) {
        pre->kind = PRE_SEQUENCE;
        st = load_sequence(ctx, json, field, depth, pre);
    } else if (strcmp(type, "ByteLevel") == 0) {
        pre->kind = PRE_BYTELEVEL;
        pre->behavior = TOK_SPLIT_ISOLATED;
        tok_bytelevel_map_init(&pre->bytes);
        st = tok_json_bool(ctx, json, "add_prefix_space", field, 1, &pre->add_prefix_space);
        if (st == ACC_OK)
            st = tok_json_bool(ctx, json, "use_regex", field, 1, &pre->use_regex);
        if (st == ACC_OK && pre->use_regex)
            st = tok_regex_compile(GPT2_PATTERN, strlen(GPT2_PATTERN), 0, ctx->name, field,
                                   &pre->regex, ctx->err);
    } else if (strcmp(type, "Split") == 0) {
        pre->kind = PRE_SPLIT;
        st = tok_json_pattern(ctx, json, "pattern", field, &pre->regex);
        if (st == ACC_OK)
            st = load_behavior(ctx, json, field, &pre->behavior);
        if (st == ACC_OK)
            st = tok_json_bool(ctx, json, "invert", field, 0, &pre->invert);
    } else if (strcmp(type, "Whitespace") == 0) {
        pre->kind = PRE_SPLIT;
        pre->behavior = TOK_SPLIT_REMOVED;
        pre->invert = 1;
        st = tok_regex_compile(WHITESPACE_PATTERN, strlen(WHITESPACE_PATTERN), 0, ctx->name,
                               field, &pre->regex, ctx->err);
    } else if (strcmp(type, "WhitespaceSplit") == 0) {
        pre->kind = PRE_WHITESPACE_SPLIT;
    } else if (strcmp(type, "Metaspace") == 0) {
        pre->kind = PRE_METASPACE;
        st = load_metaspace(ctx, json, field, pre);
    } else if (strcmp(type, "Digits") == 0) {
        pre->kind = PRE_DIGITS;
        st = tok_json_bool(ctx, json, "individual_digits", field, 0, &pre->individual_digits);
    } else {
        char path[300];
        snprintf(path, sizeof path, "%s.type", field);
        st = tok_json_error(ctx, path, "unsupported '%s'", type);
    }
    if (st != ACC_OK) {
        tok_pretokenizer_free(pre);
        return st;
    }
    *out = pre;
    return ACC_OK;
}

/* HF's Pattern for a char predicate: each matching character is a match. */
typedef int (*char_predicate)(const tok_pretokenizer *pre, uint32_t cp);

static acc_status char_find_matches(const tok_pretokenizer *pre, char_predicate pred,
                                    const char *text, size_t len, tok_segments *out,
                                    acc_error *err)
{
    out->len = 0;
    size_t last = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = tok_utf8_next(text, len, i, &cp);
        if (pred(pre, cp)) {
            if (last < i && tok_segments_push(out, last, i, 0, err) != ACC_OK)
                return ACC_ERR_RUNTIME;
            if (tok_segments_push(out, i, i + n, 1, err) != ACC_OK)
                return ACC_ERR_RUNTIME;
            last = i + n;
        }
        i += n;
    }
    if (last < len)
        return tok_segments_push(out, last, len, 0, err);
    return ACC_OK;
}

static int is_replacement(const tok_pretokenizer *pre, uint32_t cp)
{
    return cp == pre->replacement;
}

static int is_numeric(const tok_pretokenizer *pre, uint32_t cp)
{
    (void)pre;
    return tok_is_numeric(cp);
}

static int is_whitespace(const tok_pretokenizer *pre, uint32_t cp)
{
    (void)pre;
    return tok_is_whitespace(cp);
}

static acc_status split_regex(const void *ctx, const char *text, size_t len, tok_segments *out,
                              acc_error *err)
{
    const tok_pretokenizer *pre = ctx;
    if (tok_regex_find_matches(pre->regex, text, len, out, err) != ACC_OK)
        return err ? err->status : ACC_ERR_INPUT;
    if (pre->invert)
        for (size_t i = 0; i < out->len; i++)
            out->data[i].flag = !out->data[i].flag;
    return tok_segments_apply_behavior(out, pre->behavior, err);
}

static acc_status split_by_char(const void *ctx, const char *text, size_t len,
                                tok_segments *out, acc_error *err)
{
    const tok_pretokenizer *pre = ctx;
    char_predicate pred = pre->kind == PRE_METASPACE ? is_replacement
                          : pre->kind == PRE_DIGITS  ? is_numeric
                                                     : is_whitespace;
    tok_split_behavior behavior = pre->kind == PRE_METASPACE ? TOK_SPLIT_MERGED_WITH_NEXT
                                  : pre->kind == PRE_WHITESPACE_SPLIT ? TOK_SPLIT_REMOVED
                                  : pre->individual_digits            ? TOK_SPLIT_ISOLATED
                                                                      : TOK_SPLIT_CONTIGUOUS;
    if (char_find_matches(pre, pred, text, len, out, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    return tok_segments_apply_behavior(out, behavior, err);
}

static acc_status prefix_space(const void *ctx, const tok_piece *piece, const char *text,
                               size_t len, tok_str *out, acc_error *err)
{
    (void)ctx;
    (void)piece;
    if ((len == 0 || text[0] != ' ') && tok_str_append(out, " ", 1, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    return tok_str_append(out, text, len, err);
}

static acc_status map_bytes(const void *ctx, const tok_piece *piece, const char *text,
                            size_t len, tok_str *out, acc_error *err)
{
    const tok_pretokenizer *pre = ctx;
    (void)piece;
    if (tok_str_reserve(out, len * 2, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = pre->bytes.byte_to_cp[(unsigned char)text[i]];
        if (tok_str_append_cp(out, cp, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
    }
    return ACC_OK;
}

static acc_status metaspace_replace(const void *ctx, const tok_piece *piece, const char *text,
                                    size_t len, tok_str *out, acc_error *err)
{
    const tok_pretokenizer *pre = ctx;
    int starts_with = len >= pre->replacement_len &&
                      memcmp(text, pre->replacement_utf8, pre->replacement_len) == 0;
    /* A leading space becomes the replacement too, so test for both. */
    if (len > 0 && text[0] == ' ')
        starts_with = 1;
    int prepend = !starts_with && (pre->prepend == PREPEND_ALWAYS ||
                                   (pre->prepend == PREPEND_FIRST && piece->at_origin));
    if (prepend && tok_str_append(out, pre->replacement_utf8, pre->replacement_len, err))
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < len; i++) {
        acc_status st = text[i] == ' '
                            ? tok_str_append(out, pre->replacement_utf8, pre->replacement_len, err)
                            : tok_str_append(out, text + i, 1, err);
        if (st != ACC_OK)
            return st;
    }
    return ACC_OK;
}

acc_status tok_pretokenizer_apply(const tok_pretokenizer *pre, tok_pieces *pieces,
                                  acc_error *err)
{
    acc_status st = ACC_OK;
    switch (pre->kind) {
    case PRE_SEQUENCE:
        for (size_t i = 0; i < pre->n_children && st == ACC_OK; i++)
            st = tok_pretokenizer_apply(pre->children[i], pieces, err);
        return st;
    case PRE_BYTELEVEL:
        if (pre->add_prefix_space)
            st = tok_pieces_transform(pieces, prefix_space, pre, err);
        if (st == ACC_OK && pre->use_regex)
            st = tok_pieces_split(pieces, split_regex, pre, err);
        if (st == ACC_OK)
            st = tok_pieces_transform(pieces, map_bytes, pre, err);
        return st;
    case PRE_SPLIT:
        return tok_pieces_split(pieces, split_regex, pre, err);
    case PRE_METASPACE:
        st = tok_pieces_transform(pieces, metaspace_replace, pre, err);
        if (st == ACC_OK && pre->split)
            st = tok_pieces_split(pieces, split_by_char, pre, err);
        return st;
    case PRE_DIGITS:
    case PRE_WHITESPACE_SPLIT:
        return tok_pieces_split(pieces, split_by_char, pre, err);
    }
    return ACC_OK;
}
