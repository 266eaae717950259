/*
 * tok_postprocess.c — HF post-processors for a single sequence:
 * TemplateProcessing ("single" template with its special_tokens map),
 * RobertaProcessing and BertProcessing (<cls> A <sep>), ByteLevel (ids
 * unchanged) and Sequence.  With add_special off they keep the ids as are.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum post_kind { POST_SEQUENCE, POST_TEMPLATE, POST_WRAP, POST_NONE } post_kind;

typedef struct template_piece {
    int is_sequence;
    int32_t *ids; /* special token ids when !is_sequence */
    size_t n_ids;
} template_piece;

struct tok_postprocessor {
    post_kind kind;
    tok_postprocessor **children;
    size_t n_children;
    template_piece *pieces;
    size_t n_pieces;
    int32_t cls, sep; /* POST_WRAP */
};

void tok_postprocessor_free(tok_postprocessor *post)
{
    if (!post)
        return;
    for (size_t i = 0; i < post->n_children; i++)
        tok_postprocessor_free(post->children[i]);
    free(post->children);
    for (size_t i = 0; i < post->n_pieces; i++)
        free(post->pieces[i].ids);
    free(post->pieces);
    free(post);
}

static acc_status load_special(const tok_ctx *ctx, json_t *specials, const char *name,
                               const char *field, template_piece *piece)
{
    json_t *entry = json_is_object(specials) ? json_object_get(specials, name) : NULL;
    if (!json_is_object(entry))
        return tok_json_error(ctx, field, "special token '%.64s' missing from special_tokens",
                              name);
    json_t *ids = json_object_get(entry, "ids");
    if (!json_is_array(ids))
        return tok_json_error(ctx, field, "special_tokens['%.64s'].ids must be a list", name);
    piece->ids = acc_calloc(json_array_size(ids) + 1, sizeof *piece->ids, ctx->err);
    if (!piece->ids)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        int64_t id;
        if (tok_json_uint(ctx, json_array_get(ids, i), field, TOK_MAX_ID - 1, &id) != ACC_OK)
            return ACC_ERR_INPUT;
        piece->ids[piece->n_ids++] = (int32_t)id;
    }
    return ACC_OK;
}

static acc_status load_template(const tok_ctx *ctx, json_t *json, const char *field,
                                tok_postprocessor *post)
{
    char path[300];
    snprintf(path, sizeof path, "%s.single", field);
    json_t *single = json_object_get(json, "single");
    json_t *specials = json_object_get(json, "special_tokens");
    if (!json_is_array(single))
        return tok_json_error(ctx, path, "expected a list");
    post->pieces = acc_calloc(json_array_size(single) + 1, sizeof *post->pieces, ctx->err);
    if (!post->pieces)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < json_array_size(single); i++) {
        snprintf(path, sizeof path, "%s.single[%zu]", field, i);
        json_t *item = json_array_get(single, i);
        template_piece *piece = &post->pieces[post->n_pieces++];
        json_t *seq = json_object_get(item, "Sequence");
        json_t *special = json_object_get(item, "SpecialToken");
        if (json_is_object(seq)) {
            const char *id;
            if (tok_json_string(ctx, seq, "id", path, &id, NULL) != ACC_OK)
                return ACC_ERR_INPUT;
            if (!id || strcmp(id, "A") != 0)
                return tok_json_error(ctx, path, "a single template may only use sequence A");
            piece->is_sequence = 1;
        } else if (json_is_object(special)) {
            const char *id;
            if (tok_json_string(ctx, special, "id", path, &id, NULL) != ACC_OK)
                return ACC_ERR_INPUT;
            if (!id)
                return tok_json_error(ctx, path, "missing \"id\"");
            acc_status st = load_special(ctx, specials, id, path, piece);
            if (st != ACC_OK)
                return st;
        } else {
            return tok_json_error(ctx, path, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
    }
    return ACC_OK;
}

static acc_status load_pair_id(const tok_ctx *ctx, json_t *json, const char *key,
                               const char *field, int32_t *out)
{
    char path[300];
    snprintf(path, sizeof path, "%s.%s", field, key);
    json_t *pair = json_object_get(json, key);
    if (!json_is_array(pair) || json_array_size(pair) != 2 ||
        !json_is_string(json_array_get(pair, 0)))
        return tok_json_error(ctx, path, "expected [\"token\", id]");
    int64_t id;
    if (tok_json_uint(ctx, json_array_get(pair, 1), path, TOK_MAX_ID - 1, &id) != ACC_OK)
        return ACC_ERR_INPUT;
    *out = (int32_t)id;
    return ACC_OK;
}

acc_status tok_postprocessor_load(const tok_ctx *ctx, json_t *json, const char *field,
                                  int depth, tok_postprocessor **out)
{
    *out = NULL;
    const char *type;
    if (tok_json_component(ctx, json, field, depth, &type) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!type)
        return ACC_OK;
    tok_postprocessor *post = acc_calloc(1, sizeof *post, ctx->err);
    if (!post)
        return ACC_ERR_RUNTIME;
    acc_status st = ACC_OK;
    if (strcmp(type, "Sequence") == 0) {
        post->kind = POST_SEQUENCE;
        json_t *list = NULL;
        st = tok_json_list(ctx, json, "processors", field, &list);
        if (st == ACC_OK && !(post->children = acc_calloc(json_array_size(list) + 1,
                                                          sizeof *post->children, ctx->err)))
            st = ACC_ERR_RUNTIME;
        for (size_t i = 0; st == ACC_OK && i < json_array_size(list); i++) {
            char path[256];
            snprintf(path, sizeof path, "%s.processors[%zu]", field, i);
            st = tok_postprocessor_load(ctx, json_array_get(list, i), path, depth + 1,
                                        &post->children[post->n_children]);
            if (st == ACC_OK && post->children[post->n_children])
                post->n_children++;
        }
    } else if (strcmp(type, "TemplateProcessing") == 0) {
        post->kind = POST_TEMPLATE;
        st = load_template(ctx, json, field, post);
    } else if (strcmp(type, "RobertaProcessing") == 0 || strcmp(type, "BertProcessing") == 0) {
        post->kind = POST_WRAP;
        st = load_pair_id(ctx, json, "cls", field, &post->cls);
        if (st == ACC_OK)
            st = load_pair_id(ctx, json, "sep", field, &post->sep);
    } else if (strcmp(type, "ByteLevel") == 0) {
        post->kind = POST_NONE;
    } else {
        char path[300];
        snprintf(path, sizeof path, "%s.type", field);
        st = tok_json_error(ctx, path, "unsupported '%s'", type);
    }
    if (st != ACC_OK) {
        tok_postprocessor_free(post);
        return st;
    }
    *out = post;
    return ACC_OK;
}

static acc_status append_ids(tok_ids *out, const int32_t *ids, size_t n, acc_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (tok_ids_push(out, ids[i], err) != ACC_OK)
            return ACC_ERR_RUNTIME;
    return ACC_OK;
}

acc_status tok_postprocessor_apply(const tok_postprocessor *post, const tok_ids *ids,
                                   int add_special, tok_ids *out, acc_error *err)
{
    out->len = 0;
    if (!post || post->kind == POST_NONE || (post->kind == POST_WRAP && !add_special))
        return append_ids(out, ids->data, ids->len, err);
    if (post->kind == POST_WRAP) {
        if (tok_ids_push(out, post->cls, err) != ACC_OK ||
            append_ids(out, ids->data, ids->len, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        return tok_ids_push(out, post->sep, err);
    }
    if (post->kind == POST_TEMPLATE) {
        for (size_t i = 0; i < post->n_pieces; i++) {
            const template_piece *piece = &post->pieces[i];
            acc_status st = ACC_OK;
            if (piece->is_sequence)
                st = append_ids(out, ids->data, ids->len, err);
            else if (add_special)
                st = append_ids(out, piece->ids, piece->n_ids, err);
            if (st != ACC_OK)
                return st;
        }
        return ACC_OK;
    }
    /* Sequence: each processor works on the previous one's output. */
    tok_ids current = {0};
    acc_status st = append_ids(&current, ids->data, ids->len, err);
    for (size_t i = 0; i < post->n_children && st == ACC_OK; i++) {
        tok_ids next = {0};
        st = tok_postprocessor_apply(post->children[i], &current, add_special, &next, err);
        free(current.data);
        current = next;
    }
    if (st == ACC_OK)
        st = append_ids(out, current.data, current.len, err);
    free(current.data);
    return st;
}

void tok_postprocessor_bounds(const tok_postprocessor *post, int32_t *first, int32_t *last)
{
    if (!post)
        return;
    switch (post->kind) {
    case POST_WRAP:
        *first = post->cls;
        *last = post->sep;
        break;
    case POST_TEMPLATE:
        if (post->n_pieces >= 1 && !post->pieces[0].is_sequence && post->pieces[0].n_ids)
            *first = post->pieces[0].ids[0];
        if (post->n_pieces >= 2) {
            const template_piece *end = &post->pieces[post->n_pieces - 1];
            if (!end->is_sequence && end->n_ids)
                *last = end->ids[end->n_ids - 1];
        }
        break;
    case POST_SEQUENCE:
        for (size_t i = 0; i < post->n_children; i++)
            tok_postprocessor_bounds(post->children[i], first, last);
        break;
    case POST_NONE:
        break;
    }
}
