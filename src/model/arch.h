/*
 * arch.h — what each architecture family provides to the model loader:
 * a check of the hyper-parameters it relies on, the forward graph (whose
 * weight leaves name the stored tensors they are cut from, so the graph is
 * also the list of expected tensors), and which leftover stored tensors
 * may be ignored.  One file per family: gpt2.c, llama.c; registry.c maps
 * acc_arch values to them.
 */
#ifndef ACCINF_ARCH_H
#define ACCINF_ARCH_H

#include "accinf/hparams.h"
#include "accinf/safetensors.h"
#include "accinf/tensor.h"
#include "graph/graph.h"

typedef struct acc_arch_builder {
    acc_arch arch;
    /* `config` labels errors ("dir/config.json"). */
    acc_status (*check)(const acc_hparams *hp, const char *config, acc_error *err);
    /* The stored tensors are passed so a builder can follow their naming
     * (GPT-2 checkpoints with and without the "transformer." prefix). */
    acc_status (*build)(const acc_hparams *hp, const acc_weight_set *stored, acc_graph **out,
                        acc_error *err);
    /* Whether a stored tensor the graph does not use may be ignored (HF
     * buffers, a tied head stored anyway).  ACC_ERR_INPUT when it may be
     * ignored only with another shape than it has. */
    acc_status (*check_unused)(const acc_hparams *hp, const acc_tensor_view *view, int *ignore,
                               acc_error *err);
} acc_arch_builder;

/* NULL for an architecture without a builder. */
const acc_arch_builder *acc_arch_builder_find(acc_arch arch);

extern const acc_arch_builder acc_arch_gpt2;
extern const acc_arch_builder acc_arch_llama; /* also Mistral, Qwen2, Granite */

/* Shared by builders: "<view file>: tensor '<name>': expected shape [..], got [..]". */
acc_status acc_arch_shape_error(const acc_tensor_view *view, int n_dims, const int64_t *shape,
                                acc_error *err);
/* 1 when the view has exactly this shape. */
int acc_arch_shape_is(const acc_tensor_view *view, int n_dims, const int64_t *shape);
/* 1 when name ends with suffix. */
int acc_arch_name_ends_with(const char *name, const char *suffix);

#endif
