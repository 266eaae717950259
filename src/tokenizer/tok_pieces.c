/*
 * tok_pieces.c — the text under tokenization as a list of pieces over one
 * growing buffer, and the splitting rules of HF's NormalizedString::split
 * (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous).
 * Splitting never copies text; transforms append the new text to the buffer.
 */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

acc_status tok_segments_apply_behavior(tok_segments *s, tok_split_behavior behavior,
                                       acc_error *err)
{
    (void)err;
    size_t n = s->len, w = 0;
    tok_segment *d = s->data;
    switch (behavior) {
    case TOK_SPLIT_ISOLATED:
        for (size_t i = 0; i < n; i++)
            d[i].flag = -1;
        return ACC_OK;
    case TOK_SPLIT_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!d[i].flag)
                d[w++] = (tok_segment){d[i].start, d[i].end, -1};
        s->len = w;
        return ACC_OK;
    case TOK_SPLIT_CONTIGUOUS: {
        int previous = 0;
        for (size_t i = 0; i < n; i++) {
            int match = d[i].flag != 0;
            if (match == previous && w > 0)
                d[w - 1].end = d[i].end;
            else
                d[w++] = (tok_segment){d[i].start, d[i].end, -1};
            previous = match;
        }
        s->len = w;
        return ACC_OK;
    }
    case TOK_SPLIT_MERGED_WITH_PREVIOUS: {
        int previous = 0;
        for (size_t i = 0; i < n; i++) {
            int match = d[i].flag != 0;
            if (match && !previous && w > 0)
                d[w - 1].end = d[i].end;
            else
                d[w++] = (tok_segment){d[i].start, d[i].end, -1};
            previous = match;
        }
        s->len = w;
        return ACC_OK;
    }
    case TOK_SPLIT_MERGED_WITH_NEXT: {
        /* Walk backwards, then reverse: a match joins the piece after it. */
        int previous = 0;
        for (size_t k = n; k-- > 0;) {
            int match = d[k].flag != 0;
            tok_segment seg = d[k];
            if (match && !previous && w > 0)
                d[n - w].start = seg.start; /* the last written one */
            else {
                w++;
                d[n - w] = (tok_segment){seg.start, seg.end, -1};
            }
            previous = match;
        }
        memmove(d, d + (n - w), w * sizeof *d);
        s->len = w;
        return ACC_OK;
    }
    }
    return ACC_OK;
}

size_t tok_growth_limit(size_t input)
{
    if (input > (SIZE_MAX - TOK_GROWTH_BASE) / TOK_GROWTH)
        return SIZE_MAX;
    return TOK_GROWTH_BASE + input * TOK_GROWTH;
}

void tok_pieces_free(tok_pieces *p)
{
    free(p->items);
    tok_str_free(&p->buf);
    memset(p, 0, sizeof *p);
}

static acc_status pieces_push(tok_piece **items, size_t *len, size_t *cap, tok_piece piece,
                              acc_error *err)
{
    if (*len == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        tok_piece *grown = realloc(*items, grown_cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
        *items = grown;
        *cap = grown_cap;
    }
    (*items)[(*len)++] = piece;
    return ACC_OK;
}

acc_status tok_pieces_split(tok_pieces *p, tok_split_fn split, const void *ctx,
                            acc_error *err)
{
    tok_piece *items = NULL;
    size_t len = 0, cap = 0;
    tok_segments segs = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < p->len && st == ACC_OK; i++) {
        tok_piece piece = p->items[i];
        if (piece.id >= 0) {
            st = pieces_push(&items, &len, &cap, piece, err);
            continue;
        }
        segs.len = 0;
        st = split(ctx, p->buf.data + piece.off, piece.len, &segs, err);
        for (size_t k = 0; k < segs.len && st == ACC_OK; k++) {
            tok_segment seg = segs.data[k];
            if (seg.end <= seg.start || seg.end > piece.len)
                continue;
            tok_piece sub = {
                .off = piece.off + seg.start,
                .len = seg.end - seg.start,
                .id = seg.flag,
                .at_origin = (uint8_t)(piece.at_origin && seg.start == 0),
            };
            st = pieces_push(&items, &len, &cap, sub, err);
        }
    }
    free(segs.data);
    if (st != ACC_OK) {
        free(items);
        return st;
    }
    free(p->items);
    p->items = items;
    p->len = len;
    p->cap = cap;
    return ACC_OK;
}

acc_status tok_pieces_transform(tok_pieces *p, tok_transform_fn transform, const void *ctx,
                                acc_error *err)
{
    tok_str out = {0};
    acc_status st = ACC_OK;
    for (size_t i = 0; i < p->len && st == ACC_OK; i++) {
        tok_piece *piece = &p->items[i];
        if (piece->id >= 0)
            continue;
        out.len = 0;
        st = transform(ctx, piece, p->buf.data + piece->off, piece->len, &out, err);
        if (st != ACC_OK)
            break;
        size_t off = p->buf.len;
        if (p->limit && off + out.len > p->limit) {
            st = acc_error_set(err, ACC_ERR_INPUT,
                               "tokenizer: text grew past %zu bytes while pre-tokenizing",
                               p->limit);
            break;
        }
        st = tok_str_append(&p->buf, out.data ? out.data : "", out.len, err);
        piece->off = off;
        piece->len = out.len;
    }
    tok_str_free(&out);
    return st;
}
