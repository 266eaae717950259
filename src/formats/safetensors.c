/*
 * safetensors.c — parses and validates one safetensors file image.
 *
 * The file is untrusted: every number in the header is range- and
 * overflow-checked, every tensor's byte range must match its shape and dtype,
 * lie inside the data section and not overlap another tensor.  The resulting
 * views point into the caller's buffer (normally an mmap); nothing is copied.
 */
#include "accinf/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation refuses headers above 100 MB; so do we, so a
 * forged length cannot make jansson allocate without bound. */
#define SAFETENSORS_MAX_HEADER (100u * 1024u * 1024u)

/* dtypes the format defines that we recognise but cannot compute with. */
static const char *const known_unsupported_dtypes[] = {
    "BOOL", "U8",      "I8",      "I16",     "U16",     "I32",     "U32", "I64", "U64",
    "F64",  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",  "C64",
};

static int dtype_is_known_unsupported(const char *name)
{
    for (size_t i = 0; i < sizeof known_unsupported_dtypes / sizeof *known_unsupported_dtypes; i++)
        if (strcmp(name, known_unsupported_dtypes[i]) == 0)
            return 1;
    return 0;
}

/* One tensor while parsing: its view plus the offsets relative to the data
 * section, kept for the overlap check. */
typedef struct parsed_tensor {
    acc_tensor_view view;
    uint64_t begin, end;
} parsed_tensor;

static int compare_by_offset(const void *a, const void *b)
{
    const parsed_tensor *left = a, *right = b;
    if (left->begin != right->begin)
        return left->begin < right->begin ? -1 : 1;
    if (left->end != right->end)
        return left->end < right->end ? -1 : 1;
    return strcmp(left->view.name, right->view.name);
}

static acc_status check_metadata(json_t *metadata, const char *name, acc_error *err)
{
    if (!json_is_object(metadata))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: header: '__metadata__' must be an object",
                             name);
    const char *key;
    json_t *value;
    json_object_foreach(metadata, key, value)
    {
        if (!json_is_string(value))
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: header: '__metadata__' entry '%s' must be a string", name,
                                 key);
    }
    return ACC_OK;
}

/* Reads a non-negative JSON integer. */
static int json_get_u64(json_t *value, uint64_t *out)
{
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(value);
    return 0;
}

/* Validates one tensor entry and fills `tensor` (name excluded). */
static acc_status parse_tensor_entry(json_t *entry, const char *tensor_name, const char *name,
                                     uint64_t data_size, parsed_tensor *tensor, acc_error *err)
{
#define TENSOR_ERROR(...)                                                                          \
    do {                                                                                           \
        char what_[512];                                                                           \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                \
        return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': %s", name, tensor_name, what_); \
    } while (0)

    if (!json_is_object(entry))
        TENSOR_ERROR("entry must be an object");

    json_t *dtype_json = json_object_get(entry, "dtype");
    if (!dtype_json)
        TENSOR_ERROR("missing 'dtype'");
    if (!json_is_string(dtype_json))
        TENSOR_ERROR("'dtype' must be a string");
    const char *dtype_name = json_string_value(dtype_json);
    if (acc_dtype_from_name(dtype_name, &tensor->view.dtype) != 0) {
        if (dtype_is_known_unsupported(dtype_name))
            TENSOR_ERROR("unsupported dtype %s (supported: F32, F16, BF16)", dtype_name);
        TENSOR_ERROR("unknown dtype '%.64s'", dtype_name);
    }

    json_t *shape = json_object_get(entry, "shape");
    if (!shape)
        TENSOR_ERROR("missing 'shape'");
    if (!json_is_array(shape))
        TENSOR_ERROR("'shape' must be an array");
    size_t n_dims = json_array_size(shape);
    if (n_dims > ACC_MAX_DIMS)
        TENSOR_ERROR("shape has %zu dimensions, at most %d supported", n_dims, ACC_MAX_DIMS);
    uint64_t elements = 1;
    for (size_t i = 0; i < n_dims; i++) {
        uint64_t dim;
        if (json_get_u64(json_array_get(shape, i), &dim) != 0)
            TENSOR_ERROR("shape[%zu] must be a non-negative integer", i);
        if (acc_mul_overflow_u64(elements, dim, &elements))
            TENSOR_ERROR("shape element count overflows");
        tensor->view.shape[i] = (int64_t)dim;
    }
    tensor->view.n_dims = (int)n_dims;
    uint64_t expected_bytes;
    if (acc_mul_overflow_u64(elements, acc_dtype_size(tensor->view.dtype), &expected_bytes))
        TENSOR_ERROR("shape byte size overflows");

    json_t *offsets = json_object_get(entry, "data_offsets");
    if (!offsets)
        TENSOR_ERROR("missing 'data_offsets'");
    if (!json_is_array(offsets) || json_array_size(offsets) != 2)
        TENSOR_ERROR("'data_offsets' must be an array [begin, end]");
    if (json_get_u64(json_array_get(offsets, 0), &tensor->begin) != 0 ||
        json_get_u64(json_array_get(offsets, 1), &tensor->end) != 0)
        TENSOR_ERROR("'data_offsets' must hold non-negative integers");
    if (tensor->begin > tensor->end)
        TENSOR_ERROR("data_offsets begin %llu > end %llu", (unsigned long long)tensor->begin,
                     (unsigned long long)tensor->end);
    if (tensor->end > data_size)
        TENSOR_ERROR("data_offsets end %llu beyond the data section (%llu bytes)",
                     (unsigned long long)tensor->end, (unsigned long long)data_size);
    if (tensor->end - tensor->begin != expected_bytes)
        TENSOR_ERROR("byte range %llu..%llu holds %llu bytes but shape x %s needs %llu",
                     (unsigned long long)tensor->begin, (unsigned long long)tensor->end,
                     (unsigned long long)(tensor->end - tensor->begin), dtype_name,
                     (unsigned long long)expected_bytes);
    tensor->view.nbytes = expected_bytes;
    return ACC_OK;
#undef TENSOR_ERROR
}

static acc_status parse_header_object(json_t *root, const uint8_t *data_section, uint64_t data_size,
                                      const char *name, acc_safetensors_header *out, acc_error *err)
{
    size_t n_entries = json_object_size(root), names_bytes = 0;
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (strcmp(key, "__metadata__") == 0) {
            acc_status status = check_metadata(value, name, err);
            if (status != ACC_OK)
                return status;
            n_entries--;
            continue;
        }
        names_bytes += strlen(key) + 1;
    }

    parsed_tensor *parsed = acc_calloc(n_entries, sizeof *parsed, err);
    char *names = acc_malloc(names_bytes, err);
    acc_tensor_view *views = acc_calloc(n_entries, sizeof *views, err);
    if (!parsed || !names || !views) {
        free(parsed);
        free(names);
        free(views);
        return ACC_ERR_RUNTIME;
    }

    size_t count = 0, names_used = 0;
    acc_status status = ACC_OK;
    json_object_foreach(root, key, value)
    {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        parsed_tensor *tensor = &parsed[count];
        size_t key_size = strlen(key) + 1;
        memcpy(names + names_used, key, key_size);
        tensor->view.name = names + names_used;
        tensor->view.file = name;
        names_used += key_size;
        status = parse_tensor_entry(value, key, name, data_size, tensor, err);
        if (status != ACC_OK)
            break;
        count++;
    }

    if (status == ACC_OK && count > 1) {
        /* Sorting by offset makes the overlap check linear and gives callers
         * the tensors in file order. */
        qsort(parsed, count, sizeof *parsed, compare_by_offset);
        for (size_t i = 1; i < count; i++) {
            if (parsed[i].begin < parsed[i - 1].end) {
                status = acc_error_set(
                    err, ACC_ERR_INPUT,
                    "%s: tensor '%s': byte range %llu..%llu overlaps tensor '%s' (%llu..%llu)",
                    name, parsed[i].view.name, (unsigned long long)parsed[i].begin,
                    (unsigned long long)parsed[i].end, parsed[i - 1].view.name,
                    (unsigned long long)parsed[i - 1].begin, (unsigned long long)parsed[i - 1].end);
                break;
            }
        }
    }
    if (status != ACC_OK) {
        free(parsed);
        free(names);
        free(views);
        return status;
    }
    for (size_t i = 0; i < count; i++) {
        views[i] = parsed[i].view;
        views[i].data = data_section + parsed[i].begin;
    }
    free(parsed);
    out->tensors = views;
    out->n_tensors = count;
    out->names_storage = names;
    return ACC_OK;
}

acc_status acc_safetensors_parse(const uint8_t *data, size_t size, const char *name,
                                 acc_safetensors_header *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    if (size < 8 || !data)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: header: file is %zu bytes, too short for the 8-byte header "
                             "length",
                             name, size);
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; i--)
        header_size = (header_size << 8) | data[i];
    if (header_size > size - 8)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: header: header length %llu exceeds the %zu bytes after it "
                             "(truncated or not a safetensors file)",
                             name, (unsigned long long)header_size, size - 8);
    if (header_size > SAFETENSORS_MAX_HEADER)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: header: header length %llu exceeds the %u-byte limit", name,
                             (unsigned long long)header_size, SAFETENSORS_MAX_HEADER);
    if (header_size < 2)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: header: header length %llu is too short",
                             name, (unsigned long long)header_size);

    json_error_t json_err;
    json_t *root =
        json_loadb((const char *)data + 8, (size_t)header_size, JSON_REJECT_DUPLICATES, &json_err);
    if (!root) {
        if (strstr(json_err.text, "duplicate object key"))
            return acc_error_set(err, ACC_ERR_INPUT, "%s: header: duplicate tensor name (%s)", name,
                                 json_err.text);
        return acc_error_set(err, ACC_ERR_INPUT, "%s: header: invalid JSON at byte %d: %s", name,
                             json_err.position + 8, json_err.text);
    }
    acc_status status;
    if (!json_is_object(root))
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: header: must be a JSON object", name);
    else
        status = parse_header_object(root, data + 8 + header_size, size - 8 - header_size, name,
                                     out, err);
    json_decref(root);
    return status;
}

void acc_safetensors_header_free(acc_safetensors_header *header)
{
    if (!header)
        return;
    free(header->tensors);
    free(header->names_storage);
    memset(header, 0, sizeof *header);
}
