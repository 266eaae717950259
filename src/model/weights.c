/*
 * weights.c — turns stored tensors into the host matrices the graph's
 * weight leaves describe.  Matmul weights and embedding tables may stay in
 * their stored 16-bit type (halving the bytes a decode step reads; kernels
 * widen them exactly), everything else is f32.  A leaf is used straight
 * from the mapping when its layout allows (no transpose; a column window is
 * just a row stride), otherwise copied once per engine: transposed (GPT-2
 * Conv1D), cut (fused tensors) and, for f32 leaves, converted exactly.
 * On request matmul weights and embedding tables are quantized at load to
 * a ggml block format (rows whose length is not a whole number of blocks
 * stay as they are).  Tensors stored in a block format (GGUF) are used in
 * place when the leaf is a window of whole stored rows starting on a block
 * boundary (row_bytes is the stored row's); otherwise, or when another
 * precision is asked for, they are dequantized to f32 first.
 */
#include "model/model_internal.h"

#include "accinf/quant.h"

#include <stdlib.h>
#include <string.h>

static acc_weight_type weight_type_of(acc_dtype dtype)
{
    switch (dtype) {
    case ACC_DTYPE_F16:
        return ACC_WEIGHT_F16;
    case ACC_DTYPE_BF16:
        return ACC_WEIGHT_BF16;
    default:
        return ACC_WEIGHT_F32;
    }
}

/* 1 if every use of weight `index` in the graph reads it through a typed
 * kernel (matmul weight or embedding table), which is what allows a 16-bit
 * type or a row stride. */
static int weight_typed_uses_only(const acc_graph *g, int index)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        for (int s = 0; s < 3; s++) {
            int src = node->src[s];
            if (src < 0 || g->nodes[src].op != ACC_OP_WEIGHT || g->nodes[src].weight != index)
                continue;
            if (!((node->op == ACC_OP_MATMUL && s == 1) || (node->op == ACC_OP_EMBED && s == 0)))
                return 0;
        }
    }
    return 1;
}

static acc_weight_type block_weight_type(acc_dtype dtype)
{
    switch (dtype) {
    case ACC_DTYPE_Q8_0: return ACC_WEIGHT_Q8_0;
    case ACC_DTYPE_Q4_0: return ACC_WEIGHT_Q4_0;
    case ACC_DTYPE_Q4_K: return ACC_WEIGHT_Q4_K;
    case ACC_DTYPE_Q5_K: return ACC_WEIGHT_Q5_K;
    default: return ACC_WEIGHT_Q6_K;
    }
}

static acc_ggml_type ggml_type_of(acc_weight_type type)
{
    return type == ACC_WEIGHT_Q8_0   ? ACC_GGML_Q8_0
           : type == ACC_WEIGHT_Q4_0 ? ACC_GGML_Q4_0
           : type == ACC_WEIGHT_Q4_K ? ACC_GGML_Q4_K
           : type == ACC_WEIGHT_Q5_K ? ACC_GGML_Q5_K
                                     : ACC_GGML_Q6_K;
}

/* The whole block-format tensor dequantized to f32 in its HF layout, as a
 * temporary view for the element-wise path (*flat is the copy to free). */
static acc_status dequantize_view(const acc_tensor_view *view, acc_tensor_view *out, float **flat,
                                  acc_error *err)
{
    int64_t n = acc_tensor_view_elements(view);
    float *stored = acc_malloc((size_t)n * sizeof(float), err);
    if (!stored)
        return acc_error_wrap(err, "tensor '%s'", view->name);
    acc_status status =
        acc_dequantize(ggml_type_of(block_weight_type(view->dtype)), view->data, stored, n, err);
    if (status != ACC_OK) {
        free(stored);
        return acc_error_wrap(err, "tensor '%s'", view->name);
    }
    if (view->transposed) {
        /* stored: shape[1] rows of shape[0]; HF: shape[0] rows of shape[1] */
        float *hf = acc_malloc((size_t)n * sizeof(float), err);
        if (!hf) {
            free(stored);
            return acc_error_wrap(err, "tensor '%s'", view->name);
        }
        int64_t rows = view->shape[0], cols = view->shape[1];
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                hf[r * cols + c] = stored[c * rows + r];
        free(stored);
        stored = hf;
    }
    *out = *view;
    out->dtype = ACC_DTYPE_F32;
    out->transposed = 0;
    out->data = stored;
    out->nbytes = (uint64_t)n * sizeof(float);
    *flat = stored;
    return ACC_OK;
}

/* A block-format leaf straight from the stored rows, if its window allows:
 * returns 1 and fills out, else 0. */
static int block_direct(const acc_weight_source *w, const acc_tensor_view *view,
                        acc_backend_weight *out)
{
    acc_weight_type type = block_weight_type(view->dtype);
    /* stored as rows x cols; the leaf reads it untransposed when its own
     * transpose cancels the stored one */
    int64_t rows = view->transposed ? view->shape[1] : view->shape[0];
    int64_t cols = view->transposed ? view->shape[0] : view->shape[1];
    int64_t block = acc_weight_type_block(type);
    size_t row_bytes = acc_weight_row_bytes(type, cols);
    if (view->n_dims != 2 || w->transpose != view->transposed || row_bytes == 0 ||
        w->col_begin % block != 0 || w->cols % block != 0 || w->col_begin + w->cols > cols ||
        w->row_begin + w->rows > rows)
        return 0;
    out->type = type;
    out->data = (const char *)view->data + (size_t)w->row_begin * row_bytes +
                (size_t)(w->col_begin / block) * acc_weight_row_bytes(type, block);
    out->row_bytes = row_bytes;
    return 1;
}

static acc_status prepare_one(const acc_weight_source *w, const acc_tensor_view *view,
                              int typed, acc_backend_weight *out, void **owned, acc_error *err)
{
    int64_t src_cols = w->source_dims == 2 ? w->source_shape[1] : w->source_shape[0];
    size_t in_size = acc_dtype_size(view->dtype);
    acc_weight_type type = typed ? weight_type_of(view->dtype) : ACC_WEIGHT_F32;
    size_t out_size = acc_weight_type_size(type);
    int same_type = type == weight_type_of(view->dtype);
    int direct = same_type && !w->transpose && ((uintptr_t)view->data % in_size) == 0 &&
                 (typed || (w->col_begin == 0 && w->cols == src_cols));
    if (direct) {
        out->type = type;
        out->data = (const char *)view->data + (size_t)(w->row_begin * src_cols + w->col_begin) *
                                                   in_size;
        out->row_bytes = (size_t)src_cols * in_size;
        return ACC_OK;
    }
    char *copy = acc_malloc((size_t)(w->rows * w->cols) * out_size, err);
    if (!copy)
        return acc_error_wrap(err, "tensor '%s'", view->name);
    const uint8_t *src = view->data;
    for (int64_t r = 0; r < w->rows; r++) {
        char *dst = copy + (size_t)(r * w->cols) * out_size;
        int64_t sr = w->row_begin + r;
        if (!w->transpose) {
            const uint8_t *from = src + (size_t)(sr * src_cols + w->col_begin) * in_size;
            if (same_type)
                memcpy(dst, from, (size_t)w->cols * out_size);
            else
                acc_convert_to_f32(view->dtype, from, (float *)dst, (size_t)w->cols);
            continue;
        }
        /* row sr of the transpose is column sr of the stored [src_rows, src_cols] */
        for (int64_t c = 0; c < w->cols; c++) {
            const uint8_t *from = src + (size_t)((w->col_begin + c) * src_cols + sr) * in_size;
            if (same_type)
                memcpy(dst + (size_t)c * out_size, from, out_size);
            else
                acc_convert_to_f32(view->dtype, from, (float *)(dst + (size_t)c * out_size), 1);
        }
    }
    out->type = type;
    out->data = copy;
    out->row_bytes = (size_t)w->cols * out_size;
    *owned = copy;
    return ACC_OK;
}

/* Replaces an f32 leaf by its rows quantized to `type` (ggml's reference
 * quantizers, as llama-quantize without an importance matrix). */
static acc_status quantize_one(const acc_weight_source *w, acc_weight_type type,
                               acc_backend_weight *weight, void **owned, acc_error *err)
{
    size_t row_bytes = acc_weight_row_bytes(type, w->cols);
    char *copy = acc_malloc((size_t)w->rows * row_bytes, err);
    if (!copy)
        return acc_error_wrap(err, "tensor '%s'", w->name);
    acc_ggml_type ggml = ggml_type_of(type);
    for (int64_t r = 0; r < w->rows; r++) {
        const float *row = (const float *)((const char *)weight->data + (size_t)r * weight->row_bytes);
        acc_status status = acc_quantize(ggml, row, copy + (size_t)r * row_bytes, w->cols, err);
        if (status != ACC_OK) {
            free(copy);
            return acc_error_wrap(err, "tensor '%s'", w->name);
        }
    }
    free(*owned);
    *owned = copy;
    weight->type = type;
    weight->data = copy;
    weight->row_bytes = row_bytes;
    return ACC_OK;
}

acc_status acc_model_backend_weights_prepare(const acc_model *model, int keep_stored,
                                             acc_weight_type quantize_to,
                                             acc_model_backend_weights *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    const acc_graph *g = acc_model_graph(model);
    const acc_weight_set *set = acc_model_weights(model);
    out->n = g->n_weights;
    out->data = acc_calloc((size_t)g->n_weights, sizeof *out->data, err);
    out->owned = acc_calloc((size_t)g->n_weights, sizeof *out->owned, err);
    if (!out->data || !out->owned) {
        acc_model_backend_weights_free(out);
        return ACC_ERR_RUNTIME;
    }
    for (int i = 0; i < g->n_weights; i++) {
        const acc_weight_source *w = &g->weights[i];
        const acc_tensor_view *view = acc_weight_set_find(set, w->source);
        if (!view) {
            acc_model_backend_weights_free(out);
            return acc_error_set(err, ACC_ERR_INPUT, "%s: missing tensor '%s'",
                                 acc_model_path(model), w->source);
        }
        int typed_uses = weight_typed_uses_only(g, i);
        int quantize = typed_uses && acc_weight_type_is_quantized(quantize_to) &&
                       acc_weight_row_bytes(quantize_to, w->cols) > 0;
        int typed = keep_stored && typed_uses && !quantize;
        acc_weight_type target = quantize_to;
        acc_status status = ACC_OK;
        acc_tensor_view flat_view;
        float *flat = NULL;
        if (acc_dtype_is_block(view->dtype)) {
            acc_weight_type stored = block_weight_type(view->dtype);
            /* kept as stored unless another precision is asked for */
            if (quantize && target == stored) {
                quantize = 0;
                typed = 1;
            }
            if (typed && block_direct(w, view, &out->data[i]))
                continue;
            status = dequantize_view(view, &flat_view, &flat, err);
            if (typed && !quantize && acc_weight_row_bytes(stored, w->cols) > 0) {
                /* a window the stored rows cannot serve: the f32 copy is
                 * quantized back to the stored type (ggml's quantizers) */
                quantize = 1;
                target = stored;
            }
            view = &flat_view;
        }
        if (status == ACC_OK)
            status = prepare_one(w, view, typed && !quantize, &out->data[i], &out->owned[i], err);
        if (flat) {
            /* a leaf read in place from the f32 copy keeps it; else it was
             * only a step */
            if (status == ACC_OK && !out->owned[i])
                out->owned[i] = flat;
            else
                free(flat);
        }
        if (status == ACC_OK && quantize)
            status = quantize_one(w, target, &out->data[i], &out->owned[i], err);
        if (status != ACC_OK) {
            acc_model_backend_weights_free(out);
            return status;
        }
        if (out->owned[i])
            out->owned_bytes += (size_t)w->rows * out->data[i].row_bytes;
    }
    return ACC_OK;
}

void acc_model_backend_weights_free(acc_model_backend_weights *weights)
{
    if (weights->owned)
        for (int i = 0; i < weights->n; i++)
            free(weights->owned[i]);
    free(weights->owned);
    free(weights->data);
    memset(weights, 0, sizeof *weights);
}
