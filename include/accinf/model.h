/*
 * model.h — a loaded model: hyper-parameters, weights and (when present)
 * its tokenizer, from an HF directory or a GGUF file (docs/CONVERT.md).
 *
 * Opening validates the whole model: config ranges, that every tensor the
 * architecture needs is present with the right shape and dtype, and that no
 * unexpected tensor is left over.  Errors name the file and the tensor.
 */
#ifndef ACCINF_MODEL_H
#define ACCINF_MODEL_H

#include "accinf/base.h"
#include "accinf/hparams.h"
#include "accinf/safetensors.h"
#include "accinf/tokenizer.h"

typedef struct acc_model acc_model;

/* path: an HF model directory (config.json + safetensors [+ tokenizer.json])
 * or a GGUF file (metadata, tensors and tokenizer.ggml.*; q8_0/q4_0/q4_K/q6_K
 * tensors are views of dtype ACC_DTYPE_Q*, other block types are dequantized
 * to f32 views at open). */
acc_status acc_model_open(const char *path, acc_model **out, acc_error *err);
void acc_model_close(acc_model *model);

const acc_hparams *acc_model_hparams(const acc_model *model);
const acc_weight_set *acc_model_weights(const acc_model *model);
/* NULL when the model directory has no tokenizer.json. */
const acc_tokenizer *acc_model_tokenizer(const acc_model *model);
const char *acc_model_path(const acc_model *model);
/* Total parameter count of the stored tensors. */
int64_t acc_model_parameter_count(const acc_model *model);

#endif
