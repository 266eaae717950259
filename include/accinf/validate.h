/*
 * validate.h — validating a candidate inference path against the fp32 CPU
 * reference, program by program, as IBM's drive_paged_programs.py does
 * (with its flaws fixed): --programs SPEC parsing, datasets, the selection
 * of (program, batch, padded prompt length) cases and their prompts, the
 * reference store (tokens + top-k logits, SHA-256 key, format version,
 * checksum), the teacher-forced top-k cross entropy, and the runs.
 */
#ifndef ACCINF_VALIDATE_H
#define ACCINF_VALIDATE_H

#include "accinf/base.h"
#include "accinf/engine.h"
#include "accinf/program.h"

/* ---- --programs SPEC: <id|*|?>[:<batch>,<seq>] ---- */
typedef enum acc_compare {
    ACC_CMP_GE = 0, /* "N" or ">=N" */
    ACC_CMP_GT,
    ACC_CMP_LE,
    ACC_CMP_LT,
    ACC_CMP_EQ,
} acc_compare;

typedef struct acc_constraint {
    acc_compare op;
    int value;
} acc_constraint;

typedef enum acc_spec_kind {
    ACC_SPEC_PROGRAM = 0, /* one case for program `program` */
    ACC_SPEC_EACH,        /* "*": one case for every program that some shape maps to */
    ACC_SPEC_ANY,         /* "?": one case, whichever program the first fitting shape has */
} acc_spec_kind;

typedef struct acc_program_spec {
    acc_spec_kind kind;
    int program;
    acc_constraint batch, prompt_len; /* prompt_len constrains the padded length */
    char text[64];                    /* as given (truncated), for messages */
} acc_program_spec;

/* Errors: ACC_ERR_INPUT, "--programs 'X': <what is wrong>". */
acc_status acc_program_spec_parse(const char *text, acc_program_spec *out, acc_error *err);
int acc_constraint_holds(acc_constraint c, int value);
/* "<=64" etc. into buf. */
void acc_constraint_format(acc_constraint c, char *buf, size_t size);

/* ---- datasets ---- */
typedef enum acc_dataset_type {
    ACC_DATASET_SHAREGPT = 0, /* JSON array; the first turn's "value" of "conversations" */
    ACC_DATASET_RAG_FACTOID,  /* JSONL: a string, or an object's "prompt"/"text"/"question" */
    ACC_DATASET_CUSTOM,       /* a directory: one prompt per regular file, by name */
} acc_dataset_type;

acc_status acc_dataset_type_parse(const char *name, acc_dataset_type *out, acc_error *err);
const char *acc_dataset_type_name(acc_dataset_type type);

typedef struct acc_dataset {
    char **prompts; /* NUL-terminated UTF-8 */
    size_t *sizes;
    int n;
} acc_dataset;

acc_status acc_dataset_load(acc_dataset_type type, const char *path, acc_dataset *out,
                            acc_error *err);
/* sharegpt / rag_factoid from memory; `where` labels errors. */
acc_status acc_dataset_parse(acc_dataset_type type, const char *text, size_t size,
                             const char *where, acc_dataset *out, acc_error *err);
void acc_dataset_free(acc_dataset *dataset);

/* ---- cases ---- */
typedef struct acc_case_options {
    const acc_criteria *criteria;
    int max_batch, max_context, new_tokens;
    int64_t batch_tkv_limit;
    int prioritize_large_batch;
    int enforce_homogeneous; /* every prompt of a batch padded to a size of the same program */
    int allow_truncation;    /* sharegpt, custom: yes; rag_factoid: no */
    int min_prompt_len;      /* prompts shorter than this are never used (driver: 32) */
    uint64_t seed;           /* order in which prompts are tried */
} acc_case_options;

typedef struct acc_validate_case {
    int program;            /* the shape's program (first of its sequence) */
    int batch, prompt_len;  /* prompt_len: padded to a multiple of 64 */
    int *programs, n_steps; /* expected decode program sequence */
    int32_t **prompt_ids;   /* batch prompts, each <= prompt_len tokens */
    int *prompt_lengths;
    int *prompt_index;               /* dataset index of each prompt */
    int *enforced_sizes, n_enforced; /* padded sizes prompts were chosen for */
    char spec[64];                   /* the SPEC that selected it */
} acc_validate_case;

/* Selects one case per program the specs ask for, in spec order, and
 * samples its prompts from the tokenized dataset.  A spec no shape
 * satisfies, or whose shapes the dataset cannot fill (no prompt long
 * enough), is ACC_ERR_INPUT naming the spec. */
acc_status acc_cases_select(const acc_case_options *options, const acc_program_spec *specs,
                            int n_specs, const int32_t *const *prompts, const int *lengths,
                            int n_prompts, acc_validate_case **cases, int *n_cases, acc_error *err);
void acc_cases_free(acc_validate_case *cases, int n);

/* ---- reference store ---- */
#define ACC_REFERENCE_VERSION 1

typedef struct acc_reference {
    int batch, new_tokens, top_k;
    int32_t *tokens;   /* [batch][new_tokens] greedy ids */
    int32_t *top_ids;  /* [batch][new_tokens][top_k], descending logits */
    float *top_logits; /* same layout */
} acc_reference;

acc_status acc_reference_alloc(acc_reference *ref, int batch, int new_tokens, int top_k,
                               acc_error *err);
void acc_reference_free(acc_reference *ref);
/* SHA-256 hex over the format version, the model's content hash, the
 * case's batch, padded length, enforced sizes and prompt ids, new tokens
 * and top-k. */
void acc_reference_key(const char *model_hash, const acc_validate_case *c, int new_tokens,
                       int top_k, char hex[65]);
/* File: a header line {"format","version","key","checksum"} then the body
 * JSON; checksum = SHA-256 of the body.  Written atomically. */
acc_status acc_reference_save(const char *path, const char *key, const acc_reference *ref,
                              acc_error *err);
/* ACC_ERR_INPUT with "PATH: ..." when the file is corrupt (checksum,
 * syntax, shapes), of another format version, or stale (another key). */
acc_status acc_reference_load(const char *path, const char *key, int batch, int new_tokens,
                              int top_k, acc_reference *out, acc_error *err);
/* The same from memory (`path` labels errors); the text need not end in NUL. */
acc_status acc_reference_parse(const char *text, size_t size, const char *path, const char *key,
                               int batch, int new_tokens, int top_k, acc_reference *out,
                               acc_error *err);

/* ---- metrics ---- */
/* Indices of the k largest values (descending, ties to the lower index). */
void acc_top_k(const float *values, int n, int k, int32_t *indices);
/* -sum_j softmax(cand[ids])_j * log_softmax(ref_logits)_j over the
 * reference's top-k ids: the driver's top-k cross entropy. */
double acc_top_k_cross_entropy(const int32_t *ids, const float *ref_logits, int k,
                               const float *cand_logits);

/* Summary of one case's per-token cross entropies. */
typedef struct acc_case_stats {
    int tokens, failures; /* failures: tokens with CE >= threshold */
    double failure_rate;
    double mean_ce, p99_ce, max_ce; /* p99: nearest rank */
    int passed;                     /* failure_rate <= failure_rate_threshold */
} acc_case_stats;

acc_status acc_case_stats_compute(const double *ce, int n, double ce_threshold,
                                  double failure_rate_threshold, acc_case_stats *out,
                                  acc_error *err);

/* ---- runs ---- */
/* Greedy generation of new_tokens tokens per prompt of the case (one
 * batched prefill, then batched decode steps), recording tokens and top-k
 * logits.  programs_used (may be NULL) receives the engine's program of
 * every step (new_tokens entries; -1 without a program set). */
acc_status acc_validate_run_reference(acc_engine *engine, const acc_validate_case *c,
                                      int new_tokens, int top_k, acc_reference *out,
                                      int *programs_used, acc_error *err);
/* Teacher-forced candidate: fed the reference's tokens; ce receives
 * [batch][new_tokens] cross entropies, argmax the candidate's own picks. */
acc_status acc_validate_run_metrics(acc_engine *engine, const acc_validate_case *c,
                                    const acc_reference *ref, double *ce, int32_t *argmax,
                                    int *programs_used, acc_error *err);
/* Free-running candidate (tokens mode): [batch][new_tokens] greedy ids. */
acc_status acc_validate_run_tokens(acc_engine *engine, const acc_validate_case *c, int new_tokens,
                                   int32_t *tokens, int *programs_used, acc_error *err);

#endif
