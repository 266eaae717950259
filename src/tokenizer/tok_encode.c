/*
 * tok_encode.c — acc_tokenizer_encode and acc_tokenizer_decode: the HF
 * pipeline end to end.  Encode: raw added tokens out, normalize the rest,
 * normalized added tokens out, pre-tokenize, BPE per piece, post-process.
 * Decode: id -> token text (added tokens first), decoder chain, join.
 */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

static acc_status normalize_piece(const void *ctx, const tok_piece *piece, const char *text,
                                  size_t len, tok_str *out, acc_error *err)
{
    (void)piece;
    return tok_normalizer_apply(ctx, text, len, out, err);
}

static acc_status encode_pieces(const acc_tokenizer *tok, tok_pieces *pieces, tok_ids *raw,
                                acc_error *err)
{
    acc_status st = ACC_OK;
    if (tok->added.raw.count) {
        tok_added_split_ctx split = {&tok->added, &tok->added.raw};
        st = tok_pieces_split(pieces, tok_added_split, &split, err);
    }
    if (st == ACC_OK && tok->normalizer)
        st = tok_pieces_transform(pieces, normalize_piece, tok->normalizer, err);
    if (st == ACC_OK && tok->added.normalized.count) {
        tok_added_split_ctx split = {&tok->added, &tok->added.normalized};
        st = tok_pieces_split(pieces, tok_added_split, &split, err);
    }
    if (st == ACC_OK && tok->pretokenizer)
        st = tok_pretokenizer_apply(tok->pretokenizer, pieces, err);
    for (size_t i = 0; i < pieces->len && st == ACC_OK; i++) {
        const tok_piece *piece = &pieces->items[i];
        if (piece->id >= 0)
            st = tok_ids_push(raw, piece->id, err);
        else
            st = tok_bpe_encode(&tok->bpe, pieces->buf.data + piece->off, piece->len, raw, err);
    }
    return st;
}

acc_status acc_tokenizer_encode(const acc_tokenizer *tok, const char *text, size_t size,
                                int add_special, int32_t **ids, size_t *n_ids, acc_error *err)
{
    *ids = NULL;
    *n_ids = 0;
    size_t bad = 0;
    if (size > 0 && !acc_utf8_valid(text, size, &bad))
        return acc_error_set(err, ACC_ERR_INPUT, "prompt: invalid UTF-8 at byte %zu", bad);
    tok_pieces pieces = {0};
    tok_ids raw = {0}, final = {0};
    pieces.limit = tok_growth_limit(size);
    acc_status st = tok_str_append(&pieces.buf, size ? text : "", size, err);
    if (st == ACC_OK && size > 0) {
        pieces.items = acc_malloc(sizeof *pieces.items, err);
        if (!pieces.items)
            st = ACC_ERR_RUNTIME;
        else {
            pieces.items[0] = (tok_piece){.off = 0, .len = size, .id = -1, .at_origin = 1};
            pieces.len = pieces.cap = 1;
        }
    }
    if (st == ACC_OK)
        st = encode_pieces(tok, &pieces, &raw, err);
    if (st == ACC_OK)
        st = tok_postprocessor_apply(tok->postprocessor, &raw, add_special, &final, err);
    tok_pieces_free(&pieces);
    free(raw.data);
    if (st != ACC_OK) {
        free(final.data);
        return st;
    }
    if (!final.data && !(final.data = acc_malloc(sizeof *final.data, err)))
        return ACC_ERR_RUNTIME;
    *ids = final.data;
    *n_ids = final.len;
    return ACC_OK;
}

acc_status acc_tokenizer_decode(const acc_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                int skip_special, char **text, size_t *size, acc_error *err)
{
    *text = NULL;
    if (size)
        *size = 0;
    tok_strlist tokens = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < n_ids && st == ACC_OK; i++) {
        int32_t id = ids[i];
        /* HF silently drops ids it does not know. */
        if (id < 0 || (size_t)id >= tok->n_entries || !tok->entries[id].text)
            continue;
        const tok_entry *e = &tok->entries[id];
        if (skip_special && (e->flags & TOK_FLAG_SPECIAL))
            continue;
        st = tok_strlist_push(&tokens, e->text, e->len, err);
    }
    if (st == ACC_OK && tok->decoder)
        st = tok_decoder_apply(tok->decoder, &tokens, err);
    tok_str joined = {0};
    if (st == ACC_OK)
        st = tok_str_append(&joined, "", 0, err);
    for (size_t i = 0; i < tokens.len && st == ACC_OK; i++) {
        if (!tok->decoder && i > 0)
            st = tok_str_append(&joined, " ", 1, err);
        if (st == ACC_OK)
            st = tok_str_append(&joined, tokens.items[i].data, tokens.items[i].len, err);
    }
    tok_strlist_free(&tokens);
    if (st != ACC_OK) {
        tok_str_free(&joined);
        return st;
    }
    *text = joined.data;
    if (size)
        *size = joined.len;
    return ACC_OK;
}
