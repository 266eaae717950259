/*
 * tok_bpe.c — the BPE model of tokenizer.json: loading vocab and merges
 * (both the "a b" string form and the [["a","b"]] list form) into hash
 * tables, and encoding one pre-token the way HF's BPE::merge_word does:
 * characters (or byte-fallback <0xAB> tokens, or unk) first, then merges
 * applied by lowest rank, leftmost first, through a binary heap.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tok_bpe_free(tok_bpe *bpe)
{
    tok_strmap_free(&bpe->vocab);
    tok_pairmap_free(&bpe->merges);
    free(bpe->storage);
    free(bpe->prefix);
    free(bpe->suffix);
    memset(bpe, 0, sizeof *bpe);
}

static acc_status load_vocab(const tok_ctx *ctx, json_t *vocab, tok_bpe *bpe)
{
    if (!json_is_object(vocab))
        return tok_json_error(ctx, "model.vocab", "expected an object");
    size_t total = 0, len;
    const char *key;
    json_t *value;
    json_object_keylen_foreach(vocab, key, len, value) total += len + 1;
    bpe->storage = acc_malloc(total + 1, ctx->err);
    if (!bpe->storage)
        return ACC_ERR_RUNTIME;
    if (tok_strmap_init(&bpe->vocab, json_object_size(vocab), ctx->err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    size_t off = 0;
    bpe->max_id = -1;
    json_object_keylen_foreach(vocab, key, len, value)
    {
        int64_t id;
        if (!json_is_integer(value) || json_integer_value(value) < 0 ||
            json_integer_value(value) >= TOK_MAX_ID)
            return tok_json_error(ctx, "model.vocab", "'%.64s': id must be an integer in 0..%d",
                                  key, TOK_MAX_ID - 1);
        id = json_integer_value(value);
        memcpy(bpe->storage + off, key, len + 1);
        if (tok_strmap_put(&bpe->vocab, bpe->storage + off, len, (int32_t)id, ctx->err) !=
            ACC_OK)
            return ACC_ERR_RUNTIME;
        off += len + 1;
        if (id > bpe->max_id)
            bpe->max_id = (int32_t)id;
    }
    bpe->vocab_count = bpe->vocab.count;
    return ACC_OK;
}

/* Splits "a b" as HF does: exactly one space, two parts. */
static int split_legacy_merge(const char *line, size_t len, size_t *space)
{
    const char *first = memchr(line, ' ', len);
    if (!first)
        return 0;
    if (memchr(first + 1, ' ', len - (size_t)(first - line) - 1))
        return 0;
    *space = (size_t)(first - line);
    return 1;
}

static const char *merge_field(char field[64], size_t index)
{
    snprintf(field, 64, "model.merges[%zu]", index);
    return field;
}

static acc_status add_merge(const tok_ctx *ctx, tok_bpe *bpe, size_t index, int32_t rank,
                            const char *a, size_t a_len, const char *b, size_t b_len,
                            tok_str *scratch)
{
    char field[64]; /* formatted only on error: this runs 280k times for Llama-3 */
    int32_t a_id = tok_strmap_get(&bpe->vocab, a, a_len);
    int32_t b_id = tok_strmap_get(&bpe->vocab, b, b_len);
    if (a_id < 0)
        return tok_json_error(ctx, merge_field(field, index), "token '%.*s' not in vocab",
                              (int)(a_len > 64 ? 64 : a_len), a);
    if (b_id < 0)
        return tok_json_error(ctx, merge_field(field, index), "token '%.*s' not in vocab",
                              (int)(b_len > 64 ? 64 : b_len), b);
    if (b_len < bpe->prefix_len)
        return tok_json_error(ctx, merge_field(field, index),
                              "right token shorter than continuing_subword_prefix");
    scratch->len = 0;
    if (tok_str_append(scratch, a, a_len, ctx->err) != ACC_OK ||
        tok_str_append(scratch, b + bpe->prefix_len, b_len - bpe->prefix_len, ctx->err) !=
            ACC_OK)
        return ACC_ERR_RUNTIME;
    int32_t merged = tok_strmap_get(&bpe->vocab, scratch->data, scratch->len);
    if (merged < 0)
        return tok_json_error(ctx, merge_field(field, index), "merged token '%.*s' not in vocab",
                              (int)(scratch->len > 64 ? 64 : scratch->len), scratch->data);
    return tok_pairmap_put(&bpe->merges, a_id, b_id, rank, merged, ctx->err);
}

static acc_status load_merges(const tok_ctx *ctx, json_t *merges, tok_bpe *bpe)
{
    if (!json_is_array(merges))
        return tok_json_error(ctx, "model.merges", "expected a list");
    if (tok_pairmap_init(&bpe->merges, json_array_size(merges), ctx->err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    tok_str scratch = {0};
    acc_status st = ACC_OK;
    int32_t rank = 0;
    for (size_t i = 0; i < json_array_size(merges) && st == ACC_OK; i++) {
        json_t *item = json_array_get(merges, i);
        char field[64] = "model.merges";
        if (json_is_string(item)) {
            const char *line = json_string_value(item);
            size_t len = json_string_length(item), space;
            if (len >= 8 && memcmp(line, "#version", 8) == 0)
                continue;
            if (!split_legacy_merge(line, len, &space)) {
                snprintf(field, sizeof field, "model.merges[%zu]", i);
                st = tok_json_error(ctx, field, "expected \"left right\"");
                break;
            }
            st = add_merge(ctx, bpe, i, rank++, line, space, line + space + 1, len - space - 1,
                           &scratch);
        } else if (json_is_array(item) && json_array_size(item) == 2 &&
                   json_is_string(json_array_get(item, 0)) &&
                   json_is_string(json_array_get(item, 1))) {
            json_t *a = json_array_get(item, 0), *b = json_array_get(item, 1);
            st = add_merge(ctx, bpe, i, rank++, json_string_value(a), json_string_length(a),
                           json_string_value(b), json_string_length(b), &scratch);
        } else {
            snprintf(field, sizeof field, "model.merges[%zu]", i);
            st = tok_json_error(ctx, field, "expected \"left right\" or [\"left\", \"right\"]");
        }
    }
    tok_str_free(&scratch);
    return st;
}

static acc_status load_affix(const tok_ctx *ctx, json_t *model, const char *key, char **out,
                             size_t *len)
{
    char field[64];
    snprintf(field, sizeof field, "model.%s", key);
    const char *text;
    if (tok_json_string(ctx, model, key, field, &text, len) != ACC_OK)
        return ACC_ERR_INPUT;
    /* An empty prefix or suffix changes nothing (Qwen files say ""). */
    if (text && *len > 0 && !(*out = tok_strndup(text, *len, ctx->err)))
        return ACC_ERR_RUNTIME;
    return ACC_OK;
}

acc_status tok_bpe_load(const tok_ctx *ctx, json_t *model, tok_bpe *bpe)
{
    memset(bpe, 0, sizeof *bpe);
    bpe->unk_id = -1;
    if (!json_is_object(model))
        return tok_json_error(ctx, "model", "expected an object");
    json_t *type = json_object_get(model, "type");
    if (type && !json_is_string(type))
        return tok_json_error(ctx, "model.type", "expected a string");
    if (type && strcmp(json_string_value(type), "BPE") != 0)
        return tok_json_error(ctx, "model.type", "unsupported '%s'", json_string_value(type));
    if (!type && !json_object_get(model, "merges"))
        return tok_json_error(ctx, "model.type", "missing (only BPE is supported)");
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout) &&
        !(json_is_number(dropout) && json_number_value(dropout) == 0.0))
        return tok_json_error(ctx, "model.dropout", "unsupported (not deterministic)");
    acc_status st = load_affix(ctx, model, "continuing_subword_prefix", &bpe->prefix,
                               &bpe->prefix_len);
    if (st == ACC_OK)
        st = load_affix(ctx, model, "end_of_word_suffix", &bpe->suffix, &bpe->suffix_len);
    if (st == ACC_OK)
        st = tok_json_bool(ctx, model, "fuse_unk", "model", 0, &bpe->fuse_unk);
    if (st == ACC_OK)
        st = tok_json_bool(ctx, model, "byte_fallback", "model", 0, &bpe->byte_fallback);
    if (st == ACC_OK)
        st = tok_json_bool(ctx, model, "ignore_merges", "model", 0, &bpe->ignore_merges);
    if (st == ACC_OK)
        st = load_vocab(ctx, json_object_get(model, "vocab"), bpe);
    if (st == ACC_OK)
        st = load_merges(ctx, json_object_get(model, "merges"), bpe);
    const char *unk = NULL;
    size_t unk_len = 0;
    if (st == ACC_OK)
        st = tok_json_string(ctx, model, "unk_token", "model.unk_token", &unk, &unk_len);
    if (st != ACC_OK)
        return st;
    if (unk) {
        bpe->unk_id = tok_strmap_get(&bpe->vocab, unk, unk_len);
        if (bpe->unk_id < 0)
            return tok_json_error(ctx, "model.unk_token", "'%.64s' not in vocab", unk);
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        bpe->byte_ids[b] = tok_strmap_get(&bpe->vocab, name, 6);
    }
    return ACC_OK;
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct symbol {
    int32_t id;
    int32_t prev, next;
    int32_t alive;
} symbol;

typedef struct merge_item {
    int32_t rank, pos, merged;
} merge_item;

typedef struct merge_heap {
    merge_item *items;
    size_t len, cap;
} merge_heap;

static int merge_less(merge_item a, merge_item b)
{
    return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos;
}

static acc_status heap_push(merge_heap *h, merge_item item, acc_error *err)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 32;
        merge_item *grown = realloc(h->items, cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
        h->items = grown;
        h->cap = cap;
    }
    size_t i = h->len++;
    h->items[i] = item;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!merge_less(h->items[i], h->items[parent]))
            break;
        merge_item t = h->items[i];
        h->items[i] = h->items[parent];
        h->items[parent] = t;
        i = parent;
    }
    return ACC_OK;
}

static merge_item heap_pop(merge_heap *h)
{
    merge_item top = h->items[0];
    h->items[0] = h->items[--h->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && merge_less(h->items[l], h->items[m]))
            m = l;
        if (r < h->len && merge_less(h->items[r], h->items[m]))
            m = r;
        if (m == i)
            break;
        merge_item t = h->items[i];
        h->items[i] = h->items[m];
        h->items[m] = t;
        i = m;
    }
    return top;
}

typedef struct word {
    symbol *symbols;
    size_t len, cap;
} word;

static acc_status word_add(word *w, int32_t id, acc_error *err)
{
    if (w->len == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        symbol *grown = realloc(w->symbols, cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
        w->symbols = grown;
        w->cap = cap;
    }
    int32_t pos = (int32_t)w->len;
    w->symbols[w->len++] = (symbol){.id = id, .prev = pos - 1, .next = -1, .alive = 1};
    if (pos > 0)
        w->symbols[pos - 1].next = pos;
    return ACC_OK;
}

/* HF merge_word, first half: one symbol per character. */
static acc_status word_from_chars(const tok_bpe *bpe, const char *text, size_t len, word *w,
                                  acc_error *err)
{
    tok_str scratch = {0};
    acc_status st = ACC_OK;
    int32_t pending_unk = -1; /* an unk not yet added (fuse_unk joins runs) */
    for (size_t i = 0; i < len && st == ACC_OK;) {
        uint32_t cp;
        size_t n = tok_utf8_next(text, len, i, &cp);
        const char *s = text + i;
        size_t s_len = n;
        if ((bpe->prefix && i > 0) || (bpe->suffix && i + n == len)) {
            scratch.len = 0;
            if ((bpe->prefix && i > 0 &&
                 tok_str_append(&scratch, bpe->prefix, bpe->prefix_len, err) != ACC_OK) ||
                tok_str_append(&scratch, s, n, err) != ACC_OK ||
                (bpe->suffix && i + n == len &&
                 tok_str_append(&scratch, bpe->suffix, bpe->suffix_len, err) != ACC_OK)) {
                st = ACC_ERR_RUNTIME;
                break;
            }
            s = scratch.data;
            s_len = scratch.len;
        }
        i += n;
        int32_t id = tok_strmap_get(&bpe->vocab, s, s_len);
        if (id >= 0) {
            if (pending_unk >= 0) {
                st = word_add(w, pending_unk, err);
                pending_unk = -1;
            }
            if (st == ACC_OK)
                st = word_add(w, id, err);
            continue;
        }
        if (bpe->byte_fallback) {
            int all = 1;
            for (size_t k = 0; k < s_len; k++)
                all = all && bpe->byte_ids[(unsigned char)s[k]] >= 0;
            if (all) {
                /* HF adds the bytes without flushing a pending unk first. */
                for (size_t k = 0; k < s_len && st == ACC_OK; k++)
                    st = word_add(w, bpe->byte_ids[(unsigned char)s[k]], err);
                continue;
            }
        }
        if (bpe->unk_id >= 0) {
            if (pending_unk >= 0 && !bpe->fuse_unk)
                st = word_add(w, pending_unk, err);
            pending_unk = bpe->unk_id;
        }
    }
    if (st == ACC_OK && pending_unk >= 0)
        st = word_add(w, pending_unk, err);
    tok_str_free(&scratch);
    return st;
}

static acc_status word_merge_all(const tok_bpe *bpe, word *w, acc_error *err)
{
    merge_heap heap = {0};
    acc_status st = ACC_OK;
    int32_t rank, merged;
    for (size_t i = 0; i + 1 < w->len && st == ACC_OK; i++)
        if (tok_pairmap_get(&bpe->merges, w->symbols[i].id, w->symbols[i + 1].id, &rank,
                            &merged))
            st = heap_push(&heap, (merge_item){rank, (int32_t)i, merged}, err);
    while (st == ACC_OK && heap.len > 0) {
        merge_item top = heap_pop(&heap);
        symbol *left = &w->symbols[top.pos];
        if (!left->alive || left->next < 0)
            continue;
        symbol *right = &w->symbols[left->next];
        /* Skip entries made stale by an earlier merge. */
        if (!tok_pairmap_get(&bpe->merges, left->id, right->id, &rank, &merged) ||
            merged != top.merged)
            continue;
        left->id = top.merged;
        right->alive = 0;
        left->next = right->next;
        if (right->next >= 0)
            w->symbols[right->next].prev = top.pos;
        if (left->prev >= 0) {
            symbol *prev = &w->symbols[left->prev];
            if (tok_pairmap_get(&bpe->merges, prev->id, left->id, &rank, &merged))
                st = heap_push(&heap, (merge_item){rank, left->prev, merged}, err);
        }
        if (st == ACC_OK && left->next >= 0) {
            symbol *next = &w->symbols[left->next];
            if (tok_pairmap_get(&bpe->merges, left->id, next->id, &rank, &merged))
                st = heap_push(&heap, (merge_item){rank, top.pos, merged}, err);
        }
    }
    free(heap.items);
    return st;
}

acc_status tok_bpe_encode(const tok_bpe *bpe, const char *text, size_t len, tok_ids *out,
                          acc_error *err)
{
    if (len == 0)
        return ACC_OK;
    if (bpe->ignore_merges) {
        int32_t id = tok_strmap_get(&bpe->vocab, text, len);
        if (id >= 0)
            return tok_ids_push(out, id, err);
    }
    word w = {0};
    acc_status st = word_from_chars(bpe, text, len, &w, err);
    if (st == ACC_OK)
        st = word_merge_all(bpe, &w, err);
    for (size_t i = 0; i < w.len && st == ACC_OK; i++)
        if (w.symbols[i].alive)
            st = tok_ids_push(out, w.symbols[i].id, err);
    free(w.symbols);
    return st;
}
