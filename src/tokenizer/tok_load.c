/*
 * tok_load.c — acc_tokenizer_load: reads tokenizer.json, builds every
 * stage (normalizer, pre-tokenizer, BPE model, added tokens,
 * post-processor, decoder), the id -> token table, and picks BOS/EOS ids.
 * Also the small accessors of tokenizer.h.
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void acc_tokenizer_free(acc_tokenizer *tok)
{
    if (!tok)
        return;
    tok_bpe_free(&tok->bpe);
    tok_normalizer_free(tok->normalizer);
    tok_pretokenizer_free(tok->pretokenizer);
    tok_postprocessor_free(tok->postprocessor);
    tok_decoder_free(tok->decoder);
    tok_added_free(&tok->added);
    free(tok->entries);
    free(tok);
}

static acc_status build_entries(const tok_ctx *ctx, acc_tokenizer *tok)
{
    int32_t max_id = tok->bpe.max_id;
    for (size_t i = 0; i < tok->added.len; i++)
        if (tok->added.tokens[i].id > max_id)
            max_id = tok->added.tokens[i].id;
    tok->n_entries = (size_t)(max_id + 1);
    tok->entries = acc_calloc(tok->n_entries + 1, sizeof *tok->entries, ctx->err);
    if (!tok->entries)
        return ACC_ERR_RUNTIME;
    const tok_strmap *vocab = &tok->bpe.vocab;
    for (size_t i = 0; i < vocab->cap; i++) {
        const tok_strmap_slot *slot = &vocab->slots[i];
        if (!slot->key || tok->entries[slot->value].text)
            continue;
        tok->entries[slot->value] = (tok_entry){slot->key, slot->len, TOK_FLAG_VOCAB};
    }
    for (size_t i = 0; i < tok->added.len; i++) {
        const tok_added_token *t = &tok->added.tokens[i];
        tok_entry *e = &tok->entries[t->id];
        e->text = t->content;
        e->len = (uint32_t)t->len;
        e->flags |= TOK_FLAG_ADDED | (t->special ? TOK_FLAG_SPECIAL : 0);
    }
    return ACC_OK;
}

/* The id of an added token (plain vocabulary entries that merely look
 * like "<s>" are not trusted as BOS/EOS). */
static int32_t token_id(const acc_tokenizer *tok, const char *text)
{
    int32_t index = tok_strmap_get(&tok->added.by_content, text, strlen(text));
    return index >= 0 ? tok->added.tokens[index].id : -1;
}

static int32_t first_known(const acc_tokenizer *tok, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t id = token_id(tok, names[i]);
        if (id >= 0)
            return id;
    }
    return -1;
}

/* BOS/EOS: the special tokens the post-processor puts before/after the
 * text; else the first added token with one of the conventional names. */
static void pick_bos_eos(acc_tokenizer *tok)
{
    static const char *const bos_names[] = {"<|begin_of_text|>", "<s>", "<bos>",
                                            "<|startoftext|>", "<|endoftext|>"};
    static const char *const eos_names[] = {"</s>",     "<|end_of_text|>", "<|endoftext|>",
                                            "<|im_end|>", "<|eot_id|>",    "<eos>"};
    int32_t first = -1, last = -1;
    tok_postprocessor_bounds(tok->postprocessor, &first, &last);
    tok->bos_id = first >= 0 ? first : first_known(tok, bos_names, 5);
    tok->eos_id = last >= 0 ? last : first_known(tok, eos_names, 6);
}

static acc_status load_root(const tok_ctx *ctx, json_t *root, acc_tokenizer *tok)
{
    if (!json_is_object(root))
        return tok_json_error(ctx, "(root)", "expected an object");
    json_t *version = json_object_get(root, "version");
    if (version && !(json_is_string(version) && strcmp(json_string_value(version), "1.0") == 0))
        return tok_json_error(ctx, "version", "unsupported (expected \"1.0\")");
    json_t *model = json_object_get(root, "model");
    if (!model)
        return tok_json_error(ctx, "model", "missing");
    acc_status st = tok_normalizer_load(ctx, json_object_get(root, "normalizer"), "normalizer",
                                        0, &tok->normalizer);
    if (st == ACC_OK)
        st = tok_pretokenizer_load(ctx, json_object_get(root, "pre_tokenizer"), "pre_tokenizer",
                                   0, &tok->pretokenizer);
    if (st == ACC_OK)
        st = tok_bpe_load(ctx, model, &tok->bpe);
    if (st == ACC_OK)
        st = tok_added_load(ctx, json_object_get(root, "added_tokens"), &tok->bpe,
                            tok->normalizer, &tok->added);
    if (st == ACC_OK)
        st = tok_postprocessor_load(ctx, json_object_get(root, "post_processor"),
                                    "post_processor", 0, &tok->postprocessor);
    if (st == ACC_OK)
        st = tok_decoder_load(ctx, json_object_get(root, "decoder"), "decoder", 0,
                              &tok->decoder);
    if (st == ACC_OK)
        st = build_entries(ctx, tok);
    if (st == ACC_OK)
        pick_bos_eos(tok);
    return st;
}

acc_status tok_load_root(json_t *root, const char *name, acc_tokenizer **out, acc_error *err)
{
    *out = NULL;
    acc_tokenizer *tok = acc_calloc(1, sizeof *tok, err);
    if (!tok)
        return ACC_ERR_RUNTIME;
    acc_error local = {0};
    tok_ctx ctx = {.name = name, .err = err ? err : &local};
    acc_status st = load_root(&ctx, root, tok);
    if (st != ACC_OK) {
        acc_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return ACC_OK;
}

acc_status acc_tokenizer_load_json(const char *text, size_t size, const char *name,
                                   acc_tokenizer **out, acc_error *err)
{
    *out = NULL;
    if (!name)
        name = "tokenizer.json";
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_ALLOW_NUL, &jerr);
    if (!root)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %d:%d: %s", name, jerr.line, jerr.column,
                             jerr.text);
    acc_tokenizer *tok = acc_calloc(1, sizeof *tok, err);
    if (!tok) {
        json_decref(root);
        return ACC_ERR_RUNTIME;
    }
    acc_error local = {0};
    tok_ctx ctx = {.name = name, .err = err ? err : &local};
    acc_status st = load_root(&ctx, root, tok);
    json_decref(root);
    if (st != ACC_OK) {
        acc_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return ACC_OK;
}

acc_status acc_tokenizer_load(const char *path, acc_tokenizer **out, acc_error *err)
{
    *out = NULL;
    acc_mapped_file file;
    acc_status st = acc_mapped_file_open(&file, path, err);
    if (st != ACC_OK)
        return st;
    st = acc_tokenizer_load_json((const char *)(file.data ? file.data : (const uint8_t *)""),
                                 file.size, path, out, err);
    acc_mapped_file_close(&file);
    return st;
}

int acc_tokenizer_vocab_size(const acc_tokenizer *tok)
{
    return (int)tok->n_entries;
}

int32_t acc_tokenizer_bos_id(const acc_tokenizer *tok)
{
    return tok->bos_id;
}

int32_t acc_tokenizer_eos_id(const acc_tokenizer *tok)
{
    return tok->eos_id;
}

const char *acc_tokenizer_token_text(const acc_tokenizer *tok, int32_t id)
{
    if (id < 0 || (size_t)id >= tok->n_entries)
        return NULL;
    return tok->entries[id].text;
}

int acc_tokenizer_is_special(const acc_tokenizer *tok, int32_t id)
{
    if (id < 0 || (size_t)id >= tok->n_entries)
        return 0;
    return (tok->entries[id].flags & TOK_FLAG_SPECIAL) != 0;
}
