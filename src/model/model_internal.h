/*
 * model_internal.h — what the engine needs from a loaded model beyond the
 * public model.h: its forward graph and the typed host matrices that feed
 * the graph's weight leaves.
 */
#ifndef ACCINF_MODEL_INTERNAL_H
#define ACCINF_MODEL_INTERNAL_H

#include "accinf/model.h"
#include "backend/backend.h"
#include "graph/graph.h"

/* The architecture's forward graph, built and checked against the stored
 * tensors at open. */
const acc_graph *acc_model_graph(const acc_model *model);
/* Attention window (hparams sliding_window), 0 when unlimited. */
int acc_model_sliding_window(const acc_model *model);

/* One backend matrix per graph weight.  keep_stored != 0 keeps matmul
 * weights and embedding tables in their stored 16-bit type (a pointer into
 * the mapped file where the layout allows, else a 16-bit copy); every other
 * weight, and every weight when keep_stored == 0, is f32: used in place
 * when stored as f32 and 4-byte aligned, else an exact converted copy.
 * quantize_to (a block type; ACC_WEIGHT_F32 for none) quantizes matmul
 * weights and embedding tables at load. */
typedef struct acc_model_backend_weights {
    acc_backend_weight *data; /* per graph weight */
    void **owned;             /* per graph weight: the copy to free, or NULL */
    int n;
    size_t owned_bytes;
} acc_model_backend_weights;

acc_status acc_model_backend_weights_prepare(const acc_model *model, int keep_stored,
                                             acc_weight_type quantize_to,
                                             acc_model_backend_weights *out, acc_error *err);
void acc_model_backend_weights_free(acc_model_backend_weights *weights);

#endif
