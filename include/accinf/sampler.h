/*
 * sampler.h — choosing the next token from logits: greedy, temperature,
 * top-k, top-p, min-p, with a seeded generator so runs repeat.
 *
 * Order of filters is HF's: temperature, top-k, top-p, min-p, then a draw.
 * temperature == 0 is greedy (ties go to the lowest id, as argmax does).
 */
#ifndef ACCINF_SAMPLER_H
#define ACCINF_SAMPLER_H

#include "accinf/base.h"

typedef struct acc_sampler_options {
    float temperature; /* 0: greedy */
    int top_k;         /* 0: off */
    float top_p;       /* 1: off */
    float min_p;       /* 0: off */
    uint64_t seed;
} acc_sampler_options;

typedef struct acc_sampler acc_sampler;

acc_status acc_sampler_create(const acc_sampler_options *options, int vocab_size,
                              acc_sampler **out, acc_error *err);
void acc_sampler_destroy(acc_sampler *sampler);
/* Picks a token; logits are not modified. */
int32_t acc_sampler_sample(acc_sampler *sampler, const float *logits);

/* Generation: prompt ids -> new ids, streaming each new piece of text.
 * Stops on EOS (unless ignore_eos), on any stop string (the stop string is
 * not emitted) or after max_new_tokens. */
typedef struct acc_generate_options {
    int max_new_tokens;
    const char *const *stop_strings;
    int n_stop_strings;
    int ignore_eos;
    acc_sampler_options sampling;
    /* called with each new piece of valid UTF-8 text; may be NULL */
    void (*on_text)(void *user, const char *text, size_t size);
    void *user;
} acc_generate_options;

typedef struct acc_generate_result {
    int32_t *ids;     /* generated ids (malloc'ed) */
    size_t n_ids;
    char *text;       /* decoded generated text (malloc'ed) */
    size_t text_size;
    double prefill_seconds, decode_seconds;
    const char *stop_reason; /* "eos", "stop_string", "length" */
} acc_generate_result;

struct acc_engine;
acc_status acc_generate(struct acc_engine *engine, const int32_t *prompt_ids, size_t n_prompt,
                        const acc_generate_options *options, acc_generate_result *result,
                        acc_error *err);
void acc_generate_result_free(acc_generate_result *result);

#endif
