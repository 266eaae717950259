/*
 * gguf_internal.h — helpers shared by the GGUF reader and writer (not a
 * public interface): a string -> index hash table for keys and tensor names,
 * and little-endian scalar decoding.
 */
#ifndef ACCINF_GGUF_INTERNAL_H
#define ACCINF_GGUF_INTERNAL_H

#include "accinf/gguf.h"

/* Open addressing over borrowed name pointers; sized once for its maximum
 * number of entries, so insertion never fails or reallocates. */
typedef struct gguf_name_index {
    const char **names;
    uint64_t *indices;
    uint64_t capacity; /* power of two, at least twice the entries */
} gguf_name_index;

acc_status gguf_name_index_init(gguf_name_index *index, uint64_t max_entries, acc_error *err);
void gguf_name_index_free(gguf_name_index *index);
/* name must stay valid while the index lives. */
void gguf_name_index_insert(gguf_name_index *index, const char *name, uint64_t value);
/* The value stored for name, or -1. */
int64_t gguf_name_index_find(const gguf_name_index *index, const char *name);

/* Decodes a fixed-size little-endian scalar of type (not string/array). */
void gguf_decode_scalar(acc_gguf_type type, const uint8_t *bytes, acc_gguf_value *out);

#endif
