/*
 * weights.c — turns stored tensors into the f32 matrices the graph's
 * weight leaves describe: used straight from the mapping when the tensor is
 * f32, 4-byte aligned and read without transposing; otherwise converted
 * (f16/bf16 upcast exactly, Conv1D transposed, fused tensors cut) once.
 */
#include "model/model_internal.h"

#include <stdlib.h>
#include <string.h>

static float element_at(const acc_tensor_view *view, int64_t index)
{
    const uint8_t *bytes = view->data;
    float value = 0.0f;
    if (view->dtype == ACC_DTYPE_F32) {
        memcpy(&value, bytes + (size_t)index * sizeof value, sizeof value);
        return value;
    }
    acc_convert_to_f32(view->dtype, bytes + (size_t)index * acc_dtype_size(view->dtype), &value,
                       1);
    return value;
}

static acc_status prepare_one(const acc_weight_source *w, const acc_tensor_view *view,
                              const float **data, float **owned, acc_error *err)
{
    int64_t src_cols = w->source_dims == 2 ? w->source_shape[1] : w->source_shape[0];
    int direct = view->dtype == ACC_DTYPE_F32 && !w->transpose &&
                 ((uintptr_t)view->data % sizeof(float)) == 0 &&
                 (w->col_begin == 0 && w->cols == src_cols);
    if (direct) {
        *data = (const float *)view->data + w->row_begin * src_cols;
        return ACC_OK;
    }
    float *copy = acc_malloc((size_t)(w->rows * w->cols) * sizeof *copy, err);
    if (!copy)
        return acc_error_wrap(err, "tensor '%s'", view->name);
    for (int64_t r = 0; r < w->rows; r++) {
        float *dst = copy + r * w->cols;
        int64_t sr = w->row_begin + r;
        if (!w->transpose) {
            acc_convert_to_f32(view->dtype,
                               (const uint8_t *)view->data +
                                   (size_t)(sr * src_cols + w->col_begin) *
                                       acc_dtype_size(view->dtype),
                               dst, (size_t)w->cols);
        } else {
            /* row sr of the transpose is column sr of the stored [src_rows, src_cols] */
            for (int64_t c = 0; c < w->cols; c++)
                dst[c] = element_at(view, (w->col_begin + c) * src_cols + sr);
        }
    }
    *data = copy;
    *owned = copy;
    return ACC_OK;
}

acc_status acc_model_f32_weights_prepare(const acc_model *model, acc_model_f32_weights *out,
                                         acc_error *err)
{
    memset(out, 0, sizeof *out);
    const acc_graph *g = acc_model_graph(model);
    const acc_weight_set *set = acc_model_weights(model);
    out->n = g->n_weights;
    out->data = acc_calloc((size_t)g->n_weights, sizeof *out->data, err);
    out->owned = acc_calloc((size_t)g->n_weights, sizeof *out->owned, err);
    if (!out->data || !out->owned) {
        acc_model_f32_weights_free(out);
        return ACC_ERR_RUNTIME;
    }
    for (int i = 0; i < g->n_weights; i++) {
        const acc_weight_source *w = &g->weights[i];
        const acc_tensor_view *view = acc_weight_set_find(set, w->source);
        if (!view) {
            acc_model_f32_weights_free(out);
            return acc_error_set(err, ACC_ERR_INPUT, "%s: missing tensor '%s'",
                                 acc_model_path(model), w->source);
        }
        acc_status status = prepare_one(w, view, &out->data[i], &out->owned[i], err);
        if (status != ACC_OK) {
            acc_model_f32_weights_free(out);
            return status;
        }
        if (out->owned[i])
            out->owned_bytes += (size_t)(w->rows * w->cols) * sizeof(float);
    }
    return ACC_OK;
}

void acc_model_f32_weights_free(acc_model_f32_weights *weights)
{
    if (weights->owned)
        for (int i = 0; i < weights->n; i++)
            free(weights->owned[i]);
    free(weights->owned);
    free((void *)weights->data);
    memset(weights, 0, sizeof *weights);
}
