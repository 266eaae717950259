/*
 * tok_gguf.c — a tokenizer from a GGUF file's tokenizer.ggml.* metadata.
 *
 * Rather than a second tokenizer, the metadata is translated into the
 * tokenizer.json that describes the same behaviour and loaded by the
 * ordinary loader (tok_load.c): model "gpt2" (byte-level BPE) with the
 * pre-tokenizer types gpt-2, llama-bpe (Llama 3) and qwen2; model
 * "llama" (SentencePiece-style: ▁ for spaces, byte fallback).  A "llama"
 * file without merges (what llama.cpp's converter writes) gets its merges
 * from the token scores the way llama.cpp's SPM tokenizer merges: the
 * adjacent pair whose concatenation is the highest-scoring token first,
 * leftmost on ties.  When every score is the same (llama.cpp's converter
 * writes -1000 for all tokens of an HF BPE tokenizer.json, LlamaHfVocab),
 * the scores say nothing and the token ids give the order instead: a
 * trained BPE vocabulary numbers its tokens in merge order, so this
 * reproduces the HF tokenizer where llama.cpp itself merges leftmost-first.
 */
#include "accinf/gguf.h"
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's token types (tokenizer.ggml.token_type). */
enum { GGUF_TOK_NORMAL = 1, GGUF_TOK_UNKNOWN = 2, GGUF_TOK_CONTROL = 3,
       GGUF_TOK_USER_DEFINED = 4, GGUF_TOK_UNUSED = 5, GGUF_TOK_BYTE = 6 };

static const char LLAMA3_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char QWEN2_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

typedef struct gguf_vocab {
    const acc_gguf *gguf;
    const char *file;
    const acc_gguf_array *tokens, *types, *scores, *merges;
    uint64_t n;
    int spm; /* model "llama" */
    int add_bos, add_eos, add_space_prefix;
    int64_t bos, eos, unk;
} gguf_vocab;

static int32_t vocab_type(const gguf_vocab *v, uint64_t i)
{
    if (!v->types)
        return GGUF_TOK_NORMAL;
    acc_gguf_value value;
    if (acc_gguf_array_get(v->types, i, &value, NULL) != ACC_OK)
        return GGUF_TOK_NORMAL;
    switch (value.type) {
    case ACC_GGUF_I32: return value.as.i32;
    case ACC_GGUF_U32: return (int32_t)value.as.u32;
    default: return GGUF_TOK_NORMAL;
    }
}

static float vocab_score(const gguf_vocab *v, uint64_t i)
{
    acc_gguf_value value;
    if (!v->scores || acc_gguf_array_get(v->scores, i, &value, NULL) != ACC_OK ||
        value.type != ACC_GGUF_F32)
        return 0.0f;
    return value.as.f32;
}

static acc_status json_put(json_t *obj, const char *key, json_t *value, acc_error *err)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
    return ACC_OK;
}

/* The text of token i as a JSON string (GGUF strings must be UTF-8). */
static acc_status token_json(const gguf_vocab *v, uint64_t i, json_t **out, acc_error *err)
{
    const acc_gguf_string *s = &v->tokens->items[i].as.str;
    size_t bad;
    if (!acc_utf8_valid(s->data, (size_t)s->size, &bad))
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: tokenizer.ggml.tokens[%llu]: invalid UTF-8 at byte %zu", v->file,
                             (unsigned long long)i, bad);
    *out = json_stringn_nocheck(s->data, (size_t)s->size);
    if (!*out)
        return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
    return ACC_OK;
}

static acc_status build_model(const gguf_vocab *v, json_t *root, acc_error *err)
{
    json_t *model = json_object(), *vocab = json_object(), *merges = json_array();
    if (json_put(root, "model", model, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    if (json_put(model, "vocab", vocab, err) != ACC_OK ||
        json_put(model, "merges", merges, err) != ACC_OK ||
        json_put(model, "type", json_string("BPE"), err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    for (uint64_t i = 0; i < v->n; i++) {
        json_t *text;
        acc_status st = token_json(v, i, &text, err);
        if (st != ACC_OK)
            return st;
        /* the first id of a repeated string wins, as llama.cpp's lookup */
        if (json_object_getn(vocab, json_string_value(text), json_string_length(text))) {
            json_decref(text);
            continue;
        }
        if (json_object_setn_new(vocab, json_string_value(text), json_string_length(text),
                                 json_integer((json_int_t)i)) != 0) {
            json_decref(text);
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
        }
        json_decref(text);
    }
    if (v->merges) {
        for (uint64_t i = 0; i < v->merges->count; i++) {
            const acc_gguf_string *s = &v->merges->items[i].as.str;
            size_t bad;
            if (!acc_utf8_valid(s->data, (size_t)s->size, &bad))
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "%s: tokenizer.ggml.merges[%llu]: invalid UTF-8", v->file,
                                     (unsigned long long)i);
            if (json_array_append_new(merges, json_stringn_nocheck(s->data, (size_t)s->size)))
                return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
        }
    }
    if (v->spm) {
        if (json_put(model, "byte_fallback", json_true(), err) != ACC_OK ||
            json_put(model, "fuse_unk", json_true(), err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        if (v->unk >= 0 && (uint64_t)v->unk < v->n) {
            json_t *text;
            acc_status st = token_json(v, (uint64_t)v->unk, &text, err);
            if (st != ACC_OK || json_put(model, "unk_token", text, err) != ACC_OK)
                return st != ACC_OK ? st : ACC_ERR_RUNTIME;
        }
    }
    return ACC_OK;
}

/* Control, user-defined and unknown tokens are cut out of the text first
 * (llama.cpp's special-token partition); control ones count as special. */
static acc_status build_added(const gguf_vocab *v, json_t *root, acc_error *err)
{
    json_t *list = json_array();
    if (json_put(root, "added_tokens", list, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    for (uint64_t i = 0; i < v->n; i++) {
        int32_t type = vocab_type(v, i);
        if (type != GGUF_TOK_CONTROL && type != GGUF_TOK_USER_DEFINED &&
            type != GGUF_TOK_UNKNOWN)
            continue;
        json_t *text;
        acc_status st = token_json(v, i, &text, err);
        if (st != ACC_OK)
            return st;
        json_t *item = json_pack("{s:I, s:o, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)i,
                                 "content", text, "single_word", 0, "lstrip", 0, "rstrip", 0,
                                 "normalized", 0, "special", type != GGUF_TOK_USER_DEFINED);
        if (!item || json_array_append_new(list, item) != 0)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
    }
    return ACC_OK;
}

static json_t *special_piece(const char *text)
{
    return json_pack("{s:{s:s, s:i}}", "SpecialToken", "id", text, "type_id", 0);
}

/* BOS/EOS around the text as llama.cpp's add_bos/add_eos do. */
static acc_status build_post(const gguf_vocab *v, json_t *root, acc_error *err)
{
    int bos = v->add_bos && v->bos >= 0 && (uint64_t)v->bos < v->n;
    int eos = v->add_eos && v->eos >= 0 && (uint64_t)v->eos < v->n;
    if (!bos && !eos)
        return ACC_OK;
    json_t *single = json_array(), *pair = json_array(), *specials = json_object();
    json_t *post = json_pack("{s:s, s:o, s:o, s:o}", "type", "TemplateProcessing", "single",
                             single, "pair", pair, "special_tokens", specials);
    if (json_put(root, "post_processor", post, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    const int64_t ids[2] = {bos ? v->bos : -1, eos ? v->eos : -1};
    char *texts[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        if (ids[k] < 0)
            continue;
        const acc_gguf_string *s = &v->tokens->items[ids[k]].as.str;
        texts[k] = tok_strndup(s->data, (size_t)s->size, err);
        if (!texts[k] || memchr(s->data, 0, (size_t)s->size)) {
            free(texts[0]);
            free(texts[1]);
            return texts[k] ? acc_error_set(err, ACC_ERR_INPUT, "%s: special token holds NUL",
                                            v->file)
                            : ACC_ERR_RUNTIME;
        }
    }
    acc_status st = ACC_OK;
    for (int round = 0; round < 2 && st == ACC_OK; round++) {
        json_t *seq = round == 0 ? single : pair;
        int parts = round == 0 ? 1 : 2;
        for (int p = 0; p < parts && st == ACC_OK; p++) {
            if (texts[0] && json_array_append_new(seq, special_piece(texts[0])))
                st = ACC_ERR_RUNTIME;
            if (json_array_append_new(seq, json_pack("{s:{s:s, s:i}}", "Sequence", "id",
                                                     p == 0 ? "A" : "B", "type_id", 0)))
                st = ACC_ERR_RUNTIME;
            if (texts[1] && json_array_append_new(seq, special_piece(texts[1])))
                st = ACC_ERR_RUNTIME;
        }
    }
    for (int k = 0; k < 2 && st == ACC_OK; k++) {
        if (!texts[k])
            continue;
        json_t *entry = json_pack("{s:s, s:[I], s:[s]}", "id", texts[k], "ids", (json_int_t)ids[k],
                                  "tokens", texts[k]);
        if (!entry || json_object_set_new(specials, texts[k], entry) != 0)
            st = ACC_ERR_RUNTIME;
    }
    free(texts[0]);
    free(texts[1]);
    if (st != ACC_OK)
        return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
    return ACC_OK;
}

static json_t *bytelevel(int use_regex)
{
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                     "trim_offsets", 1, "use_regex", use_regex);
}

static json_t *split_then_bytelevel(const char *regex)
{
    return json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, o]}", "type", "Sequence",
                     "pretokenizers", "type", "Split", "pattern", "Regex", regex, "behavior",
                     "Isolated", "invert", 0, bytelevel(0));
}

static acc_status build_pipeline(const gguf_vocab *v, const char *pre, json_t *root,
                                 acc_error *err)
{
    if (v->spm) {
        json_t *norm = v->add_space_prefix
                           ? json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}, s:s}]}", "type",
                                       "Sequence", "normalizers", "type", "Prepend", "prepend",
                                       "\xe2\x96\x81", "type", "Replace", "pattern", "String", " ",
                                       "content", "\xe2\x96\x81")
                           : json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern",
                                       "String", " ", "content", "\xe2\x96\x81");
        json_t *dec = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}, {s:s, s:s, s:i, "
                                "s:i}]}",
                                "type", "Sequence", "decoders", "type", "Replace", "pattern",
                                "String", "\xe2\x96\x81", "content", " ", "type", "ByteFallback",
                                "type", "Fuse", "type", "Strip", "content", " ", "start",
                                v->add_space_prefix ? 1 : 0, "stop", 0);
        if (json_put(root, "normalizer", norm, err) != ACC_OK ||
            json_put(root, "decoder", dec, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        return ACC_OK;
    }
    json_t *pretok = NULL;
    int ignore_merges = 0;
    if (strcmp(pre, "gpt-2") == 0) {
        pretok = bytelevel(1);
    } else if (strcmp(pre, "llama-bpe") == 0 || strcmp(pre, "llama3") == 0 ||
               strcmp(pre, "llama-v3") == 0) {
        pretok = split_then_bytelevel(LLAMA3_REGEX);
        ignore_merges = 1;
    } else if (strcmp(pre, "qwen2") == 0) {
        pretok = split_then_bytelevel(QWEN2_REGEX);
        if (json_put(root, "normalizer", json_pack("{s:s}", "type", "NFC"), err) != ACC_OK)
            return ACC_ERR_RUNTIME;
    } else {
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: tokenizer.ggml.pre: '%.64s' is not supported (supported: "
                             "gpt-2, llama-bpe, qwen2)",
                             v->file, pre);
    }
    if (json_put(root, "pre_tokenizer", pretok, err) != ACC_OK ||
        json_put(root, "decoder", bytelevel(1), err) != ACC_OK ||
        json_put(json_object_get(root, "model"), "ignore_merges",
                 ignore_merges ? json_true() : json_false(), err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    return ACC_OK;
}

/* ---- SentencePiece-style merges from scores ------------------------------ */

typedef struct scored {
    float score;
    int32_t id;
} scored;

static int compare_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static acc_status spm_merges_from_scores(const gguf_vocab *v, acc_tokenizer *tok,
                                         acc_error *err)
{
    scored *order = acc_calloc(v->n ? v->n : 1, sizeof *order, err);
    if (!order)
        return ACC_ERR_RUNTIME;
    size_t count = 0;
    for (uint64_t i = 0; i < v->n; i++) {
        const acc_gguf_string *s = &v->tokens->items[i].as.str;
        if (s->size >= 2)
            order[count++] = (scored){vocab_score(v, i), (int32_t)i};
    }
    qsort(order, count, sizeof *order, compare_scored);
    /* all scores equal: no information, rank by id (see the header) */
    int flat = count > 1 && order[0].score == order[count - 1].score;
    acc_status st = ACC_OK;
    int32_t rank = -1;
    float last = 0.0f;
    for (size_t k = 0; k < count && st == ACC_OK; k++) {
        if (k == 0 || flat || order[k].score != last)
            rank++;
        last = order[k].score;
        const acc_gguf_string *s = &v->tokens->items[order[k].id].as.str;
        /* the token's own id for its text: repeated strings map to one id */
        int32_t merged = tok_strmap_get(&tok->bpe.vocab, s->data, (size_t)s->size);
        if (merged != order[k].id)
            continue;
        for (size_t p = 1; p < s->size && st == ACC_OK; p++) {
            if (((unsigned char)s->data[p] & 0xC0) == 0x80)
                continue; /* split only at character boundaries */
            int32_t left = tok_strmap_get(&tok->bpe.vocab, s->data, p);
            int32_t right = tok_strmap_get(&tok->bpe.vocab, s->data + p, (size_t)s->size - p);
            if (left < 0 || right < 0)
                continue;
            int32_t old_rank, old_merged;
            if (tok_pairmap_get(&tok->bpe.merges, left, right, &old_rank, &old_merged))
                continue;
            st = tok_pairmap_put(&tok->bpe.merges, left, right, rank, merged, err);
        }
    }
    free(order);
    return st;
}

/* ---- entry point ----------------------------------------------------------- */

static int64_t id_key(const acc_gguf *g, const char *key)
{
    uint32_t value;
    acc_error ignored;
    if (!acc_gguf_find(g, key) || acc_gguf_get_u32(g, key, &value, &ignored) != ACC_OK)
        return -1;
    return value;
}

static int bool_key(const acc_gguf *g, const char *key, int def)
{
    bool value;
    acc_error ignored;
    if (!acc_gguf_find(g, key) || acc_gguf_get_bool(g, key, &value, &ignored) != ACC_OK)
        return def;
    return value;
}

static acc_status optional_array(const acc_gguf *g, const char *key, acc_gguf_type type,
                                 const acc_gguf_array **out, uint64_t n, acc_error *err)
{
    *out = NULL;
    if (!acc_gguf_find(g, key))
        return ACC_OK;
    acc_status st = acc_gguf_get_array(g, key, type, out, err);
    if (st == ACC_OK && n && (*out)->count != n)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: %llu entries for %llu tokens",
                             acc_gguf_name(g), key, (unsigned long long)(*out)->count,
                             (unsigned long long)n);
    return st;
}

acc_status acc_tokenizer_load_gguf(const acc_gguf *g, acc_tokenizer **out, acc_error *err)
{
    *out = NULL;
    if (!acc_gguf_find(g, "tokenizer.ggml.model"))
        return ACC_OK;
    gguf_vocab v = {.gguf = g, .file = acc_gguf_name(g)};
    char *model = NULL, *pre = NULL;
    acc_status st = acc_gguf_get_string_dup(g, "tokenizer.ggml.model", &model, err);
    if (st == ACC_OK && acc_gguf_find(g, "tokenizer.ggml.pre"))
        st = acc_gguf_get_string_dup(g, "tokenizer.ggml.pre", &pre, err);
    if (st == ACC_OK && strcmp(model, "llama") != 0 && strcmp(model, "gpt2") != 0)
        st = acc_error_set(err, ACC_ERR_INPUT,
                           "%s: tokenizer.ggml.model: '%.64s' is not supported (supported: "
                           "gpt2, llama)",
                           v.file, model);
    if (st == ACC_OK)
        st = acc_gguf_get_array(g, "tokenizer.ggml.tokens", ACC_GGUF_STRING, &v.tokens, err);
    if (st == ACC_OK && (v.tokens->count == 0 || v.tokens->count >= TOK_MAX_ID))
        st = acc_error_set(err, ACC_ERR_INPUT, "%s: tokenizer.ggml.tokens: %llu tokens", v.file,
                           (unsigned long long)v.tokens->count);
    if (st == ACC_OK) {
        v.n = v.tokens->count;
        v.spm = strcmp(model, "llama") == 0;
        st = optional_array(g, "tokenizer.ggml.token_type", ACC_GGUF_TYPE_COUNT, &v.types, v.n,
                            err);
    }
    if (st == ACC_OK)
        st = optional_array(g, "tokenizer.ggml.scores", ACC_GGUF_F32, &v.scores, v.n, err);
    if (st == ACC_OK)
        st = optional_array(g, "tokenizer.ggml.merges", ACC_GGUF_STRING, &v.merges, 0, err);
    if (st == ACC_OK && !v.spm && !v.merges)
        st = acc_error_set(err, ACC_ERR_INPUT, "%s: tokenizer.ggml.merges: missing", v.file);
    json_t *root = NULL;
    if (st == ACC_OK) {
        const char *pre_name = pre ? pre : "default";
        v.bos = id_key(g, "tokenizer.ggml.bos_token_id");
        v.eos = id_key(g, "tokenizer.ggml.eos_token_id");
        v.unk = id_key(g, "tokenizer.ggml.unknown_token_id");
        /* llama.cpp's defaults: SPM and Llama 3 add BOS, other BPE do not */
        int bos_default = v.spm || strcmp(pre_name, "llama-bpe") == 0 ||
                          strcmp(pre_name, "llama3") == 0 || strcmp(pre_name, "llama-v3") == 0;
        v.add_bos = bool_key(g, "tokenizer.ggml.add_bos_token", bos_default);
        v.add_eos = bool_key(g, "tokenizer.ggml.add_eos_token", 0);
        v.add_space_prefix = bool_key(g, "tokenizer.ggml.add_space_prefix", v.spm);
        root = json_pack("{s:s}", "version", "1.0");
        if (!root)
            st = acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer from GGUF: out of memory");
        if (st == ACC_OK)
            st = build_model(&v, root, err);
        if (st == ACC_OK)
            st = build_added(&v, root, err);
        if (st == ACC_OK)
            st = build_post(&v, root, err);
        if (st == ACC_OK)
            st = build_pipeline(&v, pre_name, root, err);
    }
    acc_tokenizer *tok = NULL;
    if (st == ACC_OK)
        st = tok_load_root(root, v.file, &tok, err);
    if (st == ACC_OK && v.spm && !v.merges)
        st = spm_merges_from_scores(&v, tok, err);
    /* a BOS/EOS the post-processor adds must be a token the tokenizer has:
     * a normal-type token whose text repeats an earlier one's is not (the
     * first id of a text wins), and encode would emit an id it cannot
     * decode (found by fuzz_tokenizer_gguf) */
    for (int k = 0; k < 2 && st == ACC_OK; k++) {
        int64_t id = k == 0 ? v.bos : v.eos;
        int added = k == 0 ? v.add_bos : v.add_eos;
        if (added && id >= 0 && (uint64_t)id < v.n &&
            ((size_t)id >= tok->n_entries || !tok->entries[id].text))
            st = acc_error_set(err, ACC_ERR_INPUT,
                               "%s: tokenizer.ggml.%s_token_id: token %lld repeats the text of "
                               "an earlier token",
                               v.file, k == 0 ? "bos" : "eos", (long long)id);
    }
    if (st == ACC_OK) {
        if (v.bos >= 0 && (size_t)v.bos < tok->n_entries)
            tok->bos_id = (int32_t)v.bos;
        if (v.eos >= 0 && (size_t)v.eos < tok->n_entries)
            tok->eos_id = (int32_t)v.eos;
        *out = tok;
    } else {
        acc_tokenizer_free(tok);
    }
    json_decref(root);
    free(model);
    free(pre);
    return st;
}
