/*
 * cli_info.c — `accinf info`: what a model is and what it needs: the
 * architecture and hyper-parameters, parameter count, stored tensors
 * (with --tensors), the memory of the weights as stored and as f32 for
 * the reference compute path, and the f32 KV cache per token and at the
 * full context.  Opening the model validates it completely first.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include <stdlib.h>
#include <string.h>

typedef struct info_summary {
    uint64_t stored_bytes;
    size_t dtype_tensors[ACC_DTYPE_COUNT];
    int64_t parameters;
    uint64_t weights_f32_bytes;
    uint64_t kv_per_token;
    uint64_t kv_full;
} info_summary;

static void info_summarize(const acc_model *model, info_summary *s)
{
    memset(s, 0, sizeof *s);
    const acc_weight_set *w = acc_model_weights(model);
    for (size_t i = 0; i < acc_weight_set_count(w); i++) {
        const acc_tensor_view *t = acc_weight_set_at(w, i);
        s->stored_bytes += t->nbytes;
        if ((int)t->dtype >= 0 && t->dtype < ACC_DTYPE_COUNT)
            s->dtype_tensors[t->dtype]++;
    }
    const acc_hparams *hp = acc_model_hparams(model);
    s->parameters = acc_model_parameter_count(model);
    s->weights_f32_bytes = (uint64_t)s->parameters * 4u;
    /* K and V, every layer, f32 */
    s->kv_per_token = 2u * (uint64_t)hp->n_layers * (uint64_t)hp->n_kv_heads *
                      (uint64_t)hp->head_dim * 4u;
    s->kv_full = s->kv_per_token * (uint64_t)hp->max_position;
}

static void info_bytes(char *buf, size_t size, uint64_t bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.2f %s", v, units[u]);
}

static void info_shape_text(const acc_tensor_view *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < t->n_dims && used < size; d++) {
        int n = snprintf(buf + used, size - used, d ? " x %lld" : "%lld", (long long)t->shape[d]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (t->n_dims == 0)
        snprintf(buf, size, "scalar");
}

static void info_print_human(const acc_model *model, const info_summary *s, int tensors)
{
    const acc_hparams *hp = acc_model_hparams(model);
    char a[32], b[32];
    printf("model:              %s\n", acc_model_path(model));
    printf("architecture:       %s\n", acc_arch_hf_name(hp->arch));
    printf("parameters:         %lld (%.2f M)\n", (long long)s->parameters,
           (double)s->parameters / 1e6);
    printf("stored dtype:       %s\n", hp->torch_dtype[0] ? hp->torch_dtype : "(not given)");
    printf("vocab_size:         %d\n", hp->vocab_size);
    printf("hidden_size:        %d\n", hp->hidden_size);
    printf("layers:             %d\n", hp->n_layers);
    printf("attention heads:    %d (kv heads %d, head_dim %d)\n", hp->n_heads, hp->n_kv_heads,
           hp->head_dim);
    printf("intermediate_size:  %d\n", hp->intermediate_size);
    printf("max context:        %d\n", hp->max_position);
    printf("norm_eps:           %g\n", (double)hp->norm_eps);
    if (hp->arch != ACC_ARCH_GPT2) {
        printf("rope_theta:         %g\n", (double)hp->rope_theta);
        if (hp->rope_scaling == ACC_ROPE_SCALING_LLAMA3)
            printf("rope_scaling:       llama3 (factor %g, low %g, high %g, original %d)\n",
                   (double)hp->rope_factor, (double)hp->rope_low_freq_factor,
                   (double)hp->rope_high_freq_factor, hp->rope_original_max_position);
        else if (hp->rope_scaling == ACC_ROPE_SCALING_FREQ_FACTORS)
            printf("rope_scaling:       per-frequency factors (GGUF rope_freqs.weight)\n");
    }
    printf("tied embeddings:    %s\n", hp->tie_word_embeddings ? "yes" : "no");
    printf("attention bias:     %s\n", hp->attention_bias ? "yes" : "no");
    printf("mlp bias:           %s\n", hp->mlp_bias ? "yes" : "no");
    if (hp->arch == ACC_ARCH_GRANITE)
        printf("multipliers:        embedding %g, residual %g, attention %g, logits scaling %g\n",
               (double)hp->embedding_multiplier, (double)hp->residual_multiplier,
               (double)hp->attention_multiplier, (double)hp->logits_scaling);
    printf("bos / eos id:       %d / %d\n", hp->bos_token_id, hp->eos_token_id);
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    if (tok)
        printf("tokenizer:          %d tokens (bos %d, eos %d)\n", acc_tokenizer_vocab_size(tok),
               (int)acc_tokenizer_bos_id(tok), (int)acc_tokenizer_eos_id(tok));
    else
        printf("tokenizer:          (none)\n");
    const acc_weight_set *w = acc_model_weights(model);
    printf("tensors:            %zu (", acc_weight_set_count(w));
    int first = 1;
    for (int d = 0; d < ACC_DTYPE_COUNT; d++) {
        if (!s->dtype_tensors[d])
            continue;
        printf("%s%zu %s", first ? "" : ", ", s->dtype_tensors[d], acc_dtype_name((acc_dtype)d));
        first = 0;
    }
    printf(")\n");
    printf("memory:\n");
    info_bytes(a, sizeof a, s->stored_bytes);
    printf("  weights as stored:   %s\n", a);
    info_bytes(a, sizeof a, s->weights_f32_bytes);
    printf("  weights as f32:      %s (f32 compute path)\n", a);
    info_bytes(a, sizeof a, s->kv_per_token);
    info_bytes(b, sizeof b, s->kv_full);
    printf("  KV cache (f32):      %s per token, %s at the full context of %d\n", a, b,
           hp->max_position);
    if (!tensors)
        return;
    printf("\n%-48s %-5s %s\n", "tensor", "dtype", "shape");
    for (size_t i = 0; i < acc_weight_set_count(w); i++) {
        const acc_tensor_view *t = acc_weight_set_at(w, i);
        char shape[128];
        info_shape_text(t, shape, sizeof shape);
        printf("%-48s %-5s %s\n", t->name, acc_dtype_name(t->dtype), shape);
    }
}

static void info_json_key(const char *key, int first)
{
    if (!first)
        fputc(',', stdout);
    cli_json_string(stdout, key, strlen(key));
    fputc(':', stdout);
}

static void info_print_json(const acc_model *model, const info_summary *s, int tensors)
{
    const acc_hparams *hp = acc_model_hparams(model);
    const char *path = acc_model_path(model);
    const char *arch = acc_arch_hf_name(hp->arch);
    fputc('{', stdout);
    info_json_key("path", 1);
    cli_json_string(stdout, path, strlen(path));
    info_json_key("architecture", 0);
    cli_json_string(stdout, arch, strlen(arch));
    info_json_key("parameters", 0);
    printf("%lld", (long long)s->parameters);
    info_json_key("hparams", 0);
    printf("{\"vocab_size\":%d,\"hidden_size\":%d,\"n_layers\":%d,\"n_heads\":%d,"
           "\"n_kv_heads\":%d,\"head_dim\":%d,\"intermediate_size\":%d,\"max_position\":%d,"
           "\"norm_eps\":",
           hp->vocab_size, hp->hidden_size, hp->n_layers, hp->n_heads, hp->n_kv_heads,
           hp->head_dim, hp->intermediate_size, hp->max_position);
    cli_json_double(stdout, (double)hp->norm_eps);
    fputs(",\"rope_theta\":", stdout);
    cli_json_double(stdout, (double)hp->rope_theta);
    printf(",\"rope_scaling\":%s",
           hp->rope_scaling == ACC_ROPE_SCALING_LLAMA3         ? "\"llama3\""
           : hp->rope_scaling == ACC_ROPE_SCALING_FREQ_FACTORS ? "\"freq_factors\""
                                                               : "null");
    printf(",\"tie_word_embeddings\":%s,\"attention_bias\":%s,\"mlp_bias\":%s",
           hp->tie_word_embeddings ? "true" : "false", hp->attention_bias ? "true" : "false",
           hp->mlp_bias ? "true" : "false");
    fputs(",\"embedding_multiplier\":", stdout);
    cli_json_double(stdout, (double)hp->embedding_multiplier);
    fputs(",\"residual_multiplier\":", stdout);
    cli_json_double(stdout, (double)hp->residual_multiplier);
    fputs(",\"attention_multiplier\":", stdout);
    cli_json_double(stdout, (double)hp->attention_multiplier);
    fputs(",\"logits_scaling\":", stdout);
    cli_json_double(stdout, (double)hp->logits_scaling);
    printf(",\"bos_token_id\":%d,\"eos_token_id\":%d,\"torch_dtype\":", hp->bos_token_id,
           hp->eos_token_id);
    cli_json_string(stdout, hp->torch_dtype, strlen(hp->torch_dtype));
    fputc('}', stdout);
    info_json_key("memory", 0);
    printf("{\"weights_stored_bytes\":%llu,\"weights_f32_bytes\":%llu,"
           "\"kv_cache_bytes_per_token\":%llu,\"kv_cache_bytes_full_context\":%llu,"
           "\"context\":%d}",
           (unsigned long long)s->stored_bytes, (unsigned long long)s->weights_f32_bytes,
           (unsigned long long)s->kv_per_token, (unsigned long long)s->kv_full,
           hp->max_position);
    info_json_key("tokenizer", 0);
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    if (tok)
        printf("{\"vocab_size\":%d,\"bos_id\":%d,\"eos_id\":%d}", acc_tokenizer_vocab_size(tok),
               (int)acc_tokenizer_bos_id(tok), (int)acc_tokenizer_eos_id(tok));
    else
        fputs("null", stdout);
    const acc_weight_set *w = acc_model_weights(model);
    info_json_key("n_tensors", 0);
    printf("%zu", acc_weight_set_count(w));
    if (tensors) {
        info_json_key("tensors", 0);
        fputc('[', stdout);
        for (size_t i = 0; i < acc_weight_set_count(w); i++) {
            const acc_tensor_view *t = acc_weight_set_at(w, i);
            const char *dtype = acc_dtype_name(t->dtype);
            fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
            cli_json_string(stdout, t->name, strlen(t->name));
            fputs(",\"dtype\":", stdout);
            cli_json_string(stdout, dtype, strlen(dtype));
            fputs(",\"shape\":[", stdout);
            for (int d = 0; d < t->n_dims; d++)
                printf(d ? ",%lld" : "%lld", (long long)t->shape[d]);
            printf("],\"bytes\":%llu}", (unsigned long long)t->nbytes);
        }
        fputc(']', stdout);
    }
    fputs("}\n", stdout);
}

int cli_info_main(int argc, char **argv)
{
    int json = 0, tensors = 0;
    const cli_option options[] = {
        {"tensors", 0, CLI_FLAG, &tensors, NULL, "also list every tensor: name, dtype, shape",
         NULL},
        {"json", 0, CLI_FLAG, &json, NULL, "print one JSON object on stdout", NULL},
    };
    const cli_command cmd = {
        .verb = "info",
        .usage = "MODEL [--tensors] [--json]",
        .summary = "Show a model's architecture, hyper-parameters, parameter count, tensors\n"
                   "and memory needs (weights as stored and as f32; f32 KV cache per token\n"
                   "and at the full context). The whole model is validated first.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Examples:\n"
                 "  accinf info examples/demo-model\n"
                 "  accinf info examples/demo-model --tensors --json\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_model *model = NULL;
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st != ACC_OK || help)
        goto done;
    st = cli_open_model(path, &model, &err);
    if (st != ACC_OK)
        goto done;
    info_summary s;
    info_summarize(model, &s);
    if (json)
        info_print_json(model, &s, tensors);
    else
        info_print_human(model, &s, tensors);

done:
    if (model)
        acc_model_close(model);
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
