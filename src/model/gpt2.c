/*
 * gpt2.c — GPT2LMHeadModel as a graph, with HF semantics: token + learned
 * position embeddings; per layer pre-LayerNorm attention (fused q|k|v
 * projection, scores scaled by 1/sqrt(head_dim)) and a gelu_new MLP, each
 * added to the residual; final LayerNorm; head tied to the token embedding.
 *
 * GPT-2's Conv1D layers store weights as [in, out]; the graph's weight
 * leaves read them transposed, and c_attn is cut into its q, k, v parts.
 * Tensor names carry the "transformer." prefix (GPT2LMHeadModel.save) or
 * not (the original openai-community/gpt2 files); both are accepted.
 */
#include "model/arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static acc_status gpt2_check(const acc_hparams *hp, const char *config, acc_error *err)
{
    if (hp->n_heads < 1 || hp->hidden_size % hp->n_heads != 0)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: n_head: %d does not divide n_embd %d",
                             config, hp->n_heads, hp->hidden_size);
    if (hp->n_kv_heads != hp->n_heads)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: GPT-2 has no grouped-query attention",
                             config);
    if (hp->intermediate_size < 1 || hp->vocab_size < 1 || hp->max_position < 1 ||
        hp->n_layers < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: sizes must be positive", config);
    return ACC_OK;
}

/* A Conv1D weight [in, out] read as its transpose, rows [begin, +rows). */
static int conv1d_weight(acc_graph *g, const char *source, const char *part, int64_t in,
                         int64_t out, int64_t begin, int64_t rows)
{
    char name[192];
    snprintf(name, sizeof name, "%s%s", source, part);
    int64_t shape[2] = {in, out};
    return acc_graph_weight_part(g, name, source, 2, shape, 1, begin, 0, rows, in);
}

/* A bias [out], elements [begin, +n). */
static int bias_part(acc_graph *g, const char *source, const char *part, int64_t out,
                     int64_t begin, int64_t n)
{
    char name[192];
    snprintf(name, sizeof name, "%s%s", source, part);
    int64_t shape[2] = {out, 0};
    return acc_graph_weight_part(g, name, source, 1, shape, 0, 0, begin, 1, n);
}

static int layer_vec(acc_graph *g, const char *prefix, int layer, const char *what, int64_t n)
{
    char name[160];
    snprintf(name, sizeof name, "%sh.%d.%s", prefix, layer, what);
    return acc_graph_weight(g, name, 0, n);
}

static int model_vec(acc_graph *g, const char *prefix, const char *what, int64_t rows,
                     int64_t cols)
{
    char name[160];
    snprintf(name, sizeof name, "%s%s", prefix, what);
    return acc_graph_weight(g, name, rows, cols);
}

static acc_status gpt2_build(const acc_hparams *hp, const acc_weight_set *stored,
                             acc_graph **out, acc_error *err)
{
    const char *prefix = "transformer.";
    if (stored && !acc_weight_set_find(stored, "transformer.wte.weight") &&
        acc_weight_set_find(stored, "wte.weight"))
        prefix = "";
    acc_graph *g;
    acc_status status = acc_graph_create(&g, err);
    if (status != ACC_OK)
        return status;
    int64_t d = hp->hidden_size, ff = hp->intermediate_size;
    int n_heads = hp->n_heads, head_dim = (int)(d / n_heads);
    float eps = hp->norm_eps, scale = 1.0f / sqrtf((float)head_dim);
    char name[160];

    int wte = model_vec(g, prefix, "wte.weight", hp->vocab_size, d);
    int wpe = model_vec(g, prefix, "wpe.weight", hp->max_position, d);
    int x = acc_graph_add(g, acc_graph_embed(g, wte, ACC_EMBED_BY_TOKEN),
                          acc_graph_embed(g, wpe, ACC_EMBED_BY_POSITION), 1.0f);
    for (int l = 0; l < hp->n_layers; l++) {
        int h = acc_graph_layer_norm(g, x, layer_vec(g, prefix, l, "ln_1.weight", d),
                                     layer_vec(g, prefix, l, "ln_1.bias", d), eps);
        snprintf(name, sizeof name, "%sh.%d.attn.c_attn.weight", prefix, l);
        int wq = conv1d_weight(g, name, ":q", d, 3 * d, 0, d);
        int wk = conv1d_weight(g, name, ":k", d, 3 * d, d, d);
        int wv = conv1d_weight(g, name, ":v", d, 3 * d, 2 * d, d);
        snprintf(name, sizeof name, "%sh.%d.attn.c_attn.bias", prefix, l);
        int bq = bias_part(g, name, ":q", 3 * d, 0, d);
        int bk = bias_part(g, name, ":k", 3 * d, d, d);
        int bv = bias_part(g, name, ":v", 3 * d, 2 * d, d);
        int a = acc_graph_attention(g, acc_graph_matmul(g, h, wq, bq), acc_graph_matmul(g, h, wk, bk),
                                    acc_graph_matmul(g, h, wv, bv), l, n_heads, n_heads, head_dim,
                                    scale);
        snprintf(name, sizeof name, "%sh.%d.attn.c_proj.weight", prefix, l);
        int wo = conv1d_weight(g, name, "", d, d, 0, d);
        x = acc_graph_add(g, x, acc_graph_matmul(g, a, wo, layer_vec(g, prefix, l, "attn.c_proj.bias", d)),
                          1.0f);

        h = acc_graph_layer_norm(g, x, layer_vec(g, prefix, l, "ln_2.weight", d),
                                 layer_vec(g, prefix, l, "ln_2.bias", d), eps);
        snprintf(name, sizeof name, "%sh.%d.mlp.c_fc.weight", prefix, l);
        int wfc = conv1d_weight(g, name, "", d, ff, 0, ff);
        int m = acc_graph_gelu_tanh(g, acc_graph_matmul(g, h, wfc, layer_vec(g, prefix, l, "mlp.c_fc.bias", ff)));
        snprintf(name, sizeof name, "%sh.%d.mlp.c_proj.weight", prefix, l);
        int wproj = conv1d_weight(g, name, "", ff, d, 0, d);
        x = acc_graph_add(g, x, acc_graph_matmul(g, m, wproj, layer_vec(g, prefix, l, "mlp.c_proj.bias", d)),
                          1.0f);
    }
    int o = acc_graph_gather_outputs(g, x);
    o = acc_graph_layer_norm(g, o, model_vec(g, prefix, "ln_f.weight", 0, d),
                             model_vec(g, prefix, "ln_f.bias", 0, d), eps);
    /* A GGUF gpt2 file stores output.weight, possibly in another type than
     * token_embd (llama-quantize gives the head more bits): then use it. */
    int head = hp->tie_word_embeddings ? wte : acc_graph_weight(g, "lm_head.weight",
                                                                hp->vocab_size, d);
    int logits = acc_graph_matmul(g, o, head, -1);
    status = acc_graph_finish(g, logits, err);
    if (status != ACC_OK) {
        acc_graph_destroy(g);
        return status;
    }
    *out = g;
    return ACC_OK;
}

static acc_status gpt2_check_unused(const acc_hparams *hp, const acc_tensor_view *view,
                                    int *ignore, acc_error *err)
{
    *ignore = 0;
    if (strncmp(view->name, "h.", 2) != 0 && strncmp(view->name, "transformer.h.", 14) != 0 &&
        strcmp(view->name, "lm_head.weight") != 0)
        return ACC_OK;
    /* causal-mask buffers that older checkpoints stored */
    if (acc_arch_name_ends_with(view->name, ".attn.bias") ||
        acc_arch_name_ends_with(view->name, ".attn.masked_bias")) {
        *ignore = 1;
        return ACC_OK;
    }
    /* the head is tied to wte; a stored copy must at least have its shape */
    if (hp->tie_word_embeddings && strcmp(view->name, "lm_head.weight") == 0) {
        int64_t shape[2] = {hp->vocab_size, hp->hidden_size};
        if (!acc_arch_shape_is(view, 2, shape))
            return acc_arch_shape_error(view, 2, shape, err);
        *ignore = 1;
    }
    return ACC_OK;
}

const acc_arch_builder acc_arch_gpt2 = {
    .arch = ACC_ARCH_GPT2,
    .check = gpt2_check,
    .build = gpt2_build,
    .check_unused = gpt2_check_unused,
};
