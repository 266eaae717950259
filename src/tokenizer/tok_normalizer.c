/*
 * tok_normalizer.c — HF normalizers: Sequence, Prepend, Replace, the
 * Unicode forms NFC/NFD/NFKC/NFKD (utf8proc), Lowercase and Strip.  Each
 * maps a string to a string; offsets are not tracked because accinf only
 * needs ids.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef enum norm_kind {
    NORM_SEQUENCE,
    NORM_PREPEND,
    NORM_REPLACE,
    NORM_UNICODE,
    NORM_LOWERCASE,
    NORM_STRIP,
} norm_kind;

struct tok_normalizer {
    norm_kind kind;
    tok_normalizer **children;
    size_t n_children;
    char *text; /* Prepend's prefix or Replace's content */
    size_t text_len;
    tok_regex *pattern;
    utf8proc_option_t unicode; /* for NORM_UNICODE */
    int strip_left, strip_right;
};

void tok_normalizer_free(tok_normalizer *norm)
{
    if (!norm)
        return;
    for (size_t i = 0; i < norm->n_children; i++)
        tok_normalizer_free(norm->children[i]);
    free(norm->children);
    free(norm->text);
    tok_regex_free(norm->pattern);
    free(norm);
}

static acc_status load_sequence(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                                tok_normalizer *norm)
{
    json_t *list;
    if (tok_json_list(ctx, json, "normalizers", field, &list) != ACC_OK)
        return ACC_ERR_INPUT;
    norm->children = acc_calloc(json_array_size(list), sizeof *norm->children, ctx->err);
    if (!norm->children)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < json_array_size(list); i++) {
        char path[256];
        snprintf(path, sizeof path, "%s.normalizers[%zu]", field, i);
        acc_status st = tok_normalizer_load(ctx, json_array_get(list, i), path, depth + 1,
                                            &norm->children[norm->n_children]);
        if (st != ACC_OK)
            return st;
        if (norm->children[norm->n_children])
            norm->n_children++;
    }
    return ACC_OK;
}

acc_status tok_normalizer_load(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                               tok_normalizer **out)
{
    *out = NULL;
    const char *type;
    if (tok_json_component(ctx, json, field, depth, &type) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!type)
        return ACC_OK;
    tok_normalizer *norm = acc_calloc(1, sizeof *norm, ctx->err);
    if (!norm)
        return ACC_ERR_RUNTIME;
    acc_status st = ACC_OK;
    const char *text = NULL;
    size_t len = 0;
    if (strcmp(type, "Sequence") == 0) {
        norm->kind = NORM_SEQUENCE;
        st = load_sequence(ctx, json, field, depth, norm);
    } else if (strcmp(type, "Prepend") == 0) {
        norm->kind = NORM_PREPEND;
        st = tok_json_string(ctx, json, "prepend", field, &text, &len);
        if (st == ACC_OK && !text)
            st = tok_json_error(ctx, field, "missing \"prepend\"");
    } else if (strcmp(type, "Replace") == 0) {
        norm->kind = NORM_REPLACE;
        st = tok_json_pattern(ctx, json, "pattern", field, &norm->pattern);
        if (st == ACC_OK)
            st = tok_json_string(ctx, json, "content", field, &text, &len);
        if (st == ACC_OK && !text)
            st = tok_json_error(ctx, field, "missing \"content\"");
    } else if (strcmp(type, "NFC") == 0) {
        norm->kind = NORM_UNICODE;
        norm->unicode = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    } else if (strcmp(type, "NFD") == 0) {
        norm->kind = NORM_UNICODE;
        norm->unicode = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    } else if (strcmp(type, "NFKC") == 0) {
        norm->kind = NORM_UNICODE;
        norm->unicode = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    } else if (strcmp(type, "NFKD") == 0) {
        norm->kind = NORM_UNICODE;
        norm->unicode = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    } else if (strcmp(type, "Lowercase") == 0) {
        norm->kind = NORM_LOWERCASE;
    } else if (strcmp(type, "Strip") == 0) {
        norm->kind = NORM_STRIP;
        st = tok_json_bool(ctx, json, "strip_left", field, 1, &norm->strip_left);
        if (st == ACC_OK)
            st = tok_json_bool(ctx, json, "strip_right", field, 1, &norm->strip_right);
    } else {
        char path[300];
        snprintf(path, sizeof path, "%s.type", field);
        st = tok_json_error(ctx, path, "unsupported '%s'", type);
    }
    if (st == ACC_OK && text) {
        norm->text = tok_strndup(text, len, ctx->err);
        norm->text_len = len;
        if (!norm->text)
            st = ACC_ERR_RUNTIME;
    }
    if (st != ACC_OK) {
        tok_normalizer_free(norm);
        return st;
    }
    *out = norm;
    return ACC_OK;
}

static acc_status apply_replace(const tok_normalizer *norm, const char *text, size_t len,
                                tok_str *out, acc_error *err)
{
    tok_segments segs = {0};
    acc_status st = tok_regex_find_matches(norm->pattern, text, len, &segs, err);
    for (size_t i = 0; i < segs.len && st == ACC_OK; i++) {
        tok_segment seg = segs.data[i];
        st = seg.flag ? tok_str_append(out, norm->text, norm->text_len, err)
                      : tok_str_append(out, text + seg.start, seg.end - seg.start, err);
    }
    free(segs.data);
    return st;
}

static acc_status apply_unicode(const tok_normalizer *norm, const char *text, size_t len,
                                tok_str *out, acc_error *err)
{
    if (len == 0)
        return ACC_OK;
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len,
                                      &mapped, norm->unicode);
    if (n < 0) {
        free(mapped);
        return acc_error_set(err, ACC_ERR_INPUT, "tokenizer: normalizer: %s",
                             utf8proc_errmsg(n));
    }
    acc_status st = tok_str_append(out, (const char *)mapped, (size_t)n, err);
    free(mapped);
    return st;
}

static acc_status apply_lowercase(const char *text, size_t len, tok_str *out, acc_error *err)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += tok_utf8_next(text, len, i, &cp);
        acc_status st =
            tok_str_append_cp(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), err);
        if (st != ACC_OK)
            return st;
    }
    return ACC_OK;
}

static acc_status apply_strip(const tok_normalizer *norm, const char *text, size_t len,
                              tok_str *out, acc_error *err)
{
    size_t start = 0, end = len;
    while (norm->strip_left && start < end) {
        uint32_t cp;
        size_t n = tok_utf8_next(text, len, start, &cp);
        if (!tok_is_whitespace(cp))
            break;
        start += n;
    }
    while (norm->strip_right && end > start) {
        size_t prev = tok_utf8_prev(text, end);
        uint32_t cp;
        tok_utf8_next(text, len, prev, &cp);
        if (!tok_is_whitespace(cp))
            break;
        end = prev;
    }
    return tok_str_append(out, text + start, end - start, err);
}

acc_status tok_normalizer_apply(const tok_normalizer *norm, const char *text, size_t len,
                                tok_str *out, acc_error *err)
{
    switch (norm->kind) {
    case NORM_SEQUENCE: {
        tok_str a = {0}, b = {0};
        size_t limit = tok_growth_limit(len);
        acc_status st = tok_str_append(&a, text, len, err);
        for (size_t i = 0; i < norm->n_children && st == ACC_OK; i++) {
            b.len = 0;
            st = tok_normalizer_apply(norm->children[i], a.data, a.len, &b, err);
            tok_str swap = a;
            a = b;
            b = swap;
            if (st == ACC_OK && a.len > limit)
                st = acc_error_set(err, ACC_ERR_INPUT,
                                   "tokenizer: normalized text grew past %zu bytes", limit);
        }
        if (st == ACC_OK)
            st = tok_str_append(out, a.data, a.len, err);
        tok_str_free(&a);
        tok_str_free(&b);
        return st;
    }
    case NORM_PREPEND:
        if (len > 0 && tok_str_append(out, norm->text, norm->text_len, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        return tok_str_append(out, text, len, err);
    case NORM_REPLACE:
        return apply_replace(norm, text, len, out, err);
    case NORM_UNICODE:
        return apply_unicode(norm, text, len, out, err);
    case NORM_LOWERCASE:
        return apply_lowercase(text, len, out, err);
    case NORM_STRIP:
        return apply_strip(norm, text, len, out, err);
    }
    return ACC_OK;
}
