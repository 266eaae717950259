/*
 * tok_internal.h — private types shared by the files of the tokenizer
 * module (src/tokenizer/).  The pipeline mirrors Hugging Face
 * `tokenizers`: added tokens are cut out of the raw text, the rest is
 * normalized, pre-tokenized into pieces, each piece is run through the BPE
 * model, and the post-processor wraps the ids.  Decoding runs the decoder
 * chain over the token strings.  Nothing here is visible outside libaccinf.
 */
#ifndef ACCINF_TOK_INTERNAL_H
#define ACCINF_TOK_INTERNAL_H

#include "accinf/tokenizer.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Caps that keep hostile files (the fuzzer) from exhausting memory or time. */
#define TOK_MAX_ID (1 << 24)          /* largest token id accepted */
#define TOK_MAX_NESTING 16            /* Sequence inside Sequence ... */
#define TOK_MAX_PATTERN 4096          /* bytes of one regex */
#define TOK_REGEX_MATCH_LIMIT 2000000 /* PCRE2 backtracking budget per match */
/* Normalizers, pre-tokenizers and decoders may grow text (Replace with a
 * long content, ByteLevel doubling bytes); chained, that is exponential.
 * Text may grow to this many bytes plus TOK_GROWTH times its input. */
#define TOK_GROWTH_BASE (1u << 20)
#define TOK_GROWTH 64
size_t tok_growth_limit(size_t input);

/* ---- growable byte string ------------------------------------------------ */
typedef struct tok_str {
    char *data;
    size_t len, cap;
} tok_str;

acc_status tok_str_reserve(tok_str *s, size_t extra, acc_error *err);
acc_status tok_str_append(tok_str *s, const char *data, size_t n, acc_error *err);
acc_status tok_str_append_cp(tok_str *s, uint32_t cp, acc_error *err);
void tok_str_free(tok_str *s);

/* ---- UTF-8 and character classes (tok_utf8.c) ----------------------------- */
/* Decodes the character at text[i] (text is valid UTF-8); returns its length. */
size_t tok_utf8_next(const char *text, size_t len, size_t i, uint32_t *cp);
/* Start of the character that ends at text[end] (exclusive). */
size_t tok_utf8_prev(const char *text, size_t end);
size_t tok_utf8_encode(uint32_t cp, char out[4]);
/* Unicode White_Space, as Rust's char::is_whitespace and regex \s. */
int tok_is_whitespace(uint32_t cp);
/* Rust regex \w: letters (and Nl), marks, decimal digits, connector
 * punctuation, Join_Control; other Alphabetic symbols (U+24B6) are missed. */
int tok_is_word_char(uint32_t cp);
/* Rust char::is_numeric: general categories Nd, Nl, No. */
int tok_is_numeric(uint32_t cp);
/* Appends bytes decoded as Rust's String::from_utf8_lossy does: each
 * maximal invalid subsequence becomes one U+FFFD. */
acc_status tok_utf8_lossy_append(tok_str *out, const uint8_t *bytes, size_t n, acc_error *err);
/* GPT-2's bytes_to_unicode: byte -> code point, and the inverse (cp < 512). */
typedef struct tok_bytelevel_map {
    uint32_t byte_to_cp[256];
    int16_t cp_to_byte[512];
} tok_bytelevel_map;
void tok_bytelevel_map_init(tok_bytelevel_map *map);

/* ---- hash tables (tok_table.c) -------------------------------------------- */
typedef struct tok_strmap_slot {
    const char *key; /* not owned: points into the tokenizer's storage */
    uint32_t len;
    uint32_t hash;
    int32_t value;
} tok_strmap_slot;

typedef struct tok_strmap {
    tok_strmap_slot *slots;
    size_t cap, count;
} tok_strmap;

acc_status tok_strmap_init(tok_strmap *map, size_t expected, acc_error *err);
/* Inserts or overwrites (last one wins, as serde's HashMap does). */
acc_status tok_strmap_put(tok_strmap *map, const char *key, size_t len, int32_t value,
                          acc_error *err);
/* -1 when absent. */
int32_t tok_strmap_get(const tok_strmap *map, const char *key, size_t len);
void tok_strmap_free(tok_strmap *map);

typedef struct tok_pairmap {
    uint64_t *keys; /* (left << 32 | right) + 1; 0 marks an empty slot */
    int32_t *rank;
    int32_t *merged;
    size_t cap, count;
} tok_pairmap;

acc_status tok_pairmap_init(tok_pairmap *map, size_t expected, acc_error *err);
acc_status tok_pairmap_put(tok_pairmap *map, int32_t left, int32_t right, int32_t rank,
                           int32_t merged, acc_error *err);
/* Returns 1 and fills rank/merged when the pair is a merge. */
int tok_pairmap_get(const tok_pairmap *map, int32_t left, int32_t right, int32_t *rank,
                    int32_t *merged);
void tok_pairmap_free(tok_pairmap *map);

/* ---- id lists --------------------------------------------------------------- */
typedef struct tok_ids {
    int32_t *data;
    size_t len, cap;
} tok_ids;

acc_status tok_ids_push(tok_ids *ids, int32_t id, acc_error *err);

/* ---- regex (tok_regex.c) ---------------------------------------------------- */
typedef struct tok_regex tok_regex;

/* Compiles an Oniguruma-style pattern (as HF writes them) with PCRE2; with
 * literal != 0 the pattern is a plain string.  `field` names it in errors. */
acc_status tok_regex_compile(const char *pattern, size_t len, int literal, const char *name,
                             const char *field, tok_regex **out, acc_error *err);
void tok_regex_free(tok_regex *re);

/* ---- splitting into segments (tok_pieces.c) -------------------------------- */
/* A part of a string: HF Pattern::find_matches gives (range, is_match). */
typedef struct tok_segment {
    size_t start, end;
    int32_t flag; /* is_match while matching; a token id (or -1) once split */
} tok_segment;

typedef struct tok_segments {
    tok_segment *data;
    size_t len, cap;
} tok_segments;

acc_status tok_segments_push(tok_segments *s, size_t start, size_t end, int32_t flag,
                             acc_error *err);

/* Regex matches of re over text, covering all of it (onig iteration). */
acc_status tok_regex_find_matches(const tok_regex *re, const char *text, size_t len,
                                  tok_segments *out, acc_error *err);

typedef enum tok_split_behavior {
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_ISOLATED,
    TOK_SPLIT_MERGED_WITH_PREVIOUS,
    TOK_SPLIT_MERGED_WITH_NEXT,
    TOK_SPLIT_CONTIGUOUS,
} tok_split_behavior;

/* Turns (range, is_match) segments into the ranges HF's
 * NormalizedString::split keeps for `behavior`; flags become -1. */
acc_status tok_segments_apply_behavior(tok_segments *s, tok_split_behavior behavior,
                                       acc_error *err);

/* The text being tokenized, cut into pieces.  A piece with id >= 0 is an
 * added token and no later stage touches it. */
typedef struct tok_piece {
    size_t off, len; /* into buf */
    int32_t id;
    uint8_t at_origin; /* starts at original offset 0 (Metaspace "first") */
} tok_piece;

typedef struct tok_pieces {
    tok_piece *items;
    size_t len, cap;
    tok_str buf;
    size_t limit; /* most bytes buf may hold (tok_growth_limit) */
} tok_pieces;

void tok_pieces_free(tok_pieces *p);

/* Replaces each untokenized piece by the segments `split` returns for it
 * (segment flag: -1 or an added token id); empty segments are dropped. */
typedef acc_status (*tok_split_fn)(const void *ctx, const char *text, size_t len,
                                   tok_segments *out, acc_error *err);
acc_status tok_pieces_split(tok_pieces *p, tok_split_fn split, const void *ctx,
                            acc_error *err);

/* Replaces the text of each untokenized piece by what `transform` appends
 * to out (out arrives empty). */
typedef acc_status (*tok_transform_fn)(const void *ctx, const tok_piece *piece,
                                       const char *text, size_t len, tok_str *out,
                                       acc_error *err);
acc_status tok_pieces_transform(tok_pieces *p, tok_transform_fn transform, const void *ctx,
                                acc_error *err);

/* ---- JSON helpers (tok_json.c) ----------------------------------------------- */
/* Error helpers: all messages read "<name>: <field>: <what>". */
typedef struct tok_ctx {
    const char *name; /* file name for errors */
    acc_error *err;
} tok_ctx;

acc_status tok_json_error(const tok_ctx *ctx, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The "type" string of a component object, or an error. */
acc_status tok_json_type(const tok_ctx *ctx, json_t *obj, const char *field,
                         const char **type);
/* The start every component loader (normalizer, pre-tokenizer, decoder,
 * post-processor) shares: absent or null is "no component" (*type NULL,
 * ACC_OK); otherwise the nesting limit, then the "type" string. */
acc_status tok_json_component(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                              const char **type);
/* obj[key], which must be a list (a Sequence component's children). */
acc_status tok_json_list(const tok_ctx *ctx, json_t *obj, const char *key, const char *field,
                         json_t **list);
/* Optional boolean: absent or null gives def. */
acc_status tok_json_bool(const tok_ctx *ctx, json_t *obj, const char *key, const char *field,
                         int def, int *out);
/* Optional string: absent or null gives NULL. */
acc_status tok_json_string(const tok_ctx *ctx, json_t *obj, const char *key,
                           const char *field, const char **out, size_t *len);
/* Non-negative integer in [0, max]. */
acc_status tok_json_uint(const tok_ctx *ctx, json_t *value, const char *field, int64_t max,
                         int64_t *out);
/* A single character string (Metaspace replacement, Strip content). */
acc_status tok_json_char(const tok_ctx *ctx, json_t *obj, const char *key, const char *field,
                         uint32_t *out);
/* A {"String": s} or {"Regex": r} pattern. */
acc_status tok_json_pattern(const tok_ctx *ctx, json_t *obj, const char *key,
                            const char *field, tok_regex **out);
char *tok_strndup(const char *text, size_t len, acc_error *err);

/* ---- normalizers (tok_normalizer.c) ---------------------------------------- */
typedef struct tok_normalizer tok_normalizer;
acc_status tok_normalizer_load(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                               tok_normalizer **out);
void tok_normalizer_free(tok_normalizer *norm);
/* Appends normalize(text) to out. */
acc_status tok_normalizer_apply(const tok_normalizer *norm, const char *text, size_t len,
                                tok_str *out, acc_error *err);

/* ---- pre-tokenizers (tok_pretokenizer.c) ---------------------------------- */
typedef struct tok_pretokenizer tok_pretokenizer;
acc_status tok_pretokenizer_load(const tok_ctx *ctx, json_t *json, const char *field,
                                 int depth, tok_pretokenizer **out);
void tok_pretokenizer_free(tok_pretokenizer *pre);
acc_status tok_pretokenizer_apply(const tok_pretokenizer *pre, tok_pieces *pieces,
                                  acc_error *err);

/* ---- BPE model (tok_bpe.c) ---------------------------------------------------- */
typedef struct tok_bpe {
    tok_strmap vocab;  /* token text -> id */
    size_t vocab_count; /* distinct strings, HF's get_vocab_size() */
    char *storage;     /* all vocab strings, NUL separated */
    tok_pairmap merges;
    int32_t unk_id; /* -1: none */
    int fuse_unk, byte_fallback, ignore_merges;
    char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix */
    size_t prefix_len, suffix_len;
    int32_t byte_ids[256]; /* "<0xAB>" tokens for byte_fallback, -1 if absent */
    int32_t max_id;
} tok_bpe;

acc_status tok_bpe_load(const tok_ctx *ctx, json_t *model, tok_bpe *bpe);
void tok_bpe_free(tok_bpe *bpe);
acc_status tok_bpe_encode(const tok_bpe *bpe, const char *text, size_t len, tok_ids *out,
                          acc_error *err);

/* ---- added tokens (tok_added.c) ----------------------------------------------- */
typedef struct tok_added_token {
    char *content;
    size_t len;
    int32_t id;
    uint8_t special, single_word, lstrip, rstrip, normalized;
    char *pattern; /* normalized content for normalized tokens, else content */
    size_t pattern_len;
} tok_added_token;

/* Leftmost-longest matcher over a set of token strings. */
typedef struct tok_matcher {
    tok_strmap map; /* pattern -> index into tokens */
    uint32_t *lengths; /* distinct pattern lengths, longest first */
    size_t n_lengths;
    uint8_t first_byte[256];
    size_t count;
} tok_matcher;

typedef struct tok_added {
    tok_added_token *tokens;
    size_t len;
    tok_strmap by_content;
    tok_matcher raw, normalized;
} tok_added;

acc_status tok_added_load(const tok_ctx *ctx, json_t *list, const tok_bpe *bpe,
                          const tok_normalizer *norm, tok_added *added);
void tok_added_free(tok_added *added);
/* Split function for tok_pieces_split; ctx is a tok_added_split_ctx. */
typedef struct tok_added_split_ctx {
    const tok_added *added;
    const tok_matcher *matcher;
} tok_added_split_ctx;
acc_status tok_added_split(const void *ctx, const char *text, size_t len, tok_segments *out,
                           acc_error *err);

/* ---- post-processors (tok_postprocess.c) ------------------------------------ */
typedef struct tok_postprocessor tok_postprocessor;
acc_status tok_postprocessor_load(const tok_ctx *ctx, json_t *json, const char *field,
                                  int depth, tok_postprocessor **out);
void tok_postprocessor_free(tok_postprocessor *post);
/* Wraps ids (in place into out) as HF's post_process(add_special_tokens). */
acc_status tok_postprocessor_apply(const tok_postprocessor *post, const tok_ids *ids,
                                   int add_special, tok_ids *out, acc_error *err);
/* Leading/trailing special ids the processor adds around a single
 * sequence; -1 when none. */
void tok_postprocessor_bounds(const tok_postprocessor *post, int32_t *first, int32_t *last);

/* ---- decoders (tok_decoder.c) ------------------------------------------------ */
typedef struct tok_strlist {
    tok_str *items;
    size_t len, cap;
} tok_strlist;

void tok_strlist_free(tok_strlist *list);
acc_status tok_strlist_push(tok_strlist *list, const char *text, size_t n, acc_error *err);

typedef struct tok_decoder tok_decoder;
acc_status tok_decoder_load(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                            tok_decoder **out);
void tok_decoder_free(tok_decoder *dec);
/* HF decode_chain: list -> list (tokens is consumed and replaced). */
acc_status tok_decoder_apply(const tok_decoder *dec, tok_strlist *tokens, acc_error *err);

/* ---- the tokenizer ------------------------------------------------------------ */
enum {
    TOK_FLAG_VOCAB = 1,
    TOK_FLAG_ADDED = 2,
    TOK_FLAG_SPECIAL = 4,
};

typedef struct tok_entry {
    const char *text; /* NUL-terminated; may hold NULs before len */
    uint32_t len;
    uint8_t flags;
} tok_entry;

struct acc_tokenizer {
    tok_bpe bpe;
    tok_normalizer *normalizer;
    tok_pretokenizer *pretokenizer;
    tok_postprocessor *postprocessor;
    tok_decoder *decoder;
    tok_added added;
    tok_entry *entries; /* by id */
    size_t n_entries;   /* max id + 1 */
    int32_t bos_id, eos_id;
};

/* Builds a tokenizer from an already parsed tokenizer.json document
 * (tok_load.c); tok_gguf.c feeds it the document it derives from GGUF
 * metadata.  root stays owned by the caller. */
acc_status tok_load_root(json_t *root, const char *name, acc_tokenizer **out, acc_error *err);

#endif
