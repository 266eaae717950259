/*
 * runner.c — one validation case on an engine: a batched prefill of the
 * case's prompts, then new_tokens - 1 batched decode steps.  The reference
 * run records greedy tokens and top-k logits; the metrics run is teacher
 * forced (it is fed the reference's tokens, so every step compares the
 * same context) and scores each step by the top-k cross entropy; the
 * tokens run feeds back its own greedy picks.
 */
#include "accinf/validate.h"

#include <stdlib.h>
#include <string.h>

typedef enum run_mode { RUN_REFERENCE, RUN_METRICS, RUN_TOKENS } run_mode;

typedef struct run_io {
    acc_reference *ref_out;   /* RUN_REFERENCE */
    const acc_reference *ref; /* RUN_METRICS */
    double *ce;               /* RUN_METRICS */
    int32_t *argmax;          /* RUN_METRICS (may be NULL) */
    int32_t *tokens;          /* RUN_TOKENS */
    int top_k;
} run_io;

static acc_status run_case(acc_engine *engine, const acc_validate_case *c, int new_tokens,
                           run_mode mode, run_io *io, int *programs_used, acc_error *err)
{
    int b = c->batch;
    int vocab = acc_model_hparams(acc_engine_model(engine))->vocab_size;
    int k = io->top_k;
    int *seqs = acc_malloc((size_t)b * sizeof *seqs, err);
    int *n_tokens = acc_malloc((size_t)b * sizeof *n_tokens, err);
    const int32_t **inputs = acc_malloc((size_t)b * sizeof *inputs, err);
    int32_t *next = acc_malloc((size_t)b * sizeof *next, err);
    float *logits = acc_malloc((size_t)b * (size_t)vocab * sizeof *logits, err);
    int32_t *top = acc_malloc((size_t)(k > 1 ? k : 1) * sizeof *top, err);
    acc_status status = ACC_OK;
    int created = 0;
    if (!seqs || !n_tokens || !inputs || !next || !logits || !top)
        status = ACC_ERR_RUNTIME;
    for (; status == ACC_OK && created < b; created++)
        status = acc_engine_seq_create(engine, &seqs[created], err);
    if (status != ACC_OK)
        created--;
    for (int step = 0; status == ACC_OK && step < new_tokens; step++) {
        for (int s = 0; s < b; s++) {
            if (step == 0) {
                inputs[s] = c->prompt_ids[s];
                n_tokens[s] = c->prompt_lengths[s];
            } else {
                inputs[s] = &next[s];
                n_tokens[s] = 1;
            }
        }
        acc_batch batch = {.n_seqs = b, .seq_ids = seqs, .tokens = inputs, .n_tokens = n_tokens};
        status = acc_engine_forward(engine, &batch, logits, err);
        if (status != ACC_OK)
            break;
        if (programs_used)
            programs_used[step] = acc_engine_last_program(engine);
        for (int s = 0; s < b; s++) {
            const float *row = logits + (size_t)s * vocab;
            size_t at = (size_t)s * new_tokens + step;
            if (mode == RUN_REFERENCE) {
                acc_reference *ref = io->ref_out;
                int32_t *ids = ref->top_ids + at * k;
                acc_top_k(row, vocab, k, ids);
                if (ids[0] < 0) {
                    status = acc_error_set(err, ACC_ERR_RUNTIME,
                                           "reference: sequence %d, token %d: every logit is NaN",
                                           s, step);
                    break;
                }
                for (int j = 0; j < k; j++)
                    ref->top_logits[at * k + j] = row[ids[j]];
                ref->tokens[at] = ids[0];
                next[s] = ids[0];
            } else if (mode == RUN_METRICS) {
                const acc_reference *ref = io->ref;
                io->ce[at] = acc_top_k_cross_entropy(ref->top_ids + at * k,
                                                     ref->top_logits + at * k, k, row);
                acc_top_k(row, vocab, 1, top);
                if (io->argmax)
                    io->argmax[at] = top[0];
                next[s] = ref->tokens[at];
            } else {
                acc_top_k(row, vocab, 1, top);
                io->tokens[at] = top[0] < 0 ? 0 : top[0];
                next[s] = io->tokens[at];
            }
        }
    }
    for (int s = 0; s < created; s++)
        acc_engine_seq_free(engine, seqs[s]);
    free(seqs);
    free(n_tokens);
    free(inputs);
    free(next);
    free(logits);
    free(top);
    return status;
}

acc_status acc_validate_run_reference(acc_engine *engine, const acc_validate_case *c,
                                      int new_tokens, int top_k, acc_reference *out,
                                      int *programs_used, acc_error *err)
{
    int vocab = acc_model_hparams(acc_engine_model(engine))->vocab_size;
    if (top_k < 1 || top_k > vocab)
        return acc_error_set(err, ACC_ERR_INPUT, "top-k: %d (1 to the vocabulary of %d)", top_k,
                             vocab);
    acc_status status = acc_reference_alloc(out, c->batch, new_tokens, top_k, err);
    if (status != ACC_OK)
        return status;
    run_io io = {.ref_out = out, .top_k = top_k};
    status = run_case(engine, c, new_tokens, RUN_REFERENCE, &io, programs_used, err);
    if (status != ACC_OK)
        acc_reference_free(out);
    return status;
}

acc_status acc_validate_run_metrics(acc_engine *engine, const acc_validate_case *c,
                                    const acc_reference *ref, double *ce, int32_t *argmax,
                                    int *programs_used, acc_error *err)
{
    int vocab = acc_model_hparams(acc_engine_model(engine))->vocab_size;
    size_t nk = (size_t)ref->batch * (size_t)ref->new_tokens * (size_t)ref->top_k;
    for (size_t i = 0; i < nk; i++)
        if (ref->top_ids[i] < 0 || ref->top_ids[i] >= vocab)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "reference: token id %d is outside the candidate's vocabulary "
                                 "of %d",
                                 ref->top_ids[i], vocab);
    if (ref->batch != c->batch)
        return acc_error_set(err, ACC_ERR_INPUT, "reference: batch %d, the case has %d", ref->batch,
                             c->batch);
    run_io io = {.ref = ref, .ce = ce, .argmax = argmax, .top_k = ref->top_k};
    return run_case(engine, c, ref->new_tokens, RUN_METRICS, &io, programs_used, err);
}

acc_status acc_validate_run_tokens(acc_engine *engine, const acc_validate_case *c, int new_tokens,
                                   int32_t *tokens, int *programs_used, acc_error *err)
{
    run_io io = {.tokens = tokens, .top_k = 1};
    return run_case(engine, c, new_tokens, RUN_TOKENS, &io, programs_used, err);
}
