/*
 * tok_added.c — added tokens (special and not): loading "added_tokens"
 * with HF's id rules, and cutting them out of text before the model sees
 * it.  Matching is leftmost-longest as HF's Aho-Corasick matcher does,
 * with the single_word, lstrip and rstrip rules of AddedVocabulary.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tok_added_free(tok_added *added)
{
    for (size_t i = 0; i < added->len; i++) {
        if (added->tokens[i].pattern != added->tokens[i].content)
            free(added->tokens[i].pattern);
        free(added->tokens[i].content);
    }
    free(added->tokens);
    tok_strmap_free(&added->by_content);
    tok_strmap_free(&added->raw.map);
    free(added->raw.lengths);
    tok_strmap_free(&added->normalized.map);
    free(added->normalized.lengths);
    memset(added, 0, sizeof *added);
}

static int compare_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static acc_status matcher_build(tok_matcher *m, const tok_added *added, int normalized,
                                acc_error *err)
{
    if (tok_strmap_init(&m->map, added->len, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    m->lengths = acc_calloc(added->len + 1, sizeof *m->lengths, err);
    if (!m->lengths)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < added->len; i++) {
        const tok_added_token *t = &added->tokens[i];
        if (t->normalized != normalized || t->pattern_len == 0)
            continue;
        if (tok_strmap_put(&m->map, t->pattern, t->pattern_len, (int32_t)i, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        m->first_byte[(unsigned char)t->pattern[0]] = 1;
        size_t k = 0;
        while (k < m->n_lengths && m->lengths[k] != t->pattern_len)
            k++;
        if (k == m->n_lengths)
            m->lengths[m->n_lengths++] = (uint32_t)t->pattern_len;
        m->count++;
    }
    qsort(m->lengths, m->n_lengths, sizeof *m->lengths, compare_desc);
    return ACC_OK;
}

static acc_status load_token(const tok_ctx *ctx, json_t *item, const char *field,
                             tok_added_token *t)
{
    const char *content;
    size_t len;
    if (!json_is_object(item))
        return tok_json_error(ctx, field, "expected an object");
    if (tok_json_string(ctx, item, "content", field, &content, &len) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!content)
        return tok_json_error(ctx, field, "missing \"content\"");
    int special, single_word, lstrip, rstrip, normalized;
    if (tok_json_bool(ctx, item, "special", field, 0, &special) != ACC_OK ||
        tok_json_bool(ctx, item, "single_word", field, 0, &single_word) != ACC_OK ||
        tok_json_bool(ctx, item, "lstrip", field, 0, &lstrip) != ACC_OK ||
        tok_json_bool(ctx, item, "rstrip", field, 0, &rstrip) != ACC_OK ||
        tok_json_bool(ctx, item, "normalized", field, !special, &normalized) != ACC_OK)
        return ACC_ERR_INPUT;
    t->content = (char *)content; /* borrowed until copied by the caller */
    t->len = len;
    t->special = (uint8_t)special;
    t->single_word = (uint8_t)single_word;
    t->lstrip = (uint8_t)lstrip;
    t->rstrip = (uint8_t)rstrip;
    t->normalized = (uint8_t)normalized;
    return ACC_OK;
}

acc_status tok_added_load(const tok_ctx *ctx, json_t *list, const tok_bpe *bpe,
                          const tok_normalizer *norm, tok_added *added)
{
    memset(added, 0, sizeof *added);
    if (list && !json_is_null(list) && !json_is_array(list))
        return tok_json_error(ctx, "added_tokens", "expected a list");
    size_t n = json_is_array(list) ? json_array_size(list) : 0;
    added->tokens = acc_calloc(n + 1, sizeof *added->tokens, ctx->err);
    if (!added->tokens || tok_strmap_init(&added->by_content, n, ctx->err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    /* HF ignores the "id" fields: a token already in the model keeps the
     * model's id, any other one gets the next id after the vocabulary. */
    int64_t next_id = (int64_t)bpe->vocab_count;
    for (size_t i = 0; i < n; i++) {
        char field[64];
        snprintf(field, sizeof field, "added_tokens[%zu]", i);
        tok_added_token t = {0};
        if (load_token(ctx, json_array_get(list, i), field, &t) != ACC_OK)
            return ACC_ERR_INPUT;
        if (t.len == 0)
            continue;
        int32_t index = tok_strmap_get(&added->by_content, t.content, t.len);
        if (index >= 0) {
            /* Same content again: the later flags win, "special" sticks. */
            tok_added_token *old = &added->tokens[index];
            old->special |= t.special;
            old->single_word = t.single_word;
            old->lstrip = t.lstrip;
            old->rstrip = t.rstrip;
            old->normalized = t.normalized;
            continue;
        }
        int32_t id = tok_strmap_get(&bpe->vocab, t.content, t.len);
        if (id < 0) {
            if (next_id >= TOK_MAX_ID)
                return tok_json_error(ctx, field, "too many tokens");
            id = (int32_t)next_id++;
        }
        t.id = id;
        t.content = tok_strndup(t.content, t.len, ctx->err);
        if (!t.content)
            return ACC_ERR_RUNTIME;
        added->tokens[added->len] = t;
        if (tok_strmap_put(&added->by_content, t.content, t.len, (int32_t)added->len,
                           ctx->err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        added->len++;
    }
    /* Normalized tokens are matched in normalized text, so their patterns
     * are their normalized forms. */
    for (size_t i = 0; i < added->len; i++) {
        tok_added_token *t = &added->tokens[i];
        t->pattern = t->content;
        t->pattern_len = t->len;
        if (!t->normalized || !norm)
            continue;
        tok_str out = {0};
        if (tok_normalizer_apply(norm, t->content, t->len, &out, ctx->err) != ACC_OK) {
            tok_str_free(&out);
            return ctx->err ? ctx->err->status : ACC_ERR_INPUT;
        }
        if (!out.data && !(out.data = tok_strndup("", 0, ctx->err)))
            return ACC_ERR_RUNTIME;
        t->pattern = out.data;
        t->pattern_len = out.len;
    }
    if (matcher_build(&added->raw, added, 0, ctx->err) != ACC_OK ||
        matcher_build(&added->normalized, added, 1, ctx->err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    return ACC_OK;
}

/* Leftmost-longest match at or after pos; returns the token index or -1. */
static int32_t matcher_find(const tok_matcher *m, const char *text, size_t len, size_t pos,
                            size_t *start, size_t *end)
{
    for (size_t i = pos; i < len; i++) {
        if (!m->first_byte[(unsigned char)text[i]])
            continue;
        for (size_t k = 0; k < m->n_lengths; k++) {
            size_t l = m->lengths[k];
            if (l > len - i)
                continue;
            int32_t index = tok_strmap_get(&m->map, text + i, l);
            if (index >= 0) {
                *start = i;
                *end = i + l;
                return index;
            }
        }
    }
    return -1;
}

static int ends_with_word(const char *text, size_t end)
{
    if (end == 0)
        return 0;
    uint32_t cp;
    tok_utf8_next(text, end, tok_utf8_prev(text, end), &cp);
    return tok_is_word_char(cp);
}

static int starts_with_word(const char *text, size_t len, size_t start)
{
    if (start >= len)
        return 0;
    uint32_t cp;
    tok_utf8_next(text, len, start, &cp);
    return tok_is_word_char(cp);
}

acc_status tok_added_split(const void *ctx, const char *text, size_t len, tok_segments *out,
                           acc_error *err)
{
    const tok_added_split_ctx *split = ctx;
    const tok_matcher *m = split->matcher;
    out->len = 0;
    size_t pos = 0, start_offset = 0;
    while (m->count > 0 && pos < len) {
        size_t start, stop;
        int32_t index = matcher_find(m, text, len, pos, &start, &stop);
        if (index < 0)
            break;
        pos = stop;
        const tok_added_token *t = &split->added->tokens[index];
        if (t->single_word &&
            (ends_with_word(text, start) || starts_with_word(text, len, stop)))
            continue;
        if (t->lstrip) {
            size_t new_start = start;
            while (new_start > 0) {
                size_t prev = tok_utf8_prev(text, new_start);
                uint32_t cp;
                tok_utf8_next(text, len, prev, &cp);
                if (!tok_is_whitespace(cp))
                    break;
                new_start = prev;
            }
            start = new_start > start_offset ? new_start : start_offset;
        }
        if (t->rstrip) {
            while (stop < len) {
                uint32_t cp;
                size_t n = tok_utf8_next(text, len, stop, &cp);
                if (!tok_is_whitespace(cp))
                    break;
                stop += n;
            }
        }
        if (start_offset < start && tok_segments_push(out, start_offset, start, -1, err))
            return ACC_ERR_RUNTIME;
        if (tok_segments_push(out, start, stop, t->id, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        start_offset = stop;
    }
    if (start_offset < len)
        return tok_segments_push(out, start_offset, len, -1, err);
    return ACC_OK;
}
