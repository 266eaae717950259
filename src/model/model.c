/*
 * model.c — opening an HF model directory: config.json (hparams), the
 * safetensors weights (single or sharded), tokenizer.json when present,
 * and the architecture's graph, which is checked against the stored
 * tensors: every expected tensor present with its exact shape, nothing
 * unexpected left over.  Errors name the file and the tensor.
 */
#include "model/arch.h"
#include "model/gguf_model.h"
#include "model/model_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acc_model {
    char *path;
    acc_hparams hparams;
    acc_weight_set *weights;
    acc_tokenizer *tokenizer;
    acc_graph *graph;
    int64_t n_parameters;
    acc_gguf_model *gguf; /* set when opened from a GGUF file */
};

/* Every graph weight's source tensor exists with the shape the graph
 * expects; every stored tensor is used or known to be ignorable. */
static acc_status model_check_tensors(acc_model *model, const acc_arch_builder *builder,
                                      acc_error *err)
{
    const acc_graph *g = model->graph;
    size_t n_stored = acc_weight_set_count(model->weights);
    unsigned char *used = acc_calloc(n_stored ? n_stored : 1, 1, err);
    if (!used)
        return ACC_ERR_RUNTIME;
    acc_status status = ACC_OK;
    for (int i = 0; i < g->n_weights && status == ACC_OK; i++) {
        const acc_weight_source *w = &g->weights[i];
        const acc_tensor_view *view = acc_weight_set_find(model->weights, w->source);
        if (!view) {
            status = acc_error_set(err, ACC_ERR_INPUT, "%s: missing tensor '%s'", model->path,
                                   w->source);
            break;
        }
        if (!acc_arch_shape_is(view, w->source_dims, w->source_shape)) {
            status = acc_arch_shape_error(view, w->source_dims, w->source_shape, err);
            break;
        }
        for (size_t k = 0; k < n_stored; k++)
            if (acc_weight_set_at(model->weights, k) == view)
                used[k] = 1;
    }
    for (size_t k = 0; k < n_stored && status == ACC_OK; k++) {
        if (used[k])
            continue;
        const acc_tensor_view *view = acc_weight_set_at(model->weights, k);
        int ignore = 0;
        status = builder->check_unused(&model->hparams, view, &ignore, err);
        if (status == ACC_OK && !ignore)
            status = acc_error_set(err, ACC_ERR_INPUT,
                                   "%s: unexpected tensor '%s' (not part of %s with this config)",
                                   view->file ? view->file : model->path, view->name,
                                   acc_arch_hf_name(model->hparams.arch));
    }
    free(used);
    return status;
}

/* The graph from the builder, checked against the stored tensors. */
static acc_status model_build(acc_model *model, const acc_arch_builder *builder, acc_error *err)
{
    acc_status status = builder->build(&model->hparams, model->weights, &model->graph, err);
    if (status != ACC_OK)
        return acc_error_wrap(err, "%s", model->path);
    status = model_check_tensors(model, builder, err);
    if (status != ACC_OK)
        return status;
    for (size_t k = 0; k < acc_weight_set_count(model->weights); k++)
        model->n_parameters += acc_tensor_view_elements(acc_weight_set_at(model->weights, k));
    return ACC_OK;
}

/* A GGUF file: hparams and tokenizer from its metadata, tensors renamed. */
static acc_status model_open_gguf(acc_model *model, acc_error *err)
{
    acc_status status = acc_gguf_model_open(model->path, &model->hparams, &model->gguf, err);
    if (status != ACC_OK)
        return status;
    const acc_arch_builder *builder = acc_arch_builder_find(model->hparams.arch);
    if (!builder)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: architecture not supported (supported: %s)",
                             model->path, acc_arch_supported_list());
    status = builder->check(&model->hparams, model->path, err);
    if (status == ACC_OK)
        status = acc_gguf_model_weights(model->gguf, &model->weights, err);
    if (status == ACC_OK)
        status = model_build(model, builder, err);
    if (status == ACC_OK)
        status = acc_tokenizer_load_gguf(acc_gguf_model_file(model->gguf), &model->tokenizer, err);
    return status;
}

acc_status acc_model_open(const char *path, acc_model **out, acc_error *err)
{
    *out = NULL;
    if (acc_path_exists(path) && !acc_path_is_dir(path)) {
        acc_model *model = acc_calloc(1, sizeof *model, err);
        if (!model)
            return ACC_ERR_RUNTIME;
        model->path = acc_strdup(path, err);
        acc_status status = model->path ? model_open_gguf(model, err) : ACC_ERR_RUNTIME;
        if (status != ACC_OK) {
            acc_model_close(model);
            return status;
        }
        *out = model;
        return ACC_OK;
    }
    if (!acc_path_is_dir(path))
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: not a model directory (expected config.json and "
                             "*.safetensors)",
                             path);
    acc_model *model = acc_calloc(1, sizeof *model, err);
    if (!model)
        return ACC_ERR_RUNTIME;
    acc_status status = ACC_ERR_RUNTIME;
    char *config_path = NULL, *tokenizer_path = NULL;
    model->path = acc_strdup(path, err);
    config_path = acc_path_join(path, "config.json", err);
    tokenizer_path = acc_path_join(path, "tokenizer.json", err);
    if (!model->path || !config_path || !tokenizer_path)
        goto fail;
    status = acc_hparams_load(config_path, &model->hparams, err);
    if (status != ACC_OK)
        goto fail;
    const acc_arch_builder *builder = acc_arch_builder_find(model->hparams.arch);
    if (!builder) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: architecture not supported (supported: %s)",
                               config_path, acc_arch_supported_list());
        goto fail;
    }
    status = builder->check(&model->hparams, config_path, err);
    if (status != ACC_OK)
        goto fail;
    status = acc_weight_set_open_dir(path, &model->weights, err);
    if (status != ACC_OK)
        goto fail;
    status = model_build(model, builder, err);
    if (status != ACC_OK)
        goto fail;
    if (acc_path_exists(tokenizer_path)) {
        status = acc_tokenizer_load(tokenizer_path, &model->tokenizer, err);
        if (status != ACC_OK)
            goto fail;
    }
    free(config_path);
    free(tokenizer_path);
    *out = model;
    return ACC_OK;
fail:
    free(config_path);
    free(tokenizer_path);
    acc_model_close(model);
    return status;
}

void acc_model_close(acc_model *model)
{
    if (!model)
        return;
    if (model->tokenizer)
        acc_tokenizer_free(model->tokenizer);
    if (model->weights)
        acc_weight_set_close(model->weights);
    acc_graph_destroy(model->graph);
    acc_gguf_model_free(model->gguf);
    free(model->path);
    free(model);
}

const acc_hparams *acc_model_hparams(const acc_model *model) { return &model->hparams; }
const acc_weight_set *acc_model_weights(const acc_model *model) { return model->weights; }
const acc_tokenizer *acc_model_tokenizer(const acc_model *model) { return model->tokenizer; }
const char *acc_model_path(const acc_model *model) { return model->path; }
int64_t acc_model_parameter_count(const acc_model *model) { return model->n_parameters; }
const acc_graph *acc_model_graph(const acc_model *model) { return model->graph; }
int acc_model_sliding_window(const acc_model *model) { return model->hparams.sliding_window; }
