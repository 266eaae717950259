/*
 * convert_vocab.c — tokenizer.json (+ tokenizer_config.json's chat
 * template) to the tokenizer.ggml.* keys llama.cpp reads.
 *
 * Byte-level BPE becomes model "gpt2" with the pre-tokenizer type llama.cpp
 * knows for its split regex (gpt2, llama-bpe, qwen2).  BPE with byte
 * fallback and a Sequence decoder (SentencePiece-style Llama/Mistral) becomes
 * model "llama", as llama.cpp's converter writes it (LlamaHfVocab), except
 * for the scores: llama.cpp's SPM tokenizer merges the highest-scoring pair
 * first, so each token's score is minus the rank of the merge that makes
 * it (LlamaHfVocab writes -1000 everywhere, which makes llama.cpp merge
 * leftmost-first and disagree with HF).  The merges are written as well.
 */
#include "convert/convert_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5,
       TT_BYTE = 6 };

static const char LLAMA3_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char QWEN2_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char *type_of(json_t *obj)
{
    return json_string_value(json_object_get(obj, "type"));
}

/* The pre-tokenizer type llama.cpp names for this tokenizer.json. */
static const char *detect_pre(json_t *pre)
{
    const char *type = type_of(pre);
    if (!type)
        return NULL;
    if (strcmp(type, "ByteLevel") == 0 && json_is_true(json_object_get(pre, "use_regex")))
        return "gpt-2";
    if (strcmp(type, "Sequence") != 0)
        return NULL;
    json_t *list = json_object_get(pre, "pretokenizers");
    if (json_array_size(list) != 2)
        return NULL;
    json_t *split = json_array_get(list, 0), *bl = json_array_get(list, 1);
    if (!type_of(split) || strcmp(type_of(split), "Split") != 0 || !type_of(bl) ||
        strcmp(type_of(bl), "ByteLevel") != 0)
        return NULL;
    const char *regex = json_string_value(json_object_get(json_object_get(split, "pattern"),
                                                          "Regex"));
    if (!regex)
        return NULL;
    if (strcmp(regex, LLAMA3_REGEX) == 0)
        return "llama-bpe";
    if (strcmp(regex, QWEN2_REGEX) == 0)
        return "qwen2";
    return NULL;
}

/* Leading/trailing special token the TemplateProcessing adds to one text. */
static void template_bounds(json_t *post, int *bos, int *eos)
{
    *bos = *eos = 0;
    if (!type_of(post) || strcmp(type_of(post), "TemplateProcessing") != 0)
        return;
    json_t *single = json_object_get(post, "single");
    size_t n = json_array_size(single);
    if (n == 0)
        return;
    *bos = json_object_get(json_array_get(single, 0), "SpecialToken") != NULL;
    *eos = n > 1 && json_object_get(json_array_get(single, n - 1), "SpecialToken") != NULL;
}

static int is_byte_token(const char *text)
{
    return strlen(text) == 6 && strncmp(text, "<0x", 3) == 0 && text[5] == '>';
}

/* Merge i as "a b" and its two halves. */
static int merge_parts(json_t *merge, char *buf, size_t size)
{
    if (json_is_string(merge)) {
        snprintf(buf, size, "%s", json_string_value(merge));
        return (size_t)json_string_length(merge) < size;
    }
    json_t *a = json_array_get(merge, 0), *b = json_array_get(merge, 1);
    if (!json_is_string(a) || !json_is_string(b) || strchr(json_string_value(a), ' ') ||
        strchr(json_string_value(b), ' '))
        return 0;
    int n = snprintf(buf, size, "%s %s", json_string_value(a), json_string_value(b));
    return n > 0 && (size_t)n < size;
}

static acc_status chat_template(const char *dir, acc_gguf_writer *w, acc_error *err)
{
    char *path = acc_path_join(dir, "tokenizer_config.json", err);
    if (!path)
        return ACC_ERR_RUNTIME;
    acc_status st = ACC_OK;
    if (acc_path_exists(path)) {
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        if (!root) {
            st = acc_error_set(err, ACC_ERR_INPUT, "%s: %d:%d: %s", path, jerr.line, jerr.column,
                               jerr.text);
        } else {
            json_t *tpl = json_object_get(root, "chat_template");
            if (json_is_string(tpl))
                st = acc_gguf_writer_set_string(w, "tokenizer.chat_template",
                                                json_string_value(tpl), err);
            json_decref(root);
        }
    }
    free(path);
    return st;
}

acc_status convert_write_vocab(const char *dir, const acc_hparams *hp, acc_gguf_writer *w,
                               acc_error *err)
{
    char *path = acc_path_join(dir, "tokenizer.json", err);
    if (!path)
        return ACC_ERR_RUNTIME;
    if (!acc_path_exists(path)) {
        free(path);
        return ACC_OK; /* a model without a tokenizer converts without one */
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        acc_status st = acc_error_set(err, ACC_ERR_INPUT, "%s: %d:%d: %s", path, jerr.line,
                                      jerr.column, jerr.text);
        free(path);
        return st;
    }
    acc_status st = ACC_OK;
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab");
    json_t *merges = json_object_get(model, "merges");
    json_t *added = json_object_get(root, "added_tokens");
    const char **texts = NULL;
    int32_t *ttypes = NULL;
    float *scores = NULL;
    char **merge_strs = NULL;
    size_t n_merges = json_array_size(merges);
    int spm = json_is_true(json_object_get(model, "byte_fallback")) && type_of(json_object_get(root, "decoder")) &&
              strcmp(type_of(json_object_get(root, "decoder")), "Sequence") == 0;
    const char *pre = spm ? "default" : detect_pre(json_object_get(root, "pre_tokenizer"));
    if (!type_of(model) || strcmp(type_of(model), "BPE") != 0 || !json_is_object(vocab)) {
        st = acc_error_set(err, ACC_ERR_INPUT, "%s: model: only BPE tokenizers convert", path);
        goto done;
    }
    if (!pre) {
        st = acc_error_set(err, ACC_ERR_INPUT,
                           "%s: pre_tokenizer: not one llama.cpp knows (GPT-2 ByteLevel, the "
                           "Llama-3 or Qwen2 split regex, or SentencePiece-style byte fallback)",
                           path);
        goto done;
    }
    /* ids: vocab and added tokens; the table is as long as the embedding */
    int64_t max_id = -1;
    const char *key;
    json_t *value;
    json_object_foreach(vocab, key, value)
    {
        if (json_integer_value(value) > max_id)
            max_id = json_integer_value(value);
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        int64_t id = json_integer_value(json_object_get(json_array_get(added, i), "id"));
        if (id > max_id)
            max_id = id;
    }
    if (max_id >= hp->vocab_size) {
        st = acc_error_set(err, ACC_ERR_INPUT,
                           "%s: token id %lld is outside the model's vocab_size %d", path,
                           (long long)max_id, hp->vocab_size);
        goto done;
    }
    size_t n = (size_t)hp->vocab_size;
    texts = acc_calloc(n, sizeof *texts, err);
    ttypes = acc_calloc(n, sizeof *ttypes, err);
    scores = acc_calloc(n, sizeof *scores, err);
    merge_strs = acc_calloc(n_merges ? n_merges : 1, sizeof *merge_strs, err);
    char **pads = acc_calloc(n, sizeof *pads, err);
    if (!texts || !ttypes || !scores || !merge_strs || !pads) {
        free(pads);
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    json_object_foreach(vocab, key, value)
    {
        int64_t id = json_integer_value(value);
        if (id < 0 || id >= (int64_t)n)
            continue;
        texts[id] = key;
        ttypes[id] = spm && is_byte_token(key) ? TT_BYTE : TT_NORMAL;
        scores[id] = spm && strlen(key) > 1 && !is_byte_token(key) ? -1e9f : 0.0f;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *item = json_array_get(added, i);
        int64_t id = json_integer_value(json_object_get(item, "id"));
        const char *content = json_string_value(json_object_get(item, "content"));
        if (id < 0 || id >= (int64_t)n || !content)
            continue;
        texts[id] = content;
        ttypes[id] = json_is_true(json_object_get(item, "special")) ? TT_CONTROL : TT_USER_DEFINED;
        scores[id] = spm ? -1000.0f : 0.0f;
    }
    for (size_t i = 0; i < n_merges && st == ACC_OK; i++) {
        char buf[1024];
        if (!merge_parts(json_array_get(merges, i), buf, sizeof buf)) {
            st = acc_error_set(err, ACC_ERR_INPUT, "%s: model.merges[%zu]: not convertible", path,
                               i);
            break;
        }
        merge_strs[i] = acc_strdup(buf, err);
        if (!merge_strs[i]) {
            st = ACC_ERR_RUNTIME;
            break;
        }
        /* the merged token's score: minus its merge rank */
        char *space = strchr(buf, ' ');
        memmove(space, space + 1, strlen(space + 1) + 1);
        json_t *id = json_object_get(vocab, buf);
        if (spm && json_is_integer(id) && json_integer_value(id) < (json_int_t)n &&
            scores[json_integer_value(id)] == -1e9f)
            scores[json_integer_value(id)] = -(float)(i + 1);
    }
    for (size_t id = 0; id < n && st == ACC_OK; id++) {
        if (texts[id])
            continue;
        char buf[32];
        snprintf(buf, sizeof buf, "[PAD%zu]", id);
        pads[id] = acc_strdup(buf, err);
        if (!pads[id])
            st = ACC_ERR_RUNTIME;
        texts[id] = pads[id];
        ttypes[id] = TT_UNUSED;
    }
    if (st == ACC_OK)
        st = acc_gguf_writer_set_string(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2", err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_string(w, "tokenizer.ggml.pre", pre, err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens", texts, n, err);
    if (st == ACC_OK && spm)
        st = acc_gguf_writer_set_array(w, "tokenizer.ggml.scores", ACC_GGUF_F32, scores, n, err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_array(w, "tokenizer.ggml.token_type", ACC_GGUF_I32, ttypes, n,
                                       err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_string_array(w, "tokenizer.ggml.merges",
                                              (const char *const *)merge_strs, n_merges, err);
    if (st == ACC_OK && hp->bos_token_id >= 0 && (size_t)hp->bos_token_id < n)
        st = acc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)hp->bos_token_id,
                                     err);
    if (st == ACC_OK && hp->eos_token_id >= 0 && (size_t)hp->eos_token_id < n)
        st = acc_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)hp->eos_token_id,
                                     err);
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    if (st == ACC_OK && unk && json_is_integer(json_object_get(vocab, unk)))
        st = acc_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id",
                                     (uint32_t)json_integer_value(json_object_get(vocab, unk)),
                                     err);
    int add_bos, add_eos;
    template_bounds(json_object_get(root, "post_processor"), &add_bos, &add_eos);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", add_bos, err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", add_eos, err);
    if (st == ACC_OK && spm)
        st = acc_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", 1, err);
    if (st == ACC_OK)
        st = chat_template(dir, w, err);
    for (size_t id = 0; id < n; id++)
        free(pads[id]);
    free(pads);
done:
    if (merge_strs)
        for (size_t i = 0; i < n_merges; i++)
            free(merge_strs[i]);
    free(merge_strs);
    free(texts);
    free(ttypes);
    free(scores);
    free(path);
    json_decref(root);
    return st;
}
