/*
 * model_internal.h — what the engine needs from a loaded model beyond the
 * public model.h: its forward graph and the f32 arrays that feed the
 * graph's weight leaves.
 */
#ifndef ACCINF_MODEL_INTERNAL_H
#define ACCINF_MODEL_INTERNAL_H

#include "accinf/model.h"
#include "graph/graph.h"

/* The architecture's forward graph, built and checked against the stored
 * tensors at open. */
const acc_graph *acc_model_graph(const acc_model *model);
/* Attention window (hparams sliding_window), 0 when unlimited. */
int acc_model_sliding_window(const acc_model *model);

/* One f32 array per graph weight: pointers into the mapped files where a
 * stored f32 tensor can be used as is, else converted copies it owns. */
typedef struct acc_model_f32_weights {
    const float **data;  /* per graph weight */
    float **owned;       /* per graph weight: the copy to free, or NULL */
    int n;
    size_t owned_bytes;
} acc_model_f32_weights;

acc_status acc_model_f32_weights_prepare(const acc_model *model, acc_model_f32_weights *out,
                                         acc_error *err);
void acc_model_f32_weights_free(acc_model_f32_weights *weights);

#endif
