/*
 * engine.h — the one API every front-end uses to run a model: sequences in
 * a paged KV cache, batched forward passes, logits out.
 *
 * The engine builds the architecture's graph once, compiles it for the
 * chosen backend ("cpu" now, "cuda" later) and runs it for any number of
 * tokens from any number of sequences per call.  Sequence state lives in a
 * paged KV cache (fixed-size blocks, a block table per sequence).  Running
 * out of blocks or context is an error (ACC_ERR_INPUT for a too-long
 * prompt, naming the limit), never a crash.  An engine is used from one
 * thread at a time (it runs its own worker threads inside a forward).
 */
#ifndef ACCINF_ENGINE_H
#define ACCINF_ENGINE_H

#include "accinf/base.h"
#include "accinf/model.h"

typedef struct acc_engine acc_engine;
struct acc_program_set; /* accinf/program.h */

/* Precision of the weights the engine computes with.  Either way the
 * kernels accumulate in f32.  STORED keeps f16/bf16 matmul weights and
 * embedding tables 16-bit in memory and widens them exactly inside the
 * kernels: half the memory traffic of F32 and, because the widening is
 * exact, the same results.  F32 converts every weight to f32 at load (the
 * reference layout; more memory, no speed benefit). */
typedef enum acc_weights_precision {
    ACC_WEIGHTS_STORED = 0,
    ACC_WEIGHTS_F32,
    /* Quantize matmul weights and embedding tables at load to a ggml block
     * format (activations are quantized to int8 per step, as in ggml);
     * approximate, for speed and memory. */
    ACC_WEIGHTS_Q8_0,
    ACC_WEIGHTS_Q4_0,
    ACC_WEIGHTS_Q4_K,
    ACC_WEIGHTS_Q6_K,
} acc_weights_precision;

typedef struct acc_engine_options {
    const char *device;  /* "cpu" (default when NULL) */
    int threads;         /* 0: number of online cores */
    int kv_block_size;   /* tokens per KV block; 0: 16 */
    int max_context;     /* tokens per sequence; 0: the model's max_position */
    int max_sequences;   /* concurrent sequences; 0: 1 */
    int max_batch_tokens;/* tokens per backend step (larger forwards run in chunks);
                            0: min(max_context, 512), or the largest step the
                            programs are planned for */
    /* Compiled programs (accinf/program.h), not owned: every step runs the
     * program whose bucket fits it (decode: batch x tkv by the AIU mapping;
     * prefill: token bucket) and a step that no program fits is refused.
     * NULL: steps of any shape. */
    const struct acc_program_set *programs;
    /* Debug (validate's deliberately broken candidate): when debug_perturb
     * is set, the output projection of layer debug_perturb_layer (the first
     * matmul after its attention) is multiplied elementwise by
     * 1 + debug_perturb_scale * u, u fixed pseudo-random in [-1, 1].  Done
     * once on a private copy of the weight; the forward path is untouched. */
    int debug_perturb;
    int debug_perturb_layer;
    float debug_perturb_scale; /* 0: 20 (broken for sure) */
    /* Debug (validate's calibration): every matmul weight is quantized to
     * this ggml type ("f16", "q8_0", "q4_K" ..) and back to f32, once, on
     * private copies; rows whose length is not a multiple of the type's
     * block fall back to q8_0.  Emulates weight quantization with f32
     * compute.  NULL: off. */
    const char *debug_weight_type;
    acc_weights_precision weights_precision; /* default (0): ACC_WEIGHTS_STORED; the
                                                debug options imply ACC_WEIGHTS_F32 */
} acc_engine_options;

acc_status acc_engine_create(const acc_model *model, const acc_engine_options *options,
                             acc_engine **out, acc_error *err);
void acc_engine_destroy(acc_engine *engine);

/* A new empty sequence; returns its id (>= 0) through *seq_id. */
acc_status acc_engine_seq_create(acc_engine *engine, int *seq_id, acc_error *err);
/* A new sequence sharing the KV blocks of src_seq (prefix sharing): it
 * starts with src_seq's tokens; a shared block is copied on first write. */
acc_status acc_engine_seq_fork(acc_engine *engine, int src_seq, int *seq_id, acc_error *err);
/* Releases its KV blocks. */
void acc_engine_seq_free(acc_engine *engine, int seq_id);
/* Tokens currently held in the sequence's KV cache. */
int acc_engine_seq_length(const acc_engine *engine, int seq_id);

/* One forward step over several sequences.  Sequence i appends n_tokens[i]
 * (>= 1) tokens to its cache.  Logits (vocab floats each) are written for
 * the last token of each sequence (all_logits == 0: n_seqs rows) or for
 * every token in order (all_logits != 0: sum(n_tokens) rows).  logits may
 * be NULL when only the cache should be filled.  Bad sequence or token
 * ids and a step past max_context fail before any work (ACC_ERR_INPUT,
 * "prompt of N tokens exceeds the context limit of M") and leave every
 * sequence unchanged. */
typedef struct acc_batch {
    int n_seqs;
    const int *seq_ids;
    const int32_t *const *tokens;
    const int *n_tokens;
    int all_logits;
} acc_batch;

acc_status acc_engine_forward(acc_engine *engine, const acc_batch *batch, float *logits,
                              acc_error *err);

/* One forward step (the last token of each sequence, as forward with
 * all_logits == 0), then the next token of sequence i chosen by
 * samplers[i] (accinf/sampler.h; one per sequence, each consuming its own
 * seeded stream) into tokens_out[i].  A backend that samples on the device
 * ("cuda") returns only the ids to host memory; otherwise (and for a batch
 * larger than max_batch_tokens) this is exactly acc_engine_forward
 * followed by acc_sampler_sample on each row. */
struct acc_sampler;
acc_status acc_engine_forward_sample(acc_engine *engine, const acc_batch *batch,
                                     struct acc_sampler *const *samplers, int32_t *tokens_out,
                                     acc_error *err);

/* Convenience: one sequence, n tokens, logits of the last token. */
acc_status acc_engine_forward_one(acc_engine *engine, int seq_id, const int32_t *tokens,
                                  int n_tokens, float *logits, acc_error *err);

const acc_model *acc_engine_model(const acc_engine *engine);
int acc_engine_max_context(const acc_engine *engine);
/* Worker threads the CPU backend runs with. */
int acc_engine_threads(const acc_engine *engine);
/* Index (in the program set) of the program the last step ran; -1 without
 * programs or before the first step. */
int acc_engine_last_program(const acc_engine *engine);

#endif
