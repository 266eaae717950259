/*
 * hparams.c — reads a Hugging Face config.json into acc_hparams.
 *
 * architectures[0] selects the field names (GPT-2's n_embd/n_layer/... or the
 * Llama family's hidden_size/num_hidden_layers/...).  Defaults follow each
 * transformers config class; every value is type- and range-checked so the
 * graph builder can trust the struct, and errors name the offending field.
 */
#include "accinf/hparams.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits well above any real model that still keep size arithmetic sane. */
#define LIMIT_VOCAB (1 << 24)
#define LIMIT_HIDDEN 65536
#define LIMIT_LAYERS 1024
#define LIMIT_HEADS 65536
#define LIMIT_INTERMEDIATE (1 << 20)
#define LIMIT_POSITION (1 << 24)

static const char *const arch_names[ACC_ARCH_COUNT] = {
    [ACC_ARCH_GPT2] = "GPT2LMHeadModel",       [ACC_ARCH_LLAMA] = "LlamaForCausalLM",
    [ACC_ARCH_MISTRAL] = "MistralForCausalLM", [ACC_ARCH_QWEN2] = "Qwen2ForCausalLM",
    [ACC_ARCH_GRANITE] = "GraniteForCausalLM",
};

const char *acc_arch_hf_name(acc_arch arch)
{
    return (unsigned)arch < ACC_ARCH_COUNT ? arch_names[arch] : "?";
}

const char *acc_arch_supported_list(void)
{
    return "GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
           "GraniteForCausalLM";
}

/* The parse context: the config object and the label for messages. */
typedef struct config_reader {
    json_t *root;
    const char *name;
    const char *prefix; /* "" or "rope_scaling." for nested objects */
    acc_error *err;
} config_reader;

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static acc_status field_error(const config_reader *reader, const char *field, const char *what,
                              const json_t *value)
{
    char got[64] = "";
    if (value) {
        if (json_is_integer(value))
            snprintf(got, sizeof got, ", got %lld", (long long)json_integer_value(value));
        else if (json_is_real(value))
            snprintf(got, sizeof got, ", got %g", json_real_value(value));
        else
            snprintf(got, sizeof got, ", got %s", json_type_name(value));
    }
    return acc_error_set(reader->err, ACC_ERR_INPUT, "%s: field '%s%s': %s%s", reader->name,
                         reader->prefix, field, what, got);
}

/* Absent and null mean the same for optional fields. */
static json_t *config_get(const config_reader *reader, const char *field)
{
    json_t *value = json_object_get(reader->root, field);
    return json_is_null(value) ? NULL : value;
}

/* A positive integer in [1, limit].  Absent: `fallback` if > 0, else an error. */
static acc_status read_positive_int(const config_reader *reader, const char *field, int fallback,
                                    long long limit, int *out)
{
    json_t *value = config_get(reader, field);
    if (!value) {
        if (fallback > 0) {
            *out = fallback;
            return ACC_OK;
        }
        return field_error(reader, field, "missing (required)", NULL);
    }
    if (!json_is_integer(value) || json_integer_value(value) <= 0)
        return field_error(reader, field, "must be a positive integer", value);
    if (json_integer_value(value) > limit) {
        char what[80];
        snprintf(what, sizeof what, "exceeds the limit %lld", limit);
        return field_error(reader, field, what, value);
    }
    *out = (int)json_integer_value(value);
    return ACC_OK;
}

/* A number in the open interval (low, high); absent gives `fallback`. */
static acc_status read_number_in(const config_reader *reader, const char *field, double fallback,
                                 double low, double high, float *out)
{
    json_t *value = config_get(reader, field);
    if (!value) {
        *out = (float)fallback;
        return ACC_OK;
    }
    if (!json_is_number(value))
        return field_error(reader, field, "must be a number", value);
    double number = json_number_value(value);
    /* Check the float we store, not just the double: 1e-60 is positive but
     * rounds to 0.0f.  `high` never exceeds FLT_MAX, so the cast is defined
     * whenever the double check passes. */
    if (!(number > low && number < high && (float)number > low && (float)number < high)) {
        char what[96];
        snprintf(what, sizeof what, "must be in (%g, %g)", low, high);
        return field_error(reader, field, what, value);
    }
    *out = (float)number;
    return ACC_OK;
}

static acc_status read_bool(const config_reader *reader, const char *field, int fallback, int *out)
{
    json_t *value = config_get(reader, field);
    if (!value) {
        *out = fallback;
        return ACC_OK;
    }
    if (!json_is_boolean(value))
        return field_error(reader, field, "must be true or false", value);
    *out = json_is_true(value);
    return ACC_OK;
}

/* Absent gives `fallback`; otherwise the string must be `expected`. */
static acc_status require_string(const config_reader *reader, const char *field,
                                 const char *expected, int required_present)
{
    json_t *value = config_get(reader, field);
    if (!value)
        return required_present ? field_error(reader, field, "missing (required)", NULL) : ACC_OK;
    if (!json_is_string(value))
        return field_error(reader, field, "must be a string", value);
    if (strcmp(json_string_value(value), expected) != 0)
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field '%s': unsupported value '%.64s' (supported: %s)",
                             reader->name, field, json_string_value(value), expected);
    return ACC_OK;
}

/* bos/eos ids: an integer, a list of integers (the first is used; all are
 * kept for eos) or null/absent (-1). */
static acc_status read_token_ids(const config_reader *reader, const char *field, int *first,
                                 int *all, int capacity, int *count)
{
    *first = -1;
    if (count)
        *count = 0;
    json_t *value = config_get(reader, field);
    if (!value)
        return ACC_OK;
    size_t n = json_is_array(value) ? json_array_size(value) : 1;
    if (!json_is_array(value) && !json_is_integer(value))
        return field_error(reader, field, "must be an integer, a list of integers or null", value);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_is_array(value) ? json_array_get(value, i) : value;
        if (!json_is_integer(item) || json_integer_value(item) < 0 ||
            json_integer_value(item) >= LIMIT_VOCAB)
            return field_error(reader, field, "token ids must be integers in [0, 2^24)", item);
        int id = (int)json_integer_value(item);
        if (i == 0)
            *first = id;
        if (all && count && *count < capacity)
            all[(*count)++] = id;
    }
    return ACC_OK;
}

static acc_status read_architecture(const config_reader *reader, acc_arch *out)
{
    json_t *list = config_get(reader, "architectures");
    if (!list)
        return field_error(reader, "architectures", "missing (required)", NULL);
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        !json_is_string(json_array_get(list, 0)))
        return field_error(reader, "architectures", "must be a non-empty list of strings", list);
    const char *wanted = json_string_value(json_array_get(list, 0));
    for (int i = 0; i < ACC_ARCH_COUNT; i++) {
        if (strcmp(wanted, arch_names[i]) == 0) {
            *out = (acc_arch)i;
            return ACC_OK;
        }
    }
    return acc_error_set(reader->err, ACC_ERR_INPUT,
                         "%s: field 'architectures': unsupported architecture '%.80s' "
                         "(supported: %s)",
                         reader->name, wanted, acc_arch_supported_list());
}

static acc_status read_torch_dtype(const config_reader *reader, acc_hparams *hp)
{
    /* transformers >= 4.56 writes "dtype"; older versions "torch_dtype". */
    const char *field = config_get(reader, "torch_dtype") ? "torch_dtype" : "dtype";
    json_t *value = config_get(reader, field);
    if (!value)
        return ACC_OK;
    if (!json_is_string(value))
        return field_error(reader, field, "must be a string", value);
    if (json_string_length(value) >= sizeof hp->torch_dtype)
        return field_error(reader, field, "is too long", NULL);
    memcpy(hp->torch_dtype, json_string_value(value), json_string_length(value) + 1);
    return ACC_OK;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        acc_status status_ = (expr);                                                               \
        if (status_ != ACC_OK)                                                                     \
            return status_;                                                                        \
    } while (0)

static acc_status read_gpt2(const config_reader *reader, acc_hparams *hp)
{
    TRY(read_positive_int(reader, "vocab_size", 0, LIMIT_VOCAB, &hp->vocab_size));
    TRY(read_positive_int(reader, "n_embd", 0, LIMIT_HIDDEN, &hp->hidden_size));
    TRY(read_positive_int(reader, "n_layer", 0, LIMIT_LAYERS, &hp->n_layers));
    TRY(read_positive_int(reader, "n_head", 0, LIMIT_HEADS, &hp->n_heads));
    const char *position_field = config_get(reader, "n_positions") ? "n_positions" : "n_ctx";
    if (!config_get(reader, position_field))
        return field_error(reader, "n_positions", "missing (required; or n_ctx)", NULL);
    TRY(read_positive_int(reader, position_field, 0, LIMIT_POSITION, &hp->max_position));
    if (hp->hidden_size % hp->n_heads != 0) {
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field 'n_head': %d does not divide n_embd %d", reader->name,
                             hp->n_heads, hp->hidden_size);
    }
    hp->n_kv_heads = hp->n_heads;
    hp->head_dim = hp->hidden_size / hp->n_heads;
    /* n_inner null means 4 * n_embd (GPT2MLP). */
    TRY(read_positive_int(reader, "n_inner", 4 * hp->hidden_size, LIMIT_INTERMEDIATE,
                          &hp->intermediate_size));
    TRY(read_number_in(reader, "layer_norm_epsilon", 1e-5, 0.0, 1.0, &hp->norm_eps));
    TRY(require_string(reader, "activation_function", "gelu_new", 0));
    /* GPT2LMHeadModel always ties lm_head to wte. */
    hp->tie_word_embeddings = 1;
    hp->attention_bias = 1; /* Conv1D c_attn / c_proj carry biases */
    hp->attention_out_bias = 1;
    hp->mlp_bias = 1;
    hp->rope_theta = 0.0f; /* learned absolute positions, no RoPE */
    return ACC_OK;
}

/* RoPE scaling comes from "rope_scaling" (transformers 4.x) or, when that
 * is absent, "rope_parameters" (transformers 5, which also moves rope_theta
 * there).  Both use the same keys. */
static acc_status read_rope_scaling(const config_reader *reader, acc_hparams *hp)
{
    const char *field = "rope_scaling";
    json_t *scaling = config_get(reader, field);
    if (!scaling) {
        field = "rope_parameters";
        scaling = config_get(reader, field);
    }
    if (!scaling)
        return ACC_OK;
    if (!json_is_object(scaling))
        return field_error(reader, field, "must be an object or null", scaling);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s.", field);
    config_reader inner = {scaling, reader->name, prefix, reader->err};
    json_t *type = json_object_get(scaling, "rope_type");
    if (!type)
        type = json_object_get(scaling, "type");
    if (!json_is_string(type))
        return field_error(&inner, "rope_type", "must be a string", type);
    const char *type_name = json_string_value(type);
    if (strcmp(type_name, "default") == 0)
        return ACC_OK;
    if (strcmp(type_name, "llama3") != 0)
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field '%s': unsupported rope_scaling type '%.64s' "
                             "(supported: default, llama3)",
                             reader->name, field, type_name);
    hp->rope_scaling = ACC_ROPE_SCALING_LLAMA3;
    /* The sub-fields are required: transformers refuses llama3 scaling
     * without them too. */
    static const char *const required[] = {"factor", "low_freq_factor", "high_freq_factor",
                                           "original_max_position_embeddings"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!config_get(&inner, required[i]))
            return field_error(&inner, required[i], "missing (required for llama3)", NULL);
    TRY(read_number_in(&inner, "factor", 1.0, 0.0, 1e6, &hp->rope_factor));
    TRY(read_number_in(&inner, "low_freq_factor", 1.0, 0.0, 1e6, &hp->rope_low_freq_factor));
    TRY(read_number_in(&inner, "high_freq_factor", 1.0, 0.0, 1e6, &hp->rope_high_freq_factor));
    TRY(read_positive_int(&inner, "original_max_position_embeddings", 0, LIMIT_POSITION,
                          &hp->rope_original_max_position));
    if (hp->rope_high_freq_factor <= hp->rope_low_freq_factor)
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field 'rope_scaling.high_freq_factor': must exceed "
                             "low_freq_factor",
                             reader->name);
    return ACC_OK;
}

static acc_status read_llama_family(const config_reader *reader, acc_hparams *hp)
{
    TRY(read_positive_int(reader, "vocab_size", 0, LIMIT_VOCAB, &hp->vocab_size));
    TRY(read_positive_int(reader, "hidden_size", 0, LIMIT_HIDDEN, &hp->hidden_size));
    TRY(read_positive_int(reader, "num_hidden_layers", 0, LIMIT_LAYERS, &hp->n_layers));
    TRY(read_positive_int(reader, "num_attention_heads", 0, LIMIT_HEADS, &hp->n_heads));
    TRY(read_positive_int(reader, "num_key_value_heads", hp->n_heads, LIMIT_HEADS,
                          &hp->n_kv_heads));
    if (hp->n_heads % hp->n_kv_heads != 0)
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field 'num_key_value_heads': %d does not divide "
                             "num_attention_heads %d",
                             reader->name, hp->n_kv_heads, hp->n_heads);
    if (!config_get(reader, "head_dim") && hp->hidden_size % hp->n_heads != 0)
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field 'num_attention_heads': %d does not divide hidden_size %d "
                             "and head_dim is not given",
                             reader->name, hp->n_heads, hp->hidden_size);
    TRY(read_positive_int(reader, "head_dim", hp->hidden_size / hp->n_heads, LIMIT_HIDDEN,
                          &hp->head_dim));
    if (hp->head_dim % 2 != 0)
        return acc_error_set(reader->err, ACC_ERR_INPUT,
                             "%s: field 'head_dim': must be even for rotary embeddings, got %d",
                             reader->name, hp->head_dim);
    TRY(read_positive_int(reader, "intermediate_size", 0, LIMIT_INTERMEDIATE,
                          &hp->intermediate_size));
    TRY(read_positive_int(reader, "max_position_embeddings", 0, LIMIT_POSITION, &hp->max_position));
    TRY(read_number_in(reader, "rms_norm_eps", 1e-6, 0.0, 1.0, &hp->norm_eps));
    json_t *rope_parameters = config_get(reader, "rope_parameters");
    if (!config_get(reader, "rope_theta") && json_is_object(rope_parameters)) {
        config_reader inner = {rope_parameters, reader->name, "rope_parameters.", reader->err};
        TRY(read_number_in(&inner, "rope_theta", 10000.0, 0.0, 1e30, &hp->rope_theta));
    } else {
        TRY(read_number_in(reader, "rope_theta", 10000.0, 0.0, 1e30, &hp->rope_theta));
    }
    TRY(read_rope_scaling(reader, hp));
    TRY(require_string(reader, "hidden_act", "silu", 0));
    /* Every transformers class of this family defaults to untied embeddings. */
    TRY(read_bool(reader, "tie_word_embeddings", 0, &hp->tie_word_embeddings));

    switch (hp->arch) {
    case ACC_ARCH_LLAMA:
    case ACC_ARCH_GRANITE:
        TRY(read_bool(reader, "attention_bias", 0, &hp->attention_bias));
        hp->attention_out_bias = hp->attention_bias; /* LlamaAttention biases o_proj too */
        TRY(read_bool(reader, "mlp_bias", 0, &hp->mlp_bias));
        break;
    case ACC_ARCH_QWEN2:
        hp->attention_bias = 1;
        break; /* Qwen2Attention: q/k/v biased */
    default:
        break;
    }

    if (hp->arch == ACC_ARCH_GRANITE) {
        TRY(read_number_in(reader, "embedding_multiplier", 1.0, 0.0, 1e6,
                           &hp->embedding_multiplier));
        TRY(read_number_in(reader, "residual_multiplier", 1.0, 0.0, 1e6, &hp->residual_multiplier));
        TRY(read_number_in(reader, "attention_multiplier", 1.0, 0.0, 1e6,
                           &hp->attention_multiplier));
        TRY(read_number_in(reader, "logits_scaling", 1.0, 0.0, 1e6, &hp->logits_scaling));
    }

    /* Sliding-window attention: Mistral always (MistralConfig default 4096),
     * Qwen2 only with use_sliding_window.  A window at least as long as the
     * context changes nothing, so it is stored as 0. */
    int use_window = hp->arch == ACC_ARCH_MISTRAL;
    if (hp->arch == ACC_ARCH_QWEN2)
        TRY(read_bool(reader, "use_sliding_window", 0, &use_window));
    if (use_window) {
        int window = 0;
        json_t *present = json_object_get(reader->root, "sliding_window");
        if (json_is_null(present)) {
            window = 0;
        } else {
            TRY(read_positive_int(reader, "sliding_window", hp->arch == ACC_ARCH_MISTRAL ? 4096 : 0,
                                  LIMIT_POSITION, &window));
        }
        hp->sliding_window = window > 0 && window < hp->max_position ? window : 0;
    }
    return ACC_OK;
}

acc_status acc_hparams_parse_json(const char *text, size_t size, const char *name, acc_hparams *out,
                                  acc_error *err)
{
    memset(out, 0, sizeof *out);
    out->embedding_multiplier = out->residual_multiplier = 1.0f;
    out->attention_multiplier = out->logits_scaling = 1.0f;
    out->rope_factor = out->rope_low_freq_factor = out->rope_high_freq_factor = 1.0f;
    out->bos_token_id = out->eos_token_id = -1;

    json_error_t json_err;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &json_err);
    if (!root)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: line %d column %d: %s", name, json_err.line,
                             json_err.column, json_err.text);
    acc_status status;
    config_reader reader = {root, name, "", err};
    if (!json_is_object(root)) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: must be a JSON object", name);
    } else {
        status = read_architecture(&reader, &out->arch);
        if (status == ACC_OK)
            status = out->arch == ACC_ARCH_GPT2 ? read_gpt2(&reader, out)
                                                : read_llama_family(&reader, out);
        if (status == ACC_OK)
            status = read_token_ids(&reader, "bos_token_id", &out->bos_token_id, NULL, 0, NULL);
        if (status == ACC_OK)
            status = read_token_ids(&reader, "eos_token_id", &out->eos_token_id, out->eos_token_ids,
                                    ACC_MAX_EOS_IDS, &out->n_eos_token_ids);
        if (status == ACC_OK)
            status = read_torch_dtype(&reader, out);
    }
    json_decref(root);
    return status;
}

acc_status acc_hparams_load(const char *config_path, acc_hparams *out, acc_error *err)
{
    char *text = NULL;
    size_t size = 0;
    acc_status status = acc_read_file(config_path, &text, &size, err);
    if (status != ACC_OK)
        return status;
    status = acc_hparams_parse_json(text, size, config_path, out, err);
    free(text);
    return status;
}
