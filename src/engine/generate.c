/*
 * generate.c — the generation loop: prefill the prompt, then sample and
 * feed back one token at a time until EOS, a stop string or the limit.
 *
 * Text is produced incrementally: the generated ids are decoded together
 * with a few prompt ids before them (so decoders that strip a leading
 * space at the start of a text, like Metaspace, still produce it) and the
 * decoded prompt part is cut off.  Only complete text is emitted: a
 * trailing U+FFFD (ids ending inside a multi-byte character), an
 * incomplete UTF-8 tail and a tail that could still become a stop string
 * are held back until the next token decides them.  The streamed pieces
 * always concatenate to the final text.
 */
#include "accinf/sampler.h"

#include "accinf/engine.h"
#include "accinf/model.h"

#include <stdlib.h>
#include <string.h>

/* Prompt ids decoded before the generated ids to give the decoder context. */
#define GENERATE_PROMPT_CONTEXT 4

typedef struct generate_text {
    const acc_tokenizer *tok;
    int32_t *ids;          /* context prompt ids, then generated ids */
    size_t n_context;
    size_t n_ids;
    char *prefix;          /* decoding of the context ids alone */
    size_t prefix_size;
    char *emitted;         /* the text emitted so far (== final text) */
    size_t emitted_size, emitted_cap;
} generate_text;

static acc_status generate_text_append(generate_text *t, const char *piece, size_t size,
                                       const acc_generate_options *options, acc_error *err)
{
    if (size == 0)
        return ACC_OK;
    if (t->emitted_size + size + 1 > t->emitted_cap) {
        size_t cap = t->emitted_cap ? t->emitted_cap * 2 : 256;
        while (cap < t->emitted_size + size + 1)
            cap *= 2;
        char *grown = realloc(t->emitted, cap);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "generate: out of memory for text");
        t->emitted = grown;
        t->emitted_cap = cap;
    }
    memcpy(t->emitted + t->emitted_size, piece, size);
    t->emitted_size += size;
    t->emitted[t->emitted_size] = '\0';
    if (options->on_text)
        options->on_text(options->user, piece, size);
    return ACC_OK;
}

/* Decodes context + generated ids and returns the continuation after the
 * decoded context (malloc'ed in *out). */
static acc_status generate_text_continuation(generate_text *t, char **out, size_t *out_size,
                                             acc_error *err)
{
    char *full = NULL;
    size_t full_size = 0;
    acc_status st = acc_tokenizer_decode(t->tok, t->ids, t->n_ids, 1, &full, &full_size, err);
    if (st != ACC_OK)
        return st;
    if (full_size >= t->prefix_size && memcmp(full, t->prefix, t->prefix_size) == 0) {
        memmove(full, full + t->prefix_size, full_size - t->prefix_size + 1);
        full_size -= t->prefix_size;
    } else {
        /* The context decoded differently once followed by more ids;
         * fall back to the generated ids alone. */
        free(full);
        st = acc_tokenizer_decode(t->tok, t->ids + t->n_context, t->n_ids - t->n_context, 1,
                                  &full, &full_size, err);
        if (st != ACC_OK)
            return st;
    }
    *out = full;
    *out_size = full_size;
    return ACC_OK;
}

/* Length of the longest suffix of text[0..n) that is a proper prefix of
 * some stop string (text that might still grow into a stop string). */
static size_t generate_stop_partial(const char *text, size_t n, const acc_generate_options *o)
{
    size_t best = 0;
    for (int s = 0; s < o->n_stop_strings; s++) {
        size_t len = strlen(o->stop_strings[s]);
        for (size_t k = len > 1 ? len - 1 : 0; k > best; k--) {
            if (k <= n && memcmp(text + n - k, o->stop_strings[s], k) == 0) {
                best = k;
                break;
            }
        }
    }
    return best;
}

/* Earliest position of any stop string in text[0..n), or n if none. */
static size_t generate_stop_find(const char *text, size_t n, const acc_generate_options *o)
{
    size_t best = n;
    for (int s = 0; s < o->n_stop_strings; s++) {
        size_t len = strlen(o->stop_strings[s]);
        if (len == 0 || len > n)
            continue;
        for (size_t i = 0; i + len <= n && i < best; i++) {
            if (memcmp(text + i, o->stop_strings[s], len) == 0) {
                best = i;
                break;
            }
        }
    }
    return best;
}

/* How much of text[0..n) is safe to emit: up to before a trailing run of
 * U+FFFD and before an incomplete UTF-8 character at the end. */
static size_t generate_complete_prefix(const char *text, size_t n)
{
    size_t end = n;
    while (end >= 3 && memcmp(text + end - 3, "\xEF\xBF\xBD", 3) == 0)
        end -= 3;
    size_t bad = 0;
    if (!acc_utf8_valid(text, end, &bad))
        end = bad;
    return end;
}

/* Called after each new id: emits what is now final.  Sets *stopped when a
 * stop string appeared (its text and what follows it are dropped). */
static acc_status generate_text_update(generate_text *t, const acc_generate_options *o,
                                       int final, int *stopped, acc_error *err)
{
    *stopped = 0;
    if (!t->tok)
        return ACC_OK;
    char *cont = NULL;
    size_t cont_size = 0;
    acc_status st = generate_text_continuation(t, &cont, &cont_size, err);
    if (st != ACC_OK)
        return st;
    /* The part not yet emitted.  If earlier text decoded differently now
     * (rare decoder effects), continue from the same byte count on a
     * character boundary; emitted text is never taken back. */
    size_t start = t->emitted_size;
    if (cont_size < start || (start > 0 && memcmp(cont, t->emitted, start) != 0)) {
        while (start < cont_size && ((unsigned char)cont[start] & 0xC0) == 0x80)
            start++;
        if (start > cont_size)
            start = cont_size;
    }
    const char *fresh = cont + start;
    size_t fresh_size = cont_size - start;
    size_t found = generate_stop_find(fresh, fresh_size, o);
    size_t emit;
    if (found < fresh_size) {
        emit = found;
        *stopped = 1;
    } else if (final) {
        emit = fresh_size;
    } else {
        emit = fresh_size - generate_stop_partial(fresh, fresh_size, o);
        emit = generate_complete_prefix(fresh, emit);
    }
    st = generate_text_append(t, fresh, emit, o, err);
    free(cont);
    return st;
}

static int generate_is_eos(int32_t id, int32_t tok_eos, int32_t model_eos)
{
    return (tok_eos >= 0 && id == tok_eos) || (model_eos >= 0 && id == model_eos);
}

static acc_status generate_result_push(acc_generate_result *r, size_t *cap, int32_t id,
                                       acc_error *err)
{
    if (r->n_ids == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 64;
        int32_t *grown = realloc(r->ids, grown_cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "generate: out of memory for ids");
        r->ids = grown;
        *cap = grown_cap;
    }
    r->ids[r->n_ids++] = id;
    return ACC_OK;
}

static acc_status generate_forward_sample(struct acc_engine *engine, int seq,
                                          const int32_t *tokens, int n_tokens,
                                          acc_sampler *sampler, int32_t *next, acc_error *err)
{
    const int32_t *token_lists[1] = {tokens};
    acc_batch batch = {.n_seqs = 1, .seq_ids = &seq, .tokens = token_lists,
                       .n_tokens = &n_tokens, .all_logits = 0};
    return acc_engine_forward_sample(engine, &batch, &sampler, next, err);
}

acc_status acc_generate(struct acc_engine *engine, const int32_t *prompt_ids, size_t n_prompt,
                        const acc_generate_options *options, acc_generate_result *result,
                        acc_error *err)
{
    memset(result, 0, sizeof *result);
    const acc_model *model = acc_engine_model(engine);
    const acc_hparams *hp = acc_model_hparams(model);
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    int max_context = acc_engine_max_context(engine);
    int vocab = hp->vocab_size;

    if (n_prompt == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "prompt: no tokens to start from");
    if (options->max_new_tokens < 0)
        return acc_error_set(err, ACC_ERR_INPUT, "max_new_tokens: %d must be >= 0",
                             options->max_new_tokens);
    if (n_prompt > (size_t)max_context)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "prompt: %zu tokens do not fit the context of %d tokens",
                             n_prompt, max_context);
    for (size_t i = 0; i < n_prompt; i++)
        if (prompt_ids[i] < 0 || prompt_ids[i] >= vocab)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "prompt: token %zu has id %d outside the vocabulary [0, %d)",
                                 i, (int)prompt_ids[i], vocab);
    for (int s = 0; s < options->n_stop_strings; s++)
        if (!options->stop_strings[s] || options->stop_strings[s][0] == '\0')
            return acc_error_set(err, ACC_ERR_INPUT, "stop string %d: empty", s + 1);

    acc_sampler *sampler = NULL;
    acc_status st = acc_sampler_create(&options->sampling, vocab, &sampler, err);
    if (st != ACC_OK)
        return st;

    generate_text text = {.tok = tok};
    size_t context = n_prompt < GENERATE_PROMPT_CONTEXT ? n_prompt : GENERATE_PROMPT_CONTEXT;
    size_t ids_cap = context + (size_t)options->max_new_tokens + 1;
    text.ids = acc_malloc(ids_cap * sizeof *text.ids, err);
    int seq = -1;
    size_t result_cap = 0;
    if (!text.ids) {
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    memcpy(text.ids, prompt_ids + n_prompt - context, context * sizeof *text.ids);
    text.n_context = text.n_ids = context;
    if (tok) {
        st = acc_tokenizer_decode(tok, text.ids, context, 1, &text.prefix, &text.prefix_size,
                                  err);
        if (st != ACC_OK)
            goto done;
    }

    st = acc_engine_seq_create(engine, &seq, err);
    if (st != ACC_OK)
        goto done;

    /* Each forward also picks the next token (acc_engine_forward_sample:
     * on the device where the backend can, else acc_sampler_sample on the
     * host), so a GPU step returns one id instead of a row of logits. */
    int32_t next = -1;
    double t0 = acc_now_seconds();
    if (options->max_new_tokens > 0)
        st = generate_forward_sample(engine, seq, prompt_ids, (int)n_prompt, sampler, &next, err);
    else
        st = acc_engine_forward_one(engine, seq, prompt_ids, (int)n_prompt, NULL, err);
    result->prefill_seconds = acc_now_seconds() - t0;
    if (st != ACC_OK)
        goto done;

    int32_t tok_eos = tok ? acc_tokenizer_eos_id(tok) : -1;
    int32_t model_eos = hp->eos_token_id;
    result->stop_reason = "length";
    for (int step = 0; step < options->max_new_tokens; step++) {
        int32_t id = next;
        st = generate_result_push(result, &result_cap, id, err);
        if (st != ACC_OK)
            goto done;
        if (!options->ignore_eos && generate_is_eos(id, tok_eos, model_eos)) {
            result->stop_reason = "eos";
            break;
        }
        text.ids[text.n_ids++] = id;
        int stopped = 0;
        st = generate_text_update(&text, options, 0, &stopped, err);
        if (st != ACC_OK)
            goto done;
        if (stopped) {
            result->stop_reason = "stop_string";
            break;
        }
        if (step + 1 == options->max_new_tokens ||
            acc_engine_seq_length(engine, seq) >= max_context)
            break;
        double t1 = acc_now_seconds();
        st = generate_forward_sample(engine, seq, &id, 1, sampler, &next, err);
        result->decode_seconds += acc_now_seconds() - t1;
        if (st != ACC_OK)
            goto done;
    }
    if (strcmp(result->stop_reason, "stop_string") != 0) {
        int stopped = 0;
        st = generate_text_update(&text, options, 1, &stopped, err);
        if (st != ACC_OK)
            goto done;
    }

    if (!text.emitted) {
        text.emitted = acc_strdup("", err);
        if (!text.emitted) {
            st = ACC_ERR_RUNTIME;
            goto done;
        }
    }
    result->text = text.emitted;
    result->text_size = text.emitted_size;
    text.emitted = NULL;

done:
    if (seq >= 0)
        acc_engine_seq_free(engine, seq);
    acc_sampler_destroy(sampler);
    free(text.ids);
    free(text.prefix);
    free(text.emitted);
    if (st != ACC_OK)
        acc_generate_result_free(result);
    return st;
}

void acc_generate_result_free(acc_generate_result *result)
{
    if (!result)
        return;
    free(result->ids);
    free(result->text);
    memset(result, 0, sizeof *result);
}
