/*
 * test_hparams.c — config.json parsing: a valid config of every supported
 * architecture with its defaults, and each class of bad field (missing, wrong
 * type, non-positive, absurd, inconsistent) with the field named in the error.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/hparams.h"

static acc_status parse(const char *json, acc_hparams *hp, acc_error *err)
{
    return acc_hparams_parse_json(json, strlen(json), "config.json", hp, err);
}

static void expect_error(const char *json, const char *needle)
{
    acc_hparams hp;
    acc_error err = {0};
    acc_status status = parse(json, &hp, &err);
    if (status != ACC_ERR_INPUT || !strstr(err.message, needle))
        fail_msg("config %s: status %d, message '%s', wanted '%s'", json, status, err.message,
                 needle);
    assert_int_equal(err.status, ACC_ERR_INPUT);
}

#define GPT2_BASE                                                                                  \
    "\"architectures\":[\"GPT2LMHeadModel\"],\"vocab_size\":50257,\"n_embd\":768,"                 \
    "\"n_layer\":12,\"n_head\":12"

#define LLAMA_BASE                                                                                 \
    "\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":32000,\"hidden_size\":4096,"          \
    "\"num_hidden_layers\":32,\"num_attention_heads\":32,\"intermediate_size\":11008,"             \
    "\"max_position_embeddings\":4096"

static void test_gpt2(void **state)
{
    (void)state;
    acc_hparams hp;
    acc_error err = {0};
    assert_int_equal(parse("{" GPT2_BASE ",\"n_positions\":1024,\"n_ctx\":2048,\"n_inner\":null,"
                           "\"layer_norm_epsilon\":1e-05,\"activation_function\":\"gelu_new\","
                           "\"bos_token_id\":50256,\"eos_token_id\":50256,"
                           "\"torch_dtype\":\"float32\",\"tie_word_embeddings\":false}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.arch, ACC_ARCH_GPT2);
    assert_int_equal(hp.vocab_size, 50257);
    assert_int_equal(hp.hidden_size, 768);
    assert_int_equal(hp.n_layers, 12);
    assert_int_equal(hp.n_heads, 12);
    assert_int_equal(hp.n_kv_heads, 12);
    assert_int_equal(hp.head_dim, 64);
    assert_int_equal(hp.intermediate_size, 3072);
    assert_int_equal(hp.max_position, 1024); /* n_positions wins over n_ctx */
    assert_true(hp.norm_eps == 1e-5f);
    assert_int_equal(hp.tie_word_embeddings, 1); /* always for GPT-2 */
    assert_int_equal(hp.bos_token_id, 50256);
    assert_int_equal(hp.eos_token_id, 50256);
    assert_string_equal(hp.torch_dtype, "float32");
    assert_true(hp.embedding_multiplier == 1.0f && hp.logits_scaling == 1.0f);

    /* n_ctx alone, explicit n_inner, defaults. */
    assert_int_equal(parse("{" GPT2_BASE ",\"n_ctx\":256,\"n_inner\":100}", &hp, &err), ACC_OK);
    assert_int_equal(hp.max_position, 256);
    assert_int_equal(hp.intermediate_size, 100);
    assert_int_equal(hp.bos_token_id, -1);
    assert_string_equal(hp.torch_dtype, "");

    expect_error("{" GPT2_BASE ",\"n_positions\":1024,\"activation_function\":\"relu\"}",
                 "config.json: field 'activation_function': unsupported value 'relu'");
    expect_error("{" GPT2_BASE "}", "field 'n_positions': missing");
    expect_error("{\"architectures\":[\"GPT2LMHeadModel\"],\"vocab_size\":5,\"n_embd\":768,"
                 "\"n_layer\":12,\"n_head\":7,\"n_positions\":8}",
                 "field 'n_head': 7 does not divide n_embd 768");
    expect_error("{\"architectures\":[\"GPT2LMHeadModel\"],\"vocab_size\":5,\"n_layer\":12,"
                 "\"n_head\":12,\"n_positions\":8}",
                 "field 'n_embd': missing");
    expect_error("{" GPT2_BASE ",\"n_positions\":1024,\"layer_norm_epsilon\":0}",
                 "field 'layer_norm_epsilon': must be in (0, 1), got 0");
}

static void test_llama(void **state)
{
    (void)state;
    acc_hparams hp;
    acc_error err = {0};
    assert_int_equal(parse("{" LLAMA_BASE ",\"num_key_value_heads\":8,\"rms_norm_eps\":1e-05,"
                           "\"rope_theta\":500000.0,\"hidden_act\":\"silu\","
                           "\"bos_token_id\":128000,\"eos_token_id\":[128001,128008,128009],"
                           "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,"
                           "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                           "\"original_max_position_embeddings\":8192},"
                           "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\"}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.arch, ACC_ARCH_LLAMA);
    assert_int_equal(hp.n_kv_heads, 8);
    assert_int_equal(hp.head_dim, 128);
    assert_int_equal(hp.intermediate_size, 11008);
    assert_int_equal(hp.max_position, 4096);
    assert_true(hp.norm_eps == 1e-5f);
    assert_true(hp.rope_theta == 500000.0f);
    assert_int_equal(hp.rope_scaling, ACC_ROPE_SCALING_LLAMA3);
    assert_true(hp.rope_factor == 8.0f && hp.rope_low_freq_factor == 1.0f &&
                hp.rope_high_freq_factor == 4.0f);
    assert_int_equal(hp.rope_original_max_position, 8192);
    assert_int_equal(hp.tie_word_embeddings, 1);
    assert_int_equal(hp.bos_token_id, 128000);
    assert_int_equal(hp.eos_token_id, 128001);
    assert_int_equal(hp.n_eos_token_ids, 3);
    assert_int_equal(hp.eos_token_ids[2], 128009);
    assert_string_equal(hp.torch_dtype, "bfloat16");
    assert_int_equal(hp.attention_bias, 0);
    assert_int_equal(hp.sliding_window, 0);

    /* Defaults: kv heads = heads, eps 1e-6, theta 10000, untied, no scaling. */
    assert_int_equal(parse("{" LLAMA_BASE ",\"rope_scaling\":null,\"eos_token_id\":null,"
                           "\"attention_bias\":true,\"mlp_bias\":true,\"head_dim\":64}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.n_kv_heads, 32);
    assert_int_equal(hp.head_dim, 64);
    assert_true(hp.norm_eps == 1e-6f);
    assert_true(hp.rope_theta == 10000.0f);
    assert_int_equal(hp.rope_scaling, ACC_ROPE_SCALING_NONE);
    assert_int_equal(hp.tie_word_embeddings, 0);
    assert_int_equal(hp.eos_token_id, -1);
    assert_int_equal(hp.attention_bias, 1);
    assert_int_equal(hp.attention_out_bias, 1);
    assert_int_equal(hp.mlp_bias, 1);

    /* Older configs spell the rope type "type"; "default" means none. */
    assert_int_equal(
        parse("{" LLAMA_BASE ",\"rope_scaling\":{\"rope_type\":\"default\"}}", &hp, &err), ACC_OK);
    assert_int_equal(hp.rope_scaling, ACC_ROPE_SCALING_NONE);

    /* transformers 5 writes rope_parameters, with rope_theta inside. */
    assert_int_equal(parse("{" LLAMA_BASE ",\"rope_parameters\":{\"rope_type\":\"llama3\","
                           "\"rope_theta\":500000.0,\"factor\":32.0,\"low_freq_factor\":1.0,"
                           "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}",
                           &hp, &err),
                     ACC_OK);
    assert_true(hp.rope_theta == 500000.0f);
    assert_int_equal(hp.rope_scaling, ACC_ROPE_SCALING_LLAMA3);
    assert_true(hp.rope_factor == 32.0f);
    assert_int_equal(parse("{" LLAMA_BASE ",\"rope_parameters\":{\"rope_type\":\"default\","
                           "\"rope_theta\":20000.0}}",
                           &hp, &err),
                     ACC_OK);
    assert_true(hp.rope_theta == 20000.0f);
    assert_int_equal(hp.rope_scaling, ACC_ROPE_SCALING_NONE);
    expect_error("{" LLAMA_BASE ",\"rope_parameters\":{\"rope_type\":\"yarn\"}}",
                 "field 'rope_parameters': unsupported rope_scaling type 'yarn'");
    expect_error("{" LLAMA_BASE ",\"rope_parameters\":{\"rope_type\":\"default\","
                 "\"rope_theta\":-1}}",
                 "field 'rope_parameters.rope_theta': must be in (0,");
}

static void test_mistral_qwen2_granite(void **state)
{
    (void)state;
    acc_hparams hp;
    acc_error err = {0};
    assert_int_equal(parse("{\"architectures\":[\"MistralForCausalLM\"],\"vocab_size\":32000,"
                           "\"hidden_size\":4096,\"num_hidden_layers\":32,"
                           "\"num_attention_heads\":32,\"num_key_value_heads\":8,"
                           "\"intermediate_size\":14336,\"max_position_embeddings\":32768,"
                           "\"sliding_window\":4096,\"rope_theta\":1000000.0}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.arch, ACC_ARCH_MISTRAL);
    assert_int_equal(hp.sliding_window, 4096);
    assert_int_equal(hp.tie_word_embeddings, 0);
    /* null window, or one as long as the context, means none. */
    assert_int_equal(parse("{\"architectures\":[\"MistralForCausalLM\"],\"vocab_size\":32,"
                           "\"hidden_size\":64,\"num_hidden_layers\":2,"
                           "\"num_attention_heads\":4,\"intermediate_size\":128,"
                           "\"max_position_embeddings\":512,\"sliding_window\":null}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.sliding_window, 0);
    assert_int_equal(parse("{\"architectures\":[\"MistralForCausalLM\"],\"vocab_size\":32,"
                           "\"hidden_size\":64,\"num_hidden_layers\":2,"
                           "\"num_attention_heads\":4,\"intermediate_size\":128,"
                           "\"max_position_embeddings\":512,\"sliding_window\":512}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.sliding_window, 0);

    assert_int_equal(parse("{\"architectures\":[\"Qwen2ForCausalLM\"],\"vocab_size\":151936,"
                           "\"hidden_size\":896,\"num_hidden_layers\":24,"
                           "\"num_attention_heads\":14,\"num_key_value_heads\":2,"
                           "\"intermediate_size\":4864,\"max_position_embeddings\":32768,"
                           "\"sliding_window\":32768,\"use_sliding_window\":false,"
                           "\"tie_word_embeddings\":true,\"rope_theta\":1000000.0,"
                           "\"bos_token_id\":151643,\"eos_token_id\":151643}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.arch, ACC_ARCH_QWEN2);
    assert_int_equal(hp.head_dim, 64);
    assert_int_equal(hp.attention_bias, 1); /* always for Qwen2 */
    assert_int_equal(hp.attention_out_bias, 0);
    assert_int_equal(hp.mlp_bias, 0);
    assert_int_equal(hp.sliding_window, 0);
    assert_int_equal(hp.tie_word_embeddings, 1);

    assert_int_equal(parse("{\"architectures\":[\"GraniteForCausalLM\"],\"vocab_size\":49155,"
                           "\"hidden_size\":2048,\"num_hidden_layers\":40,"
                           "\"num_attention_heads\":32,\"num_key_value_heads\":8,"
                           "\"intermediate_size\":8192,\"max_position_embeddings\":4096,"
                           "\"embedding_multiplier\":12.0,\"residual_multiplier\":0.22,"
                           "\"attention_multiplier\":0.015625,\"logits_scaling\":8.0,"
                           "\"tie_word_embeddings\":true}",
                           &hp, &err),
                     ACC_OK);
    assert_int_equal(hp.arch, ACC_ARCH_GRANITE);
    assert_true(hp.embedding_multiplier == 12.0f);
    assert_true(hp.residual_multiplier == 0.22f);
    assert_true(hp.attention_multiplier == 0.015625f);
    assert_true(hp.logits_scaling == 8.0f);
    expect_error("{\"architectures\":[\"GraniteForCausalLM\"],\"vocab_size\":4,\"hidden_size\":64,"
                 "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":128,"
                 "\"max_position_embeddings\":64,\"logits_scaling\":-1}",
                 "field 'logits_scaling': must be in (0, 1e+06), got -1");
    expect_error("{\"architectures\":[\"GraniteForCausalLM\"],\"vocab_size\":4,\"hidden_size\":64,"
                 "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":128,"
                 "\"max_position_embeddings\":64,\"residual_multiplier\":\"x\"}",
                 "field 'residual_multiplier': must be a number, got a string");
}

static void test_field_errors(void **state)
{
    (void)state;
    /* Architecture. */
    expect_error("{\"architectures\":[\"BertModel\"]}",
                 "field 'architectures': unsupported architecture 'BertModel' (supported: "
                 "GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
                 "GraniteForCausalLM)");
    expect_error("{\"vocab_size\":3}", "field 'architectures': missing");
    expect_error("{\"architectures\":[]}", "field 'architectures': must be a non-empty list");
    expect_error("{\"architectures\":\"LlamaForCausalLM\"}", "field 'architectures'");
    /* JSON structure. */
    expect_error("[1]", "config.json: must be a JSON object");
    expect_error("{\"a\":", "config.json: line 1");
    expect_error("{\"a\":1,\"a\":2}", "duplicate");
    /* Missing / wrong type / non-positive / absurd. */
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":32000,"
                 "\"num_hidden_layers\":32,\"num_attention_heads\":32,"
                 "\"intermediate_size\":11008,\"max_position_embeddings\":4096}",
                 "config.json: field 'hidden_size': missing (required)");
    expect_error("{" LLAMA_BASE ",\"num_attention_heads\":-4}",
                 "duplicate"); /* same key twice is rejected first */
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":32000,"
                 "\"hidden_size\":4096,\"num_hidden_layers\":32,\"num_attention_heads\":-4,"
                 "\"intermediate_size\":11008,\"max_position_embeddings\":4096}",
                 "config.json: field 'num_attention_heads': must be a positive integer, got -4");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":\"32000\","
                 "\"hidden_size\":4096}",
                 "field 'vocab_size': must be a positive integer, got a string");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":32000.5,"
                 "\"hidden_size\":4096}",
                 "field 'vocab_size': must be a positive integer, got 32000.5");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":0}",
                 "field 'vocab_size': must be a positive integer, got 0");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":16777217}",
                 "field 'vocab_size': exceeds the limit 16777216");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":9,"
                 "\"hidden_size\":65537}",
                 "field 'hidden_size': exceeds the limit 65536");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":9,"
                 "\"hidden_size\":64,\"num_hidden_layers\":1025}",
                 "field 'num_hidden_layers': exceeds the limit 1024");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":9,"
                 "\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                 "\"intermediate_size\":8,\"max_position_embeddings\":99999999999}",
                 "field 'max_position_embeddings': exceeds the limit 16777216");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":9,"
                 "\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":6,"
                 "\"intermediate_size\":8,\"max_position_embeddings\":64}",
                 "field 'num_attention_heads': 6 does not divide hidden_size 64");
    expect_error("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":9,"
                 "\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                 "\"num_key_value_heads\":3,\"intermediate_size\":8,"
                 "\"max_position_embeddings\":64}",
                 "field 'num_key_value_heads': 3 does not divide num_attention_heads 4");
    expect_error("{" LLAMA_BASE ",\"rms_norm_eps\":1.0}",
                 "field 'rms_norm_eps': must be in (0, 1), got 1");
    expect_error("{" LLAMA_BASE ",\"rms_norm_eps\":-1e-6}", "field 'rms_norm_eps'");
    /* Positive as a double but 0 as the float we store (found by fuzz_config). */
    expect_error("{" LLAMA_BASE ",\"rms_norm_eps\":1e-60}",
                 "field 'rms_norm_eps': must be in (0, 1), got 1e-60");
    expect_error("{" LLAMA_BASE ",\"rope_theta\":0}", "field 'rope_theta': must be in (0,");
    expect_error("{" LLAMA_BASE ",\"rope_theta\":\"big\"}",
                 "field 'rope_theta': must be a number, got a string");
    expect_error("{" LLAMA_BASE ",\"hidden_act\":\"gelu\"}",
                 "field 'hidden_act': unsupported value 'gelu'");
    expect_error("{" LLAMA_BASE ",\"tie_word_embeddings\":1}",
                 "field 'tie_word_embeddings': must be true or false, got 1");
    expect_error("{" LLAMA_BASE ",\"head_dim\":63}", "field 'head_dim': must be even");
    expect_error("{" LLAMA_BASE ",\"eos_token_id\":\"</s>\"}",
                 "field 'eos_token_id': must be an integer, a list of integers or null");
    expect_error("{" LLAMA_BASE ",\"bos_token_id\":[-1]}", "field 'bos_token_id': token ids");
    expect_error("{" LLAMA_BASE ",\"torch_dtype\":5}", "field 'torch_dtype': must be a string");
    /* rope_scaling. */
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}}",
                 "field 'rope_scaling': unsupported rope_scaling type 'linear'");
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":2.0}}",
                 "unsupported rope_scaling type 'yarn'");
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":{\"rope_type\":\"dynamic\"}}",
                 "unsupported rope_scaling type 'dynamic'");
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0}}",
                 "field 'rope_scaling.low_freq_factor': missing");
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":{\"factor\":8.0}}",
                 "field 'rope_scaling.rope_type': must be a string");
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":[1]}",
                 "field 'rope_scaling': must be an object or null, got an array");
    expect_error("{" LLAMA_BASE ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":-8.0,"
                 "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                 "\"original_max_position_embeddings\":8192}}",
                 "field 'rope_scaling.factor': must be in (0, 1e+06), got -8");
}

static void test_load_from_file(void **state)
{
    (void)state;
    acc_hparams hp;
    acc_error err = {0};
    assert_int_equal(acc_hparams_load("/nonexistent/config.json", &hp, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "/nonexistent/config.json: cannot open"));

    char path[] = "/tmp/accinf-hp-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{" LLAMA_BASE ",\"num_key_value_heads\":0}";
    FILE *stream = fdopen(fd, "w");
    fputs(text, stream);
    fclose(stream);
    assert_int_equal(acc_hparams_load(path, &hp, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, path));
    assert_non_null(
        strstr(err.message, "field 'num_key_value_heads': must be a positive integer, got 0"));
    remove(path);

    /* Every fixture model's config parses (once tests/fixtures/models lands). */
    DIR *handle = opendir(ACCINF_FIXTURES "/models");
    if (!handle)
        return;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char config[512];
        snprintf(config, sizeof config, "%s/models/%s/config.json", ACCINF_FIXTURES, entry->d_name);
        if (!acc_path_exists(config))
            continue;
        if (acc_hparams_load(config, &hp, &err) != ACC_OK)
            fail_msg("%s", err.message);
    }
    closedir(handle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2),
        cmocka_unit_test(test_llama),
        cmocka_unit_test(test_mistral_qwen2_granite),
        cmocka_unit_test(test_field_errors),
        cmocka_unit_test(test_load_from_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
