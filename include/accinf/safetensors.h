/*
 * safetensors.h — reader for the safetensors format, single files and
 * sharded sets described by model.safetensors.index.json.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 * {"name":{"dtype":..,"shape":[..],"data_offsets":[begin,end]},
 *  "__metadata__":{..}}, then the data section.  Every field is validated
 * (header length, JSON, dtype, shape x dtype == byte range, ranges inside the
 * data section and not overlapping); tensor data stays memory-mapped.
 */
#ifndef ACCINF_SAFETENSORS_H
#define ACCINF_SAFETENSORS_H

#include "accinf/base.h"
#include "accinf/tensor.h"

/* Parses and validates a header from memory (the whole file image).
 * `name` labels errors.  On success the views point into `data`. */
typedef struct acc_safetensors_header {
    acc_tensor_view *tensors;
    size_t n_tensors;
    char *names_storage; /* owns the names the views point to */
} acc_safetensors_header;

acc_status acc_safetensors_parse(const uint8_t *data, size_t size, const char *name,
                                 acc_safetensors_header *out, acc_error *err);
void acc_safetensors_header_free(acc_safetensors_header *header);

/* The weights of one model: every tensor of one or more mmapped files. */
typedef struct acc_weight_set acc_weight_set;

/* Opens a single .safetensors file. */
acc_status acc_weight_set_open_file(const char *path, acc_weight_set **out, acc_error *err);
/* Opens an HF model directory: model.safetensors, or the shards listed in
 * model.safetensors.index.json (each tensor must be in the file the index
 * names; a name in two shards is an error). */
acc_status acc_weight_set_open_dir(const char *dir, acc_weight_set **out, acc_error *err);
/* A set over tensors that live elsewhere (a GGUF model's converted views):
 * the array is copied, names and data are borrowed and must outlive the
 * set.  Duplicate names are refused. */
acc_status acc_weight_set_from_views(const acc_tensor_view *views, size_t n, acc_weight_set **out,
                                     acc_error *err);
void acc_weight_set_close(acc_weight_set *set);

size_t acc_weight_set_count(const acc_weight_set *set);
const acc_tensor_view *acc_weight_set_at(const acc_weight_set *set, size_t index);
/* NULL when absent. */
const acc_tensor_view *acc_weight_set_find(const acc_weight_set *set, const char *name);

#endif
