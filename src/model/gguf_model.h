/*
 * gguf_model.h — the GGUF side of acc_model_open (gguf_model.c): hparams
 * from GGUF metadata and the tensors as the HF-named views the
 * architecture builders expect.
 */
#ifndef ACCINF_GGUF_MODEL_H
#define ACCINF_GGUF_MODEL_H

#include "accinf/gguf.h"
#include "accinf/hparams.h"
#include "accinf/safetensors.h"

typedef struct acc_gguf_model acc_gguf_model;

/* general.architecture and the <arch>.* keys (ranges checked) -> hp. */
acc_status acc_gguf_model_hparams(const acc_gguf *gguf, acc_hparams *hp, acc_error *err);
/* Opens path, fills hp, and prepares one view per tensor (HF names). */
acc_status acc_gguf_model_open(const char *path, acc_hparams *hp, acc_gguf_model **out,
                               acc_error *err);
/* A weight set over the views (borrowed: free it before the model). */
acc_status acc_gguf_model_weights(const acc_gguf_model *gm, acc_weight_set **out,
                                  acc_error *err);
const acc_gguf *acc_gguf_model_file(const acc_gguf_model *gm);
void acc_gguf_model_free(acc_gguf_model *gm);

#endif
