/*
 * tok_decoder.c — HF decoders, each a list-of-strings -> list-of-strings
 * step (decode_chain): ByteLevel (unicode -> bytes, lossy UTF-8),
 * Metaspace, Replace, ByteFallback (<0xAB> tokens -> bytes), Fuse, Strip,
 * BPEDecoder and Sequence.  The caller joins the final list.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum dec_kind {
    DEC_SEQUENCE,
    DEC_BYTELEVEL,
    DEC_METASPACE,
    DEC_REPLACE,
    DEC_BYTEFALLBACK,
    DEC_FUSE,
    DEC_STRIP,
    DEC_BPE,
} dec_kind;

struct tok_decoder {
    dec_kind kind;
    tok_decoder **children;
    size_t n_children;
    tok_bytelevel_map bytes;
    uint32_t ch; /* Metaspace replacement, Strip content */
    int prepend; /* Metaspace: prepend_scheme != never */
    tok_regex *pattern;
    char *content; /* Replace content, BPEDecoder suffix */
    size_t content_len;
    int64_t start, stop;
};

void tok_strlist_free(tok_strlist *list)
{
    for (size_t i = 0; i < list->len; i++)
        tok_str_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

acc_status tok_strlist_push(tok_strlist *list, const char *text, size_t n, acc_error *err)
{
    if (list->len == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        tok_str *grown = realloc(list->items, cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
        list->items = grown;
        list->cap = cap;
    }
    tok_str *item = &list->items[list->len++];
    memset(item, 0, sizeof *item);
    return tok_str_append(item, text, n, err);
}

void tok_decoder_free(tok_decoder *dec)
{
    if (!dec)
        return;
    for (size_t i = 0; i < dec->n_children; i++)
        tok_decoder_free(dec->children[i]);
    free(dec->children);
    tok_regex_free(dec->pattern);
    free(dec->content);
    free(dec);
}

static acc_status load_sequence(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                                tok_decoder *dec)
{
    json_t *list;
    if (tok_json_list(ctx, json, "decoders", field, &list) != ACC_OK)
        return ACC_ERR_INPUT;
    dec->children = acc_calloc(json_array_size(list) + 1, sizeof *dec->children, ctx->err);
    if (!dec->children)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < json_array_size(list); i++) {
        char path[256];
        snprintf(path, sizeof path, "%s.decoders[%zu]", field, i);
        acc_status st = tok_decoder_load(ctx, json_array_get(list, i), path, depth + 1,
                                         &dec->children[dec->n_children]);
        if (st != ACC_OK)
            return st;
        if (dec->children[dec->n_children])
            dec->n_children++;
    }
    return ACC_OK;
}

static acc_status load_content(const tok_ctx *ctx, json_t *json, const char *key,
                               const char *field, const char *def, tok_decoder *dec)
{
    const char *text;
    size_t len;
    if (tok_json_string(ctx, json, key, field, &text, &len) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!text) {
        if (!def)
            return tok_json_error(ctx, field, "missing \"%s\"", key);
        text = def;
        len = strlen(text);
    }
    dec->content = tok_strndup(text, len, ctx->err);
    dec->content_len = len;
    return dec->content ? ACC_OK : ACC_ERR_RUNTIME;
}

static acc_status load_count(const tok_ctx *ctx, json_t *json, const char *key,
                             const char *field, int64_t *out)
{
    json_t *value = json_object_get(json, key);
    *out = 0;
    if (!value || json_is_null(value))
        return ACC_OK;
    char path[300];
    snprintf(path, sizeof path, "%s.%s", field, key);
    return tok_json_uint(ctx, value, path, INT32_MAX, out);
}

acc_status tok_decoder_load(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                            tok_decoder **out)
{
    *out = NULL;
    const char *type;
    if (tok_json_component(ctx, json, field, depth, &type) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!type)
        return ACC_OK;
    tok_decoder *dec = acc_calloc(1, sizeof *dec, ctx->err);
    if (!dec)
        return ACC_ERR_RUNTIME;
    acc_status st = ACC_OK;
    if (strcmp(type, "Sequence") == 0) {
        dec->kind = DEC_SEQUENCE;
        st = load_sequence(ctx, json, field, depth, dec);
    } else if (strcmp(type, "ByteLevel") == 0) {
        dec->kind = DEC_BYTELEVEL;
        tok_bytelevel_map_init(&dec->bytes);
    } else if (strcmp(type, "Metaspace") == 0) {
        dec->kind = DEC_METASPACE;
        st = tok_json_char(ctx, json, "replacement", field, &dec->ch);
        const char *scheme = NULL;
        if (st == ACC_OK)
            st = tok_json_string(ctx, json, "prepend_scheme", field, &scheme, NULL);
        dec->prepend = !(scheme && strcmp(scheme, "never") == 0) &&
                       !json_is_false(json_object_get(json, "add_prefix_space"));
    } else if (strcmp(type, "Replace") == 0) {
        dec->kind = DEC_REPLACE;
        st = tok_json_pattern(ctx, json, "pattern", field, &dec->pattern);
        if (st == ACC_OK)
            st = load_content(ctx, json, "content", field, NULL, dec);
    } else if (strcmp(type, "ByteFallback") == 0) {
        dec->kind = DEC_BYTEFALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        dec->kind = DEC_FUSE;
    } else if (strcmp(type, "Strip") == 0) {
        dec->kind = DEC_STRIP;
        st = tok_json_char(ctx, json, "content", field, &dec->ch);
        if (st == ACC_OK)
            st = load_count(ctx, json, "start", field, &dec->start);
        if (st == ACC_OK)
            st = load_count(ctx, json, "stop", field, &dec->stop);
    } else if (strcmp(type, "BPEDecoder") == 0) {
        dec->kind = DEC_BPE;
        st = load_content(ctx, json, "suffix", field, "</w>", dec);
    } else {
        char path[300];
        snprintf(path, sizeof path, "%s.type", field);
        st = tok_json_error(ctx, path, "unsupported '%s'", type);
    }
    if (st != ACC_OK) {
        tok_decoder_free(dec);
        return st;
    }
    *out = dec;
    return ACC_OK;
}

/* ---- the steps ------------------------------------------------------------ */

static acc_status decode_bytelevel(const tok_decoder *dec, const tok_strlist *in,
                                   tok_strlist *out, acc_error *err)
{
    tok_str bytes = {0}, text = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < in->len && st == ACC_OK; i++) {
        const tok_str *t = &in->items[i];
        size_t mark = bytes.len;
        int mapped = 1;
        for (size_t k = 0; k < t->len && mapped && st == ACC_OK;) {
            uint32_t cp;
            k += tok_utf8_next(t->data, t->len, k, &cp);
            int b = cp < 512 ? dec->bytes.cp_to_byte[cp] : -1;
            if (b < 0)
                mapped = 0;
            else {
                char byte = (char)b;
                st = tok_str_append(&bytes, &byte, 1, err);
            }
        }
        if (!mapped) { /* not byte-level text: keep the token's own bytes */
            bytes.len = mark;
            st = tok_str_append(&bytes, t->data, t->len, err);
        }
    }
    if (st == ACC_OK)
        st = tok_utf8_lossy_append(&text, (const uint8_t *)(bytes.data ? bytes.data : ""),
                                   bytes.len, err);
    if (st == ACC_OK)
        st = tok_strlist_push(out, text.data ? text.data : "", text.len, err);
    tok_str_free(&bytes);
    tok_str_free(&text);
    return st;
}

static acc_status decode_metaspace(const tok_decoder *dec, const tok_strlist *in,
                                   tok_strlist *out, acc_error *err)
{
    tok_str s = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < in->len && st == ACC_OK; i++) {
        const tok_str *t = &in->items[i];
        s.len = 0;
        st = tok_str_append(&s, "", 0, err);
        for (size_t k = 0; k < t->len && st == ACC_OK;) {
            uint32_t cp;
            size_t n = tok_utf8_next(t->data, t->len, k, &cp);
            if (cp != dec->ch)
                st = tok_str_append(&s, t->data + k, n, err);
            else if (!(i == 0 && dec->prepend))
                st = tok_str_append(&s, " ", 1, err);
            k += n;
        }
        if (st == ACC_OK)
            st = tok_strlist_push(out, s.data, s.len, err);
    }
    tok_str_free(&s);
    return st;
}

static acc_status decode_replace(const tok_decoder *dec, const tok_strlist *in,
                                 tok_strlist *out, acc_error *err)
{
    tok_segments segs = {0};
    tok_str s = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < in->len && st == ACC_OK; i++) {
        const tok_str *t = &in->items[i];
        s.len = 0;
        st = tok_str_append(&s, "", 0, err);
        if (st == ACC_OK)
            st = tok_regex_find_matches(dec->pattern, t->data ? t->data : "", t->len, &segs,
                                        err);
        for (size_t k = 0; k < segs.len && st == ACC_OK; k++) {
            tok_segment seg = segs.data[k];
            st = seg.flag ? tok_str_append(&s, dec->content, dec->content_len, err)
                          : tok_str_append(&s, t->data + seg.start, seg.end - seg.start, err);
        }
        if (st == ACC_OK)
            st = tok_strlist_push(out, s.data, s.len, err);
    }
    free(segs.data);
    tok_str_free(&s);
    return st;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* "<0xAB>" -> 0xAB as HF's ByteFallback parses it; -1 otherwise. */
static int byte_token(const tok_str *t)
{
    if (t->len != 6 || memcmp(t->data, "<0x", 3) != 0 || t->data[5] != '>')
        return -1;
    int hi = hex_digit(t->data[3]), lo = hex_digit(t->data[4]);
    if (t->data[3] == '+' && lo >= 0) /* Rust's from_str_radix takes a '+' sign */
        return lo;
    return hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

static acc_status flush_bytes(tok_str *bytes, tok_strlist *out, acc_error *err)
{
    if (bytes->len == 0)
        return ACC_OK;
    acc_status st = ACC_OK;
    if (acc_utf8_valid(bytes->data, bytes->len, NULL))
        st = tok_strlist_push(out, bytes->data, bytes->len, err);
    else
        for (size_t i = 0; i < bytes->len && st == ACC_OK; i++)
            st = tok_strlist_push(out, "\xEF\xBF\xBD", 3, err);
    bytes->len = 0;
    return st;
}

static acc_status decode_bytefallback(const tok_strlist *in, tok_strlist *out, acc_error *err)
{
    tok_str bytes = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < in->len && st == ACC_OK; i++) {
        const tok_str *t = &in->items[i];
        int b = byte_token(t);
        if (b >= 0) {
            char byte = (char)b;
            st = tok_str_append(&bytes, &byte, 1, err);
            continue;
        }
        st = flush_bytes(&bytes, out, err);
        if (st == ACC_OK)
            st = tok_strlist_push(out, t->data, t->len, err);
    }
    if (st == ACC_OK)
        st = flush_bytes(&bytes, out, err);
    tok_str_free(&bytes);
    return st;
}

static acc_status decode_fuse(const tok_strlist *in, tok_strlist *out, acc_error *err)
{
    tok_str s = {0};
    acc_status st = tok_str_append(&s, "", 0, err);
    for (size_t i = 0; i < in->len && st == ACC_OK; i++)
        st = tok_str_append(&s, in->items[i].data, in->items[i].len, err);
    if (st == ACC_OK)
        st = tok_strlist_push(out, s.data, s.len, err);
    tok_str_free(&s);
    return st;
}

static acc_status decode_strip(const tok_decoder *dec, const tok_strlist *in, tok_strlist *out,
                               acc_error *err)
{
    acc_status st = ACC_OK;
    for (size_t i = 0; i < in->len && st == ACC_OK; i++) {
        const tok_str *t = &in->items[i];
        size_t start = 0, stop = t->len;
        for (int64_t k = 0; k < dec->start && start < t->len; k++) {
            uint32_t cp;
            size_t n = tok_utf8_next(t->data, t->len, start, &cp);
            if (cp != dec->ch)
                break;
            start += n;
        }
        for (int64_t k = 0; k < dec->stop && stop > 0; k++) {
            size_t prev = tok_utf8_prev(t->data, stop);
            uint32_t cp;
            tok_utf8_next(t->data, t->len, prev, &cp);
            if (cp != dec->ch)
                break;
            stop = prev;
        }
        if (stop < start)
            stop = start;
        st = tok_strlist_push(out, t->data ? t->data + start : "", stop - start, err);
    }
    return st;
}

static acc_status decode_bpe(const tok_decoder *dec, const tok_strlist *in, tok_strlist *out,
                             acc_error *err)
{
    tok_str s = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < in->len && st == ACC_OK; i++) {
        const tok_str *t = &in->items[i];
        const char *with = i + 1 == in->len ? "" : " ";
        s.len = 0;
        st = tok_str_append(&s, "", 0, err);
        for (size_t k = 0; k < t->len && st == ACC_OK;) {
            if (dec->content_len && k + dec->content_len <= t->len &&
                memcmp(t->data + k, dec->content, dec->content_len) == 0) {
                st = tok_str_append(&s, with, strlen(with), err);
                k += dec->content_len;
            } else {
                st = tok_str_append(&s, t->data + k, 1, err);
                k++;
            }
        }
        if (st == ACC_OK)
            st = tok_strlist_push(out, s.data, s.len, err);
    }
    tok_str_free(&s);
    return st;
}

static size_t strlist_bytes(const tok_strlist *list)
{
    size_t total = 0;
    for (size_t i = 0; i < list->len; i++)
        total += list->items[i].len;
    return total;
}

acc_status tok_decoder_apply(const tok_decoder *dec, tok_strlist *tokens, acc_error *err)
{
    if (dec->kind == DEC_SEQUENCE) {
        size_t limit = tok_growth_limit(strlist_bytes(tokens));
        for (size_t i = 0; i < dec->n_children; i++) {
            if (tok_decoder_apply(dec->children[i], tokens, err) != ACC_OK)
                return err ? err->status : ACC_ERR_RUNTIME;
            if (strlist_bytes(tokens) > limit)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "tokenizer: decoded text grew past %zu bytes", limit);
        }
        return ACC_OK;
    }
    tok_strlist out = {0};
    acc_status st = ACC_OK;
    switch (dec->kind) {
    case DEC_BYTELEVEL: st = decode_bytelevel(dec, tokens, &out, err); break;
    case DEC_METASPACE: st = decode_metaspace(dec, tokens, &out, err); break;
    case DEC_REPLACE: st = decode_replace(dec, tokens, &out, err); break;
    case DEC_BYTEFALLBACK: st = decode_bytefallback(tokens, &out, err); break;
    case DEC_FUSE: st = decode_fuse(tokens, &out, err); break;
    case DEC_STRIP: st = decode_strip(dec, tokens, &out, err); break;
    case DEC_BPE: st = decode_bpe(dec, tokens, &out, err); break;
    case DEC_SEQUENCE: break;
    }
    if (st != ACC_OK) {
        tok_strlist_free(&out);
        return st;
    }
    tok_strlist_free(tokens);
    *tokens = out;
    return ACC_OK;
}
