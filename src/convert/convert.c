/*
 * convert.c — acc_convert: HF directory or GGUF file in, GGUF file out.
 *
 * An HF model is opened (and validated) with acc_model_open, its tensors
 * renamed to llama.cpp's names, GPT-2's Conv1D weights transposed and the
 * llama-family q/k rows permuted for llama.cpp's rope; the result is what
 * an f32 GGUF of the model would hold, and from there the same per-tensor
 * type choice as llama-quantize applies (convert_types.c).  A GGUF input
 * keeps its metadata and is requantized the same way (tensors whose type
 * does not change are copied byte for byte).  Tensors are visited and
 * written in llama-quantize's order; each is produced while the file is
 * written, so only one converted tensor is in memory at a time.
 */
#include "convert/convert_internal.h"
#include "model/gguf_names.h"

#include "accinf/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_tensor {
    char name[ACC_GGUF_MAX_TENSOR_NAME + 1];
    int n_dims;
    int64_t ne[ACC_MAX_DIMS];
    acc_ggml_type in_type, out_type;
    const acc_tensor_view *hf;  /* HF source */
    acc_gguf_layout layout;
    const acc_gguf_tensor *gg;  /* GGUF source */
    const float *generated;     /* computed here (rope_freqs) */
} conv_tensor;

typedef struct conv_job {
    conv_tensor *tensors;
    int n, cap;
    const acc_hparams *hp;
    const acc_convert_options *opt;
    int done;
    acc_convert_stats *stats;
} conv_job;

static int64_t conv_elements(const conv_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++)
        n *= t->ne[i];
    return n;
}

static conv_tensor *conv_add(conv_job *job, const char *name, acc_error *err)
{
    if (job->n == job->cap) {
        int cap = job->cap ? 2 * job->cap : 64;
        conv_tensor *bigger = realloc(job->tensors, (size_t)cap * sizeof *bigger);
        if (!bigger) {
            acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
            return NULL;
        }
        job->tensors = bigger;
        job->cap = cap;
    }
    conv_tensor *t = &job->tensors[job->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

/* The tensor as f32 in GGUF layout (rows of ne[0]). */
static acc_status conv_f32(const conv_job *job, const conv_tensor *t, float *out, acc_error *err)
{
    int64_t n = conv_elements(t);
    if (t->generated) {
        memcpy(out, t->generated, (size_t)n * sizeof *out);
        return ACC_OK;
    }
    if (t->gg)
        return acc_dequantize(t->gg->type, t->gg->data, out, n, err);
    float *flat = acc_malloc((size_t)n * sizeof *flat, err);
    if (!flat)
        return ACC_ERR_RUNTIME;
    acc_convert_to_f32(t->hf->dtype, t->hf->data, flat, (size_t)n);
    const acc_hparams *hp = job->hp;
    switch (t->layout) {
    case ACC_GGUF_LAYOUT_TRANSPOSE: {
        /* HF [in, out] -> GGUF rows of `in` elements, one per output */
        int64_t in = t->ne[0], outs = t->ne[1];
        for (int64_t r = 0; r < outs; r++)
            for (int64_t c = 0; c < in; c++)
                out[r * in + c] = flat[c * outs + r];
        break;
    }
    case ACC_GGUF_LAYOUT_PERMUTE_Q:
    case ACC_GGUF_LAYOUT_PERMUTE_K: {
        int heads = t->layout == ACC_GGUF_LAYOUT_PERMUTE_Q ? hp->n_heads : hp->n_kv_heads;
        size_t row = t->n_dims == 2 ? (size_t)t->ne[0] * sizeof(float) : sizeof(float);
        acc_gguf_permute_rows(flat, out, heads, hp->head_dim, row, 0);
        break;
    }
    default:
        memcpy(out, flat, (size_t)n * sizeof *out);
        break;
    }
    free(flat);
    return ACC_OK;
}

static acc_status conv_fill(void *user, const char *name, void *dst, uint64_t nbytes,
                            acc_error *err)
{
    conv_job *job = user;
    conv_tensor *t = NULL;
    for (int i = 0; i < job->n && !t; i++)
        if (strcmp(job->tensors[i].name, name) == 0)
            t = &job->tensors[i];
    if (!t)
        return acc_error_set(err, ACC_ERR_RUNTIME, "tensor '%s': lost during conversion", name);
    acc_status st = ACC_OK;
    if (t->gg && t->gg->type == t->out_type) {
        memcpy(dst, t->gg->data, nbytes);
    } else {
        int64_t n = conv_elements(t);
        float *f32 = acc_malloc((size_t)n * sizeof *f32, err);
        if (!f32)
            return ACC_ERR_RUNTIME;
        st = conv_f32(job, t, f32, err);
        if (st == ACC_OK)
            st = acc_quantize(t->out_type, f32, dst, n, err);
        free(f32);
        if (st != ACC_OK)
            return acc_error_wrap(err, "tensor '%s'", name);
    }
    job->done++;
    if (job->stats) {
        job->stats->bytes_out += nbytes;
        job->stats->n_by_type[t->out_type]++;
    }
    if (job->opt->progress)
        job->opt->progress(job->opt->progress_user, job->done, job->n, name);
    return ACC_OK;
}

/* ---- sources --------------------------------------------------------------- */

static acc_status collect_hf(conv_job *job, const acc_model *model, float **rope_factors,
                             acc_error *err)
{
    const acc_hparams *hp = acc_model_hparams(model);
    const acc_weight_set *set = acc_model_weights(model);
    for (size_t i = 0; i < acc_weight_set_count(set); i++) {
        const acc_tensor_view *v = acc_weight_set_at(set, i);
        char name[256];
        acc_gguf_layout layout;
        int mapped = acc_gguf_name_from_hf(hp->arch, v->name, name, sizeof name, &layout);
        if (mapped == 0)
            continue;
        /* a tied head is not stored in llama.cpp's llama files; GPT-2's is
         * written below from the embedding */
        if (strcmp(name, "output.weight") == 0 &&
            (hp->tie_word_embeddings || hp->arch == ACC_ARCH_GPT2))
            continue;
        if (mapped < 0 || strlen(name) > ACC_GGUF_MAX_TENSOR_NAME || v->n_dims > 2)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': no GGUF name for it",
                                 v->file, v->name);
        conv_tensor *t = conv_add(job, name, err);
        if (!t)
            return ACC_ERR_RUNTIME;
        t->hf = v;
        t->layout = layout;
        t->in_type = ACC_GGML_F32;
        t->n_dims = v->n_dims;
        /* ggml dims are innermost first; a transposed Conv1D [in, out] is
         * stored as `out` rows of `in` */
        if (v->n_dims == 2) {
            t->ne[0] = layout == ACC_GGUF_LAYOUT_TRANSPOSE ? v->shape[0] : v->shape[1];
            t->ne[1] = layout == ACC_GGUF_LAYOUT_TRANSPOSE ? v->shape[1] : v->shape[0];
        } else {
            t->ne[0] = v->shape[0];
        }
        if (hp->arch == ACC_ARCH_GPT2 && strcmp(name, "token_embd.weight") == 0) {
            conv_tensor copy = *t;
            conv_tensor *out = conv_add(job, "output.weight", err);
            if (!out)
                return ACC_ERR_RUNTIME;
            memcpy(out->ne, copy.ne, sizeof copy.ne);
            out->n_dims = copy.n_dims;
            out->hf = copy.hf;
            out->layout = copy.layout;
            out->in_type = ACC_GGML_F32;
        }
    }
    if (hp->rope_scaling == ACC_ROPE_SCALING_LLAMA3) {
        *rope_factors = acc_malloc((size_t)(hp->head_dim / 2) * sizeof **rope_factors, err);
        if (!*rope_factors)
            return ACC_ERR_RUNTIME;
        convert_llama3_rope_factors(hp, *rope_factors);
        conv_tensor *t = conv_add(job, "rope_freqs.weight", err);
        if (!t)
            return ACC_ERR_RUNTIME;
        t->n_dims = 1;
        t->ne[0] = hp->head_dim / 2;
        t->generated = *rope_factors;
        t->in_type = ACC_GGML_F32;
    }
    return ACC_OK;
}

static acc_status collect_gguf(conv_job *job, const acc_gguf *g, acc_error *err)
{
    for (uint64_t i = 0; i < acc_gguf_tensor_count(g); i++) {
        const acc_gguf_tensor *src = acc_gguf_tensor_at(g, i);
        if (strlen(src->name) > ACC_GGUF_MAX_TENSOR_NAME)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%.64s...': name too long",
                                 acc_gguf_name(g), src->name);
        conv_tensor *t = conv_add(job, src->name, err);
        if (!t)
            return ACC_ERR_RUNTIME;
        t->gg = src;
        t->in_type = src->type;
        t->n_dims = src->n_dims;
        memcpy(t->ne, src->ne, sizeof t->ne);
    }
    return ACC_OK;
}

static int compare_tensors(const void *a, const void *b)
{
    return acc_convert_name_compare(((const conv_tensor *)a)->name,
                                    ((const conv_tensor *)b)->name);
}

/* Type choice in llama-quantize's order; the plan's counters advance. */
static acc_status plan_types(conv_job *job, const acc_convert_type *type, int pure, int n_layer,
                             int n_gqa, acc_error *err)
{
    qsort(job->tensors, (size_t)job->n, sizeof *job->tensors, compare_tensors);
    acc_convert_plan plan = {.type = type, .pure = pure, .n_layer = n_layer, .n_gqa = n_gqa};
    for (int i = 0; i < job->n; i++) {
        const char *name = job->tensors[i].name;
        if (strstr(name, "attn_v.weight") || strstr(name, "attn_qkv.weight") ||
            strstr(name, "attn_kv_b.weight"))
            plan.n_attention_wv++;
        else if (strcmp(name, "output.weight") == 0)
            plan.has_output = 1;
    }
    for (int i = 0; i < job->n; i++) {
        conv_tensor *t = &job->tensors[i];
        acc_status st = acc_convert_tensor_type(&plan, t->name, t->n_dims, t->ne, t->in_type,
                                                &t->out_type, err);
        if (st != ACC_OK)
            return st;
        if (t->gg && t->out_type != t->in_type && !acc_ggml_type_quantizable(t->in_type))
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "tensor '%s': cannot convert from %s (supported: f32, f16, "
                                 "bf16, q4_0..q8_0, q2_K..q6_K, iq4_nl)",
                                 t->name, acc_ggml_type_name(t->in_type));
    }
    return ACC_OK;
}

static acc_status write_tensors(conv_job *job, acc_gguf_writer *w, const char *output,
                                acc_error *err)
{
    for (int i = 0; i < job->n; i++) {
        conv_tensor *t = &job->tensors[i];
        acc_status st = acc_gguf_writer_add_tensor_fill(w, t->name, t->out_type, t->n_dims, t->ne,
                                                        conv_fill, job, err);
        if (st != ACC_OK)
            return st;
        if (job->stats) {
            uint64_t in_bytes = 0;
            if (t->gg)
                in_bytes = t->gg->nbytes;
            else if (t->hf)
                in_bytes = t->hf->nbytes;
            job->stats->bytes_in += in_bytes;
        }
    }
    if (job->stats)
        job->stats->n_tensors = job->n;
    return acc_gguf_writer_write(w, output, err);
}

static const char *base_name(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return path + start;
}

static acc_status convert_hf(const char *input, const char *output, const acc_convert_type *type,
                             conv_job *job, acc_error *err)
{
    acc_model *model = NULL;
    acc_gguf_writer *w = NULL;
    float *rope_factors = NULL;
    acc_status st = acc_model_open(input, &model, err);
    if (st == ACC_OK)
        st = acc_gguf_writer_create(&w, err);
    if (st == ACC_OK) {
        const acc_hparams *hp = acc_model_hparams(model);
        job->hp = hp;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(base_name(input), "/"),
                 base_name(input));
        st = convert_write_hparams(name, hp, w, err);
        if (st == ACC_OK)
            st = acc_gguf_writer_set_u32(w, "general.file_type", type->file_type, err);
        if (st == ACC_OK)
            st = acc_gguf_writer_set_u32(w, "general.quantization_version", 2, err);
        if (st == ACC_OK)
            st = convert_write_vocab(input, hp, w, err);
        if (st == ACC_OK)
            st = collect_hf(job, model, &rope_factors, err);
        if (st == ACC_OK)
            st = plan_types(job, type, job->opt->pure, hp->n_layers, hp->n_heads / hp->n_kv_heads,
                            err);
        if (st == ACC_OK)
            st = write_tensors(job, w, output, err);
    }
    acc_gguf_writer_destroy(w);
    free(rope_factors);
    acc_model_close(model);
    return st;
}

static acc_status convert_gguf(const char *input, const char *output,
                               const acc_convert_type *type, conv_job *job, acc_error *err)
{
    acc_gguf *g = NULL;
    acc_gguf_writer *w = NULL;
    acc_status st = acc_gguf_open(input, &g, err);
    if (st == ACC_OK)
        st = acc_gguf_writer_create(&w, err);
    for (uint64_t i = 0; st == ACC_OK && i < acc_gguf_kv_count(g); i++)
        st = acc_gguf_writer_set_value(w, acc_gguf_kv_key(g, i), acc_gguf_kv_value(g, i), err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_u32(w, "general.quantization_version", 2, err);
    if (st == ACC_OK)
        st = acc_gguf_writer_set_u32(w, "general.file_type", type->file_type, err);
    int n_layer = 0, n_head = 1, n_head_kv = 1;
    if (st == ACC_OK) {
        /* the counts the mixtures depend on, as llama.cpp reads them */
        char *arch = NULL;
        st = acc_gguf_get_string_dup(g, "general.architecture", &arch, err);
        char key[160];
        uint32_t v;
        if (st == ACC_OK) {
            snprintf(key, sizeof key, "%s.block_count", arch);
            st = acc_gguf_get_u32(g, key, &v, err);
            n_layer = (int)(v > 1024 ? 1024 : v);
        }
        if (st == ACC_OK) {
            snprintf(key, sizeof key, "%s.attention.head_count", arch);
            if (acc_gguf_find(g, key) && acc_gguf_get_u32(g, key, &v, err) == ACC_OK && v)
                n_head = (int)(v > 65536 ? 65536 : v);
            snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
            n_head_kv = n_head;
            if (acc_gguf_find(g, key) && acc_gguf_get_u32(g, key, &v, err) == ACC_OK && v)
                n_head_kv = (int)(v > 65536 ? 65536 : v);
        }
        free(arch);
    }
    if (st == ACC_OK)
        st = collect_gguf(job, g, err);
    if (st == ACC_OK)
        st = plan_types(job, type, job->opt->pure, n_layer, n_head / n_head_kv, err);
    if (st == ACC_OK)
        st = write_tensors(job, w, output, err);
    acc_gguf_writer_destroy(w);
    acc_gguf_close(g);
    return st;
}

acc_status acc_convert(const char *input, const char *output, const acc_convert_options *options,
                       acc_convert_stats *stats, acc_error *err)
{
    const acc_convert_type *type = acc_convert_type_find(options->type ? options->type : "");
    if (!type)
        return acc_error_set(err, ACC_ERR_INPUT, "--type: '%s' is not a known type",
                             options->type ? options->type : "");
    if (stats)
        memset(stats, 0, sizeof *stats);
    conv_job job = {.opt = options, .stats = stats};
    acc_status st;
    if (!acc_path_exists(input))
        st = acc_error_set(err, ACC_ERR_INPUT, "%s: no such file or directory", input);
    else if (acc_path_is_dir(input))
        st = convert_hf(input, output, type, &job, err);
    else
        st = convert_gguf(input, output, type, &job, err);
    free(job.tensors);
    return st;
}
