/*
 * program.h — programs: the model's graph specialised to a target, a phase
 * (prefill or decode), a batch bucket, a token bucket and a dtype, with the
 * memory plan for that bucket; the AIU program-criteria format they are
 * described by; the pure mapping from a (batch, tkv) step to the program
 * that runs it; and the on-disk program cache keyed by SHA-256 content hash.
 *
 * Mapping (as the AIU paged-programs driver does it): program P is feasible
 * for (batch b, tkv t) when b*t <= batch_tkv_limit, b <= P.max_batch and
 * t <= P.max_tkv; its cost is the padded area
 * ceil(b/bg)*bg * ceil(t/tg)*tg - b*t; the cheapest feasible program wins
 * and a tie goes to the larger batch granularity (then the lower id).
 */
#ifndef ACCINF_PROGRAM_H
#define ACCINF_PROGRAM_H

#include "accinf/base.h"
#include "accinf/model.h"

/* The token multiple prompts are padded to and decode programs switch at. */
#define ACC_PROGRAM_PAD_MULTIPLE 64

/* ---- criteria: {"programs":[{"max_batch","max_tkv","batch_granularity","tkv_granularity"}]} */
typedef struct acc_program_criteria {
    int max_batch, max_tkv, batch_granularity, tkv_granularity;
} acc_program_criteria;

typedef struct acc_criteria {
    acc_program_criteria *programs; /* program id = index */
    int n;
} acc_criteria;

/* Parses criteria JSON; `where` (a file name) prefixes errors, which name
 * the field: "F: programs[2].max_tkv: expected a positive integer". */
acc_status acc_criteria_parse(const char *text, size_t size, const char *where, acc_criteria *out,
                              acc_error *err);
acc_status acc_criteria_load(const char *path, acc_criteria *out, acc_error *err);
/* The criteria as JSON text (malloc'ed, NUL-terminated, ends in a newline). */
char *acc_criteria_to_json(const acc_criteria *criteria, acc_error *err);
/* A default set derived from the limits: batch buckets 1, 2, 4 .. max_batch,
 * tkv buckets max_context, /2, /4 .. down to 256 (multiples of 64), those
 * with batch*tkv <= batch_tkv_limit, granularity = the bucket itself. */
acc_status acc_criteria_default(int max_batch, int max_context, int64_t batch_tkv_limit,
                                acc_criteria *out, acc_error *err);
void acc_criteria_free(acc_criteria *criteria);

/* ---- the pure mapping ---- */
int acc_program_feasible(const acc_program_criteria *p, int batch, int tkv,
                         int64_t batch_tkv_limit);
int64_t acc_program_padding(const acc_program_criteria *p, int batch, int tkv);
/* The program for one (batch, tkv), or -1 when none is feasible. */
int acc_program_pick(const acc_criteria *c, int batch, int tkv, int64_t batch_tkv_limit);
/* Number of decode program steps for n new tokens: ceil(n / 64) (at least 1). */
int acc_program_steps(int new_tokens);
/* The programs of a padded prompt length L and n new tokens: step i runs at
 * tkv = L + 64*i + 1.  Writes acc_program_steps(n) ids; returns 0, or -1
 * when some step has no feasible program. */
int acc_program_sequence(const acc_criteria *c, int batch, int padded_len, int new_tokens,
                         int64_t batch_tkv_limit, int *programs);

/* Every (batch, padded prompt length) shape whose whole program sequence is
 * feasible: batch 1..max_batch, L = 64, 128, .. below max_context -
 * new_tokens.  Ordered by batch (descending when prioritize_large_batch,
 * else ascending), then by L ascending — no shuffle. */
typedef struct acc_program_shape {
    int batch, prompt_len;
    int *programs; /* n_steps ids; programs[0] is the shape's program */
} acc_program_shape;

typedef struct acc_shape_map {
    acc_program_shape *shapes;
    int n, n_steps;
} acc_shape_map;

acc_status acc_shape_map_build(const acc_criteria *c, int max_batch, int max_context,
                               int new_tokens, int64_t batch_tkv_limit, int prioritize_large_batch,
                               acc_shape_map *out, acc_error *err);
void acc_shape_map_free(acc_shape_map *map);

/* ---- compiled programs ---- */
typedef enum acc_phase { ACC_PHASE_PREFILL = 0, ACC_PHASE_DECODE = 1 } acc_phase;

const char *acc_phase_name(acc_phase phase);

/* One resolved setting (from presets or flags); part of the cache key. */
typedef struct acc_setting {
    char *name, *value, *origin; /* origin: "default", "preset NAME", "flag" */
} acc_setting;

typedef struct acc_compile_options {
    const char *target; /* "cpu" */
    const char *dtype;  /* "f32" (the only dtype the cpu target runs now) */
    const acc_criteria *criteria;
    int64_t batch_tkv_limit;     /* 0: no limit beyond each program's own */
    int prefill_chunk;           /* tokens per prefill step; 0: 512 */
    const char *cache_dir;       /* NULL: $XDG_CACHE_HOME/accinf or ~/.cache/accinf */
    int no_cache;                /* plan in memory only */
    const acc_setting *settings; /* resolved settings, hashed into every key */
    int n_settings;
} acc_compile_options;

typedef struct acc_program {
    int id; /* criteria index */
    acc_phase phase;
    int batch_bucket;                  /* sequences per step */
    int token_bucket;                  /* decode: tkv (context); prefill: tokens per step */
    int64_t step_tokens, step_outputs; /* rows the memory plan is bound for */
    size_t arena_bytes;                /* activations (the memory plan's arena) */
    size_t kv_bytes;                   /* fp32 K and V of batch_bucket x tkv tokens */
    char key[65];                      /* SHA-256 hex of everything the program depends on */
    int from_cache;                    /* 1: the plan was read from the disk cache */
} acc_program;

/* The programs of a model for one criteria set: for every criteria entry a
 * decode program (max_batch x max_tkv) and a prefill program (1 sequence x
 * min(max_tkv, prefill_chunk) tokens), each with its memory plan.  Plans are
 * read from the cache when a file with the same key is there and intact,
 * else planned and written (atomically). */
typedef struct acc_program_set acc_program_set;

acc_status acc_program_set_compile(const acc_model *model, const acc_compile_options *options,
                                   acc_program_set **out, acc_error *err);
void acc_program_set_free(acc_program_set *set);
int acc_program_set_count(const acc_program_set *set);
const acc_program *acc_program_set_at(const acc_program_set *set, int index);
const acc_criteria *acc_program_set_criteria(const acc_program_set *set);
int64_t acc_program_set_batch_tkv_limit(const acc_program_set *set);
/* Largest activation rows any program is planned for (the engine's arena bound). */
int64_t acc_program_set_max_step_tokens(const acc_program_set *set);
/* The program (index into the set) that runs a step: decode steps (every
 * sequence adds one token) map (n_seqs, tkv) through acc_program_pick;
 * prefill steps take the prefill program with the smallest token bucket
 * >= n_tokens.  -1 when no program fits. */
int acc_program_set_pick(const acc_program_set *set, int is_decode, int n_seqs, int n_tokens,
                         int tkv);

/* ---- hashing (OpenSSL SHA-256) ---- */
/* Hex SHA-256 of the graph structure (ops, shapes, parameters, weight
 * sources): what a memory plan depends on. */
acc_status acc_graph_content_hash(const acc_model *model, char hex[65], acc_error *err);
/* Hex SHA-256 of the graph hash and every stored tensor's name, dtype,
 * shape and bytes: what a reference output depends on. */
acc_status acc_model_content_hash(const acc_model *model, char hex[65], acc_error *err);
void acc_sha256_hex(const void *data, size_t size, char hex[65]);

/* ---- the disk cache ---- */
/* $XDG_CACHE_HOME/accinf, else $HOME/.cache/accinf (malloc'ed). */
char *acc_cache_dir_default(acc_error *err);

typedef struct acc_cached_program {
    char key[65];
    char *model_hash, *target, *phase, *dtype;
    int id, batch_bucket, token_bucket;
    size_t arena_bytes, kv_bytes;
    size_t file_bytes;
    int valid; /* 0: corrupt (checksum or format) */
} acc_cached_program;

/* Entries of DIR/programs, sorted by key; *n may be 0. */
acc_status acc_program_cache_list(const char *cache_dir, acc_cached_program **entries, int *n,
                                  acc_error *err);
void acc_program_cache_list_free(acc_cached_program *entries, int n);
/* Removes every cached program file; *removed counts them. */
acc_status acc_program_cache_clear(const char *cache_dir, int *removed, acc_error *err);

#endif
