/*
 * engine.c — runs a model: the model's graph planned and loaded on a
 * backend, sequences whose tokens live in the paged KV cache, and forward
 * steps over batches of sequences.
 *
 * Every forward is checked before any work (sequence ids, token ids,
 * context and batch limits); KV blocks are reserved for the whole batch
 * before the backend runs, and a failure gives them back, so a failed
 * step leaves every sequence as it was.
 */
#include "accinf/engine.h"
#include "accinf/program.h"
#include "accinf/quant.h"

#include "backend/backend.h"
#include "engine/kv_cache.h"
#include "engine/sampler_device.h"
#include "model/model_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BATCH_TOKENS 512

struct acc_engine {
    const acc_model *model;
    const acc_graph *graph;
    acc_plan plan;
    acc_model_backend_weights weights;
    acc_backend *backend;
    acc_kv_cache *kv;
    int threads, block_size, max_context, max_sequences, max_batch_tokens, vocab_size;
    /* per-step scratch, sized at creation */
    int32_t *tokens, *positions, *slots, *token_seq, *output_rows;
    const int32_t **block_tables;
    acc_kv_copy *copies;
    float *own_logits; /* when the caller passes no logits buffer */
    acc_backend_sampling *sampling; /* per sequence, for a backend's run_sample */
    const acc_program_set *programs; /* may be NULL */
    int last_program;
};

static acc_status engine_resolve_options(const acc_model *model, const acc_engine_options *o,
                                         acc_engine *engine, acc_error *err)
{
    const acc_hparams *hp = acc_model_hparams(model);
    const char *device = o && o->device ? o->device : "cpu";
    if (!acc_backend_find(device))
        return acc_error_set(err, ACC_ERR_INPUT, "device '%s' is not available (available: %s)",
                             device, acc_backend_names());
    engine->threads = o && o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (engine->threads < 1)
        engine->threads = 1;
    if (engine->threads > 256)
        return acc_error_set(err, ACC_ERR_INPUT, "threads: %d is more than 256", engine->threads);
    engine->block_size = o && o->kv_block_size > 0 ? o->kv_block_size : 16;
    if (engine->block_size > 4096)
        return acc_error_set(err, ACC_ERR_INPUT, "kv_block_size: %d is more than 4096",
                             engine->block_size);
    int window = acc_model_sliding_window(model);
    int limit = hp->max_position;
    if (o && o->max_context > 0) {
        if (o->max_context > hp->max_position)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "max_context: %d exceeds the model's limit of %d positions",
                                 o->max_context, hp->max_position);
        if (window > 0 && o->max_context > window)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "max_context: %d exceeds the model's sliding_window of %d "
                                 "(sliding-window attention is not implemented)",
                                 o->max_context, window);
        limit = o->max_context;
    } else if (window > 0 && window < limit) {
        limit = window; /* full attention is exact while the context fits the window */
    }
    engine->max_context = limit;
    engine->max_sequences = o && o->max_sequences > 0 ? o->max_sequences : 1;
    /* larger forwards are run in chunks; the cap keeps the activation arena
     * small for long-context models */
    engine->max_batch_tokens = o && o->max_batch_tokens > 0 ? o->max_batch_tokens
                               : limit < DEFAULT_BATCH_TOKENS ? limit
                                                              : DEFAULT_BATCH_TOKENS;
    if (o && o->programs && o->max_batch_tokens <= 0) {
        /* the arena is the largest program's plan */
        int64_t planned = acc_program_set_max_step_tokens(o->programs);
        if (planned > 0 && planned < (1 << 24))
            engine->max_batch_tokens = (int)planned;
    }
    engine->programs = o ? o->programs : NULL;
    engine->last_program = -1;
    if (engine->max_sequences > 65536 || engine->max_batch_tokens > (1 << 24))
        return acc_error_set(err, ACC_ERR_INPUT, "max_sequences or max_batch_tokens too large");
    engine->vocab_size = hp->vocab_size;
    return ACC_OK;
}

static acc_status engine_alloc_scratch(acc_engine *e, acc_error *err)
{
    size_t n = (size_t)e->max_batch_tokens;
    e->tokens = acc_malloc(n * sizeof *e->tokens, err);
    e->positions = acc_malloc(n * sizeof *e->positions, err);
    e->slots = acc_malloc(n * sizeof *e->slots, err);
    e->token_seq = acc_malloc(n * sizeof *e->token_seq, err);
    e->output_rows = acc_malloc(n * sizeof *e->output_rows, err);
    e->block_tables = acc_calloc((size_t)e->max_sequences, sizeof *e->block_tables, err);
    e->copies = acc_malloc((size_t)e->max_sequences * sizeof *e->copies, err);
    e->own_logits = acc_malloc((size_t)e->max_sequences * (size_t)e->vocab_size *
                                   sizeof *e->own_logits,
                               err);
    e->sampling = acc_malloc((size_t)e->max_sequences * sizeof *e->sampling, err);
    if (!e->tokens || !e->positions || !e->slots || !e->token_seq || !e->output_rows ||
        !e->block_tables || !e->copies || !e->own_logits || !e->sampling)
        return ACC_ERR_RUNTIME;
    return ACC_OK;
}

/* Weights in the precision the options ask for (see acc_weights_precision). */
static acc_status engine_prepare_weights(const acc_model *model, const acc_engine_options *o,
                                         acc_model_backend_weights *weights, acc_error *err)
{
    acc_weights_precision p = o ? o->weights_precision : ACC_WEIGHTS_STORED;
    if (o && (o->debug_weight_type || o->debug_perturb))
        p = ACC_WEIGHTS_F32; /* the debug rewrites work on contiguous f32 copies */
    acc_weight_type quantize_to = p == ACC_WEIGHTS_Q8_0   ? ACC_WEIGHT_Q8_0
                                  : p == ACC_WEIGHTS_Q4_0 ? ACC_WEIGHT_Q4_0
                                  : p == ACC_WEIGHTS_Q4_K ? ACC_WEIGHT_Q4_K
                                  : p == ACC_WEIGHTS_Q6_K ? ACC_WEIGHT_Q6_K
                                                          : ACC_WEIGHT_F32;
    if ((unsigned)p > ACC_WEIGHTS_Q6_K)
        return acc_error_set(err, ACC_ERR_INPUT, "weights_precision: unknown value %d", (int)p);
    return acc_model_backend_weights_prepare(model, p != ACC_WEIGHTS_F32, quantize_to, weights,
                                             err);
}

static uint64_t engine_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Debug: a perturbed private copy of one layer's output projection, so a
 * candidate that must fail validation can be built without touching the
 * forward path. */
static acc_status engine_perturb_layer(acc_engine *e, int layer, float scale, acc_error *err)
{
    const acc_graph *g = e->graph;
    if (layer < 0 || layer >= g->n_layers)
        return acc_error_set(err, ACC_ERR_INPUT, "perturb layer: %d (the model has layers 0 to %d)",
                             layer, g->n_layers - 1);
    int attention = -1, weight = -1;
    for (int i = 0; i < g->n_nodes && weight < 0; i++) {
        if (g->nodes[i].op == ACC_OP_ATTENTION && g->nodes[i].layer == layer)
            attention = i;
        else if (attention >= 0 && g->nodes[i].op == ACC_OP_MATMUL)
            weight = g->nodes[g->nodes[i].src[1]].weight;
    }
    if (weight < 0)
        return acc_error_set(err, ACC_ERR_INPUT, "perturb layer: %d has no output projection",
                             layer);
    const acc_weight_source *w = &g->weights[weight];
    size_t n = (size_t)(w->rows * w->cols);
    float *copy = acc_malloc(n * sizeof *copy, err);
    if (!copy)
        return ACC_ERR_RUNTIME;
    uint64_t state = 0x5eed0000u + (uint64_t)layer;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(engine_splitmix64(&state) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
        copy[i] = ((const float *)e->weights.data[weight].data)[i] * (float)(1.0 + scale * u);
    }
    free(e->weights.owned[weight]);
    e->weights.owned[weight] = copy;
    e->weights.data[weight] =
        (acc_backend_weight){ACC_WEIGHT_F32, copy, (size_t)w->cols * sizeof(float)};
    return ACC_OK;
}

/* Debug: round-trips every matmul weight through a ggml type (see
 * acc_engine_options.debug_weight_type). */
static acc_status engine_emulate_weight_type(acc_engine *e, const char *name, acc_error *err)
{
    acc_ggml_type type, fallback = ACC_GGML_Q8_0;
    if (acc_ggml_type_from_name(name, &type) != 0 || !acc_ggml_type_quantizable(type))
        return acc_error_set(err, ACC_ERR_INPUT, "weight type: '%s' cannot be emulated", name);
    const acc_graph *g = e->graph;
    char *done = acc_calloc((size_t)g->n_weights, 1, err);
    if (!done)
        return ACC_ERR_RUNTIME;
    acc_status status = ACC_OK;
    for (int i = 0; i < g->n_nodes && status == ACC_OK; i++) {
        if (g->nodes[i].op != ACC_OP_MATMUL)
            continue;
        int w = g->nodes[g->nodes[i].src[1]].weight;
        if (done[w])
            continue;
        done[w] = 1;
        const acc_weight_source *src = &g->weights[w];
        acc_ggml_type t = src->cols % acc_ggml_block_size(type) == 0 ? type : fallback;
        uint64_t row_bytes = 0;
        size_t n = (size_t)(src->rows * src->cols);
        float *copy = acc_malloc(n * sizeof *copy, err);
        void *packed = NULL;
        if (!copy || acc_ggml_row_bytes(t, src->cols, &row_bytes) != 0 ||
            !(packed = acc_malloc((size_t)row_bytes * (size_t)src->rows, err))) {
            free(copy);
            status = err && err->status != ACC_OK ? err->status
                                                  : acc_error_set(err, ACC_ERR_INPUT,
                                                                  "weight type: '%s': row of %lld",
                                                                  name, (long long)src->cols);
            break;
        }
        status = acc_quantize(t, e->weights.data[w].data, packed, (int64_t)n, err);
        if (status == ACC_OK)
            status = acc_dequantize(t, packed, copy, (int64_t)n, err);
        free(packed);
        if (status != ACC_OK) {
            free(copy);
            break;
        }
        free(e->weights.owned[w]);
        e->weights.owned[w] = copy;
        e->weights.data[w] =
            (acc_backend_weight){ACC_WEIGHT_F32, copy, (size_t)src->cols * sizeof(float)};
    }
    free(done);
    return status;
}

acc_status acc_engine_create(const acc_model *model, const acc_engine_options *options,
                             acc_engine **out, acc_error *err)
{
    *out = NULL;
    acc_engine *e = acc_calloc(1, sizeof *e, err);
    if (!e)
        return ACC_ERR_RUNTIME;
    e->model = model;
    e->graph = acc_model_graph(model);
    acc_status status = engine_resolve_options(model, options, e, err);
    if (status == ACC_OK)
        status = engine_alloc_scratch(e, err);
    /* block_size is 0 when the options were refused */
    int blocks_per_seq =
        status == ACC_OK ? (e->max_context + e->block_size - 1) / e->block_size : 0;
    if (status == ACC_OK && (int64_t)blocks_per_seq * e->max_sequences > 0x7FFFFFFF / e->block_size)
        status = acc_error_set(err, ACC_ERR_INPUT, "KV cache: too many blocks");
    if (status == ACC_OK)
        status = acc_kv_cache_create(blocks_per_seq * e->max_sequences, e->block_size,
                                     e->max_sequences, e->max_context, &e->kv, err);
    if (status == ACC_OK)
        status = acc_plan_memory(e->graph, e->max_batch_tokens, e->max_batch_tokens, &e->plan, err);
    if (status == ACC_OK)
        status = engine_prepare_weights(model, options, &e->weights, err);
    if (status == ACC_OK && options && options->debug_weight_type)
        status = engine_emulate_weight_type(e, options->debug_weight_type, err);
    if (status == ACC_OK && options && options->debug_perturb)
        status = engine_perturb_layer(e, options->debug_perturb_layer,
                                      options->debug_perturb_scale > 0
                                          ? options->debug_perturb_scale
                                          : 20.0f,
                                      err);
    const acc_backend_ops *ops = acc_backend_find(options && options->device ? options->device
                                                                             : "cpu");
    if (status == ACC_OK) {
        acc_backend_config config = {
            .threads = e->threads,
            .n_kv_blocks = blocks_per_seq * e->max_sequences,
            .kv_block_size = e->block_size,
            .max_context = e->max_context,
        };
        status = ops->create(&config, &e->backend, err);
    }
    if (status == ACC_OK)
        status = ops->load(e->backend, e->graph, &e->plan, e->weights.data, err);
    if (status != ACC_OK) {
        acc_engine_destroy(e);
        return status;
    }
    *out = e;
    return ACC_OK;
}

void acc_engine_destroy(acc_engine *e)
{
    if (!e)
        return;
    if (e->backend)
        e->backend->ops->destroy(e->backend);
    acc_kv_cache_destroy(e->kv);
    acc_plan_free(&e->plan);
    acc_model_backend_weights_free(&e->weights);
    free(e->tokens);
    free(e->positions);
    free(e->slots);
    free(e->token_seq);
    free(e->output_rows);
    free(e->block_tables);
    free(e->copies);
    free(e->own_logits);
    free(e->sampling);
    free(e);
}

acc_status acc_engine_seq_create(acc_engine *engine, int *seq_id, acc_error *err)
{
    return acc_kv_seq_create(engine->kv, seq_id, err);
}

acc_status acc_engine_seq_fork(acc_engine *engine, int src_seq, int *seq_id, acc_error *err)
{
    return acc_kv_seq_fork(engine->kv, src_seq, seq_id, err);
}

void acc_engine_seq_free(acc_engine *engine, int seq_id)
{
    acc_kv_seq_free(engine->kv, seq_id);
}

int acc_engine_seq_length(const acc_engine *engine, int seq_id)
{
    return acc_kv_seq_length(engine->kv, seq_id);
}

/* Everything about the batch that can be wrong, checked before any work. */
static acc_status engine_check_batch(const acc_engine *e, const acc_batch *batch, int *total,
                                     acc_error *err)
{
    if (batch->n_seqs < 1 || batch->n_seqs > e->max_sequences)
        return acc_error_set(err, ACC_ERR_INPUT, "batch: %d sequences (1 to %d allowed)",
                             batch->n_seqs, e->max_sequences);
    int64_t sum = 0;
    for (int i = 0; i < batch->n_seqs; i++) {
        int seq = batch->seq_ids[i], n = batch->n_tokens[i];
        if (!acc_kv_seq_valid(e->kv, seq))
            return acc_error_set(err, ACC_ERR_INPUT, "batch: no sequence %d", seq);
        for (int k = 0; k < i; k++)
            if (batch->seq_ids[k] == seq)
                return acc_error_set(err, ACC_ERR_INPUT, "batch: sequence %d appears twice", seq);
        if (n < 1)
            return acc_error_set(err, ACC_ERR_INPUT, "sequence %d: no tokens to run", seq);
        int length = acc_kv_seq_length(e->kv, seq);
        if (n > e->max_context - length) {
            if (length == 0)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "prompt of %d tokens exceeds the context limit of %d", n,
                                     e->max_context);
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "sequence %d: %d cached + %d new tokens exceed the context "
                                 "limit of %d",
                                 seq, length, n, e->max_context);
        }
        for (int t = 0; t < n; t++)
            if (batch->tokens[i][t] < 0 || batch->tokens[i][t] >= e->vocab_size)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "sequence %d, token %d: id %d is outside the vocabulary "
                                     "of %d",
                                     seq, t, batch->tokens[i][t], e->vocab_size);
        sum += n;
    }
    *total = (int)sum;
    return ACC_OK;
}

/* One step of at most max_batch_tokens tokens (checked by the caller).
 * With `sampling` (one per sequence, last token only) the backend picks
 * the tokens itself (run_sample) and writes ids to `sampled`. */
static acc_status engine_step(acc_engine *e, const acc_batch *batch, int total, float *logits,
                              int all_logits, const acc_backend_sampling *sampling,
                              int32_t *sampled, acc_error *err)
{
    /* the program whose bucket fits the step, before any change */
    if (e->programs) {
        int is_decode = 1, tkv = 0;
        for (int i = 0; i < batch->n_seqs; i++) {
            int after = acc_kv_seq_length(e->kv, batch->seq_ids[i]) + batch->n_tokens[i];
            if (after > tkv)
                tkv = after;
            if (batch->n_tokens[i] != 1)
                is_decode = 0;
        }
        int program = acc_program_set_pick(e->programs, is_decode, batch->n_seqs, total, tkv);
        if (program < 0)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "no compiled program fits a %s step of %d sequences, %d "
                                 "tokens, tkv %d",
                                 is_decode ? "decode" : "prefill", batch->n_seqs, total, tkv);
        e->last_program = program;
    }
    /* KV blocks for every sequence first; undo on failure */
    acc_status status = ACC_OK;
    for (int i = 0; i < batch->n_seqs && status == ACC_OK; i++) {
        int n_copies = 0;
        status = acc_kv_seq_reserve(e->kv, batch->seq_ids[i], batch->n_tokens[i], e->copies,
                                    &n_copies, err);
        for (int c = 0; c < n_copies && status == ACC_OK; c++)
            status = e->backend->ops->copy_kv_block(e->backend, e->copies[c].from,
                                                    e->copies[c].to, err);
    }
    if (status == ACC_OK) {
        int t = 0, n_outputs = 0;
        for (int i = 0; i < batch->n_seqs; i++) {
            int seq = batch->seq_ids[i], length = acc_kv_seq_length(e->kv, seq);
            e->block_tables[i] = acc_kv_seq_block_table(e->kv, seq);
            for (int k = 0; k < batch->n_tokens[i]; k++, t++) {
                e->tokens[t] = batch->tokens[i][k];
                e->positions[t] = length + k;
                e->slots[t] = acc_kv_seq_slot(e->kv, seq, length + k);
                e->token_seq[t] = i;
                if (all_logits || k == batch->n_tokens[i] - 1)
                    e->output_rows[n_outputs++] = t;
            }
        }
        acc_step step = {
            .n_tokens = total, .tokens = e->tokens, .positions = e->positions,
            .slots = e->slots, .token_seq = e->token_seq, .n_seqs = batch->n_seqs,
            .block_tables = e->block_tables, .n_outputs = n_outputs,
            .output_rows = e->output_rows,
        };
        status = sampling ? e->backend->ops->run_sample(e->backend, &step, sampling, sampled, err)
                          : e->backend->ops->run(e->backend, &step, logits, err);
    }
    for (int i = 0; i < batch->n_seqs; i++) {
        if (status == ACC_OK)
            acc_kv_seq_commit(e->kv, batch->seq_ids[i], batch->n_tokens[i]);
        else
            acc_kv_seq_trim(e->kv, batch->seq_ids[i]);
    }
    return status;
}

/* A batch larger than max_batch_tokens: each sequence in chunks of its
 * own.  Limits were checked up front and the KV pool holds max_context
 * tokens for every sequence, so only a backend failure can stop it midway. */
static acc_status engine_forward_chunked(acc_engine *e, const acc_batch *batch, float *logits,
                                         int all_logits, acc_error *err)
{
    size_t vocab = (size_t)e->vocab_size, row = 0;
    for (int i = 0; i < batch->n_seqs; i++) {
        for (int begin = 0; begin < batch->n_tokens[i]; begin += e->max_batch_tokens) {
            int n = batch->n_tokens[i] - begin;
            if (n > e->max_batch_tokens)
                n = e->max_batch_tokens;
            int last = begin + n == batch->n_tokens[i];
            const int32_t *tokens = batch->tokens[i] + begin;
            acc_batch chunk = {.n_seqs = 1, .seq_ids = &batch->seq_ids[i], .tokens = &tokens,
                               .n_tokens = &n, .all_logits = all_logits};
            float *out = all_logits ? logits + (row + (size_t)begin) * vocab
                         : last     ? logits + (size_t)i * vocab
                                    : e->own_logits;
            acc_status status = engine_step(e, &chunk, n, out, all_logits, NULL, NULL, err);
            if (status != ACC_OK)
                return status;
        }
        row += (size_t)batch->n_tokens[i];
    }
    return ACC_OK;
}

acc_status acc_engine_forward(acc_engine *e, const acc_batch *batch, float *logits,
                              acc_error *err)
{
    int total = 0;
    acc_status status = engine_check_batch(e, batch, &total, err);
    if (status != ACC_OK)
        return status;
    int all_logits = batch->all_logits && logits != NULL;
    if (!logits)
        logits = e->own_logits;
    if (total > e->max_batch_tokens)
        return engine_forward_chunked(e, batch, logits, all_logits, err);
    return engine_step(e, batch, total, logits, all_logits, NULL, NULL, err);
}

acc_status acc_engine_forward_sample(acc_engine *e, const acc_batch *batch,
                                     acc_sampler *const *samplers, int32_t *tokens_out,
                                     acc_error *err)
{
    int total = 0;
    acc_status status = engine_check_batch(e, batch, &total, err);
    if (status != ACC_OK)
        return status;
    acc_batch last_only = *batch;
    last_only.all_logits = 0;
    if (e->backend->ops->run_sample && total <= e->max_batch_tokens) {
        for (int i = 0; i < batch->n_seqs; i++)
            acc_sampler_device_params(samplers[i], &e->sampling[i]);
        return engine_step(e, &last_only, total, NULL, 0, e->sampling, tokens_out, err);
    }
    /* on the host: exactly acc_engine_forward, then acc_sampler_sample */
    if (total > e->max_batch_tokens) {
        /* chunked: sequence by sequence, as engine_forward_chunked runs them
         * (its scratch row would overlap the rows kept in own_logits) */
        for (int i = 0; i < batch->n_seqs && status == ACC_OK; i++) {
            acc_batch one = {.n_seqs = 1, .seq_ids = &batch->seq_ids[i],
                             .tokens = &batch->tokens[i], .n_tokens = &batch->n_tokens[i]};
            status = acc_engine_forward(e, &one, e->own_logits, err);
            if (status == ACC_OK)
                tokens_out[i] = acc_sampler_sample(samplers[i], e->own_logits);
        }
        return status;
    }
    status = acc_engine_forward(e, &last_only, e->own_logits, err);
    for (int i = 0; i < batch->n_seqs && status == ACC_OK; i++)
        tokens_out[i] =
            acc_sampler_sample(samplers[i], e->own_logits + (size_t)i * (size_t)e->vocab_size);
    return status;
}

acc_status acc_engine_forward_one(acc_engine *engine, int seq_id, const int32_t *tokens,
                                  int n_tokens, float *logits, acc_error *err)
{
    const int32_t *token_lists[1] = {tokens};
    acc_batch batch = {.n_seqs = 1, .seq_ids = &seq_id, .tokens = token_lists,
                       .n_tokens = &n_tokens, .all_logits = 0};
    return acc_engine_forward(engine, &batch, logits, err);
}

const acc_model *acc_engine_model(const acc_engine *engine) { return engine->model; }
int acc_engine_max_context(const acc_engine *engine) { return engine->max_context; }
int acc_engine_threads(const acc_engine *engine) { return engine->threads; }
int acc_engine_last_program(const acc_engine *engine) { return engine->last_program; }
