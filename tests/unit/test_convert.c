/*
 * test_convert.c — the converter's pieces: llama-quantize's per-tensor type
 * choice (hand-worked cases for the mixtures and the width fallbacks), the
 * tensor order, llama.cpp's q/k row permutation and its inverse, the
 * HF <-> GGUF name table, IQ4_NL bytes equal to ggml's (tests/fixtures/quant,
 * docs/CONVERT.md), and an HF -> GGUF -> model round trip whose hparams,
 * tokenizer and tensors match the HF directory's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accinf/convert.h"
#include "accinf/gguf.h"
#include "accinf/model.h"
#include "model/gguf_names.h"

static acc_ggml_type pick(acc_convert_plan *plan, const char *name, int64_t ne0, int64_t ne1)
{
    int64_t ne[4] = {ne0, ne1, 1, 1};
    acc_ggml_type out;
    acc_error err;
    assert_int_equal(acc_convert_tensor_type(plan, name, ne1 ? 2 : 1, ne, ACC_GGML_F32, &out, &err),
                     ACC_OK);
    return out;
}

static void test_mixture_q4_K_M(void **state)
{
    (void)state;
    /* 6 layers: use_more_bits is true for layers 2 and 5 (n/8 = 0, 7n/8 = 5) */
    acc_convert_plan plan = {.type = acc_convert_type_find("q4_K_M"), .n_layer = 6, .n_gqa = 2,
                             .has_output = 0, .n_attention_wv = 6};
    assert_int_equal(pick(&plan, "token_embd.weight", 256, 4096), ACC_GGML_Q6_K); /* tied head */
    assert_int_equal(pick(&plan, "output_norm.weight", 256, 0), ACC_GGML_F32);
    for (int l = 0; l < 6; l++) {
        char name[64];
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
        assert_int_equal(pick(&plan, name, 256, 128), l == 2 || l == 5 ? ACC_GGML_Q6_K : ACC_GGML_Q4_K);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        /* 704 columns: q4_K falls back to q5_0, q6_K to q8_0 */
        assert_int_equal(pick(&plan, name, 704, 256), l == 2 || l == 5 ? ACC_GGML_Q8_0 : ACC_GGML_Q5_0);
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);
        assert_int_equal(pick(&plan, name, 256, 256), ACC_GGML_Q4_K);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        assert_int_equal(pick(&plan, name, 256, 0), ACC_GGML_F32);
    }
}

static void test_mixture_q3_K_M_and_q2_K(void **state)
{
    (void)state;
    acc_convert_plan plan = {.type = acc_convert_type_find("q3_K_M"), .n_layer = 32, .n_gqa = 4,
                             .has_output = 1, .n_attention_wv = 32};
    assert_int_equal(pick(&plan, "output.weight", 4096, 32000), ACC_GGML_Q6_K);
    assert_int_equal(pick(&plan, "token_embd.weight", 4096, 32000), ACC_GGML_Q3_K);
    assert_int_equal(pick(&plan, "blk.0.attn_v.weight", 4096, 1024), ACC_GGML_Q5_K);
    assert_int_equal(pick(&plan, "blk.1.attn_v.weight", 4096, 1024), ACC_GGML_Q5_K);
    assert_int_equal(pick(&plan, "blk.2.attn_v.weight", 4096, 1024), ACC_GGML_Q4_K);
    assert_int_equal(pick(&plan, "blk.0.ffn_down.weight", 11008, 4096), ACC_GGML_Q5_K);
    assert_int_equal(pick(&plan, "blk.1.ffn_down.weight", 11008, 4096), ACC_GGML_Q5_K);
    assert_int_equal(pick(&plan, "blk.2.ffn_down.weight", 11008, 4096), ACC_GGML_Q4_K);
    assert_int_equal(pick(&plan, "blk.0.attn_output.weight", 4096, 4096), ACC_GGML_Q4_K);
    /* 64-wide rows fit no k-quant: q3_K falls back to iq4_nl */
    assert_int_equal(pick(&plan, "blk.0.attn_q.weight", 64, 64), ACC_GGML_IQ4_NL);

    acc_convert_plan q2 = {.type = acc_convert_type_find("q2_K"), .n_layer = 4, .n_gqa = 4,
                           .has_output = 1, .n_attention_wv = 4};
    assert_int_equal(pick(&q2, "blk.0.attn_v.weight", 256, 256), ACC_GGML_Q4_K); /* gqa >= 4 */
    assert_int_equal(pick(&q2, "blk.0.ffn_down.weight", 256, 256), ACC_GGML_Q3_K);
    assert_int_equal(pick(&q2, "blk.0.ffn_up.weight", 256, 256), ACC_GGML_Q2_K);
    assert_int_equal(pick(&q2, "position_embd.weight", 256, 256), ACC_GGML_F32);
}

static void test_legacy_pure_and_errors(void **state)
{
    (void)state;
    acc_convert_plan plan = {.type = acc_convert_type_find("q4_0"), .n_layer = 2, .n_gqa = 1,
                             .has_output = 1, .n_attention_wv = 2};
    assert_int_equal(pick(&plan, "output.weight", 64, 512), ACC_GGML_Q8_0); /* q6_K cannot */
    assert_int_equal(pick(&plan, "output.weight", 256, 512), ACC_GGML_Q6_K);
    assert_int_equal(pick(&plan, "blk.0.attn_qkv.weight", 64, 192), ACC_GGML_Q4_0);
    acc_convert_plan pure = {.type = acc_convert_type_find("q4_0"), .pure = 1, .n_layer = 2};
    assert_int_equal(pick(&pure, "output.weight", 256, 512), ACC_GGML_Q4_0);
    acc_convert_plan f16 = {.type = acc_convert_type_find("F16"), .n_layer = 2};
    assert_int_equal(pick(&f16, "output.weight", 48, 512), ACC_GGML_F16);
    assert_int_equal(pick(&f16, "blk.0.ffn_norm.weight", 48, 0), ACC_GGML_F32);
    int64_t ne[4] = {48, 8, 1, 1};
    acc_ggml_type out;
    acc_error err;
    assert_int_equal(acc_convert_tensor_type(&plan, "blk.0.ffn_up.weight", 2, ne, ACC_GGML_F32,
                                             &out, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "blk.0.ffn_up.weight"));
    assert_null(acc_convert_type_find("q7_K"));
    assert_true(acc_convert_type_find("q4_K")->file_type == acc_convert_type_find("q4_K_M")->file_type);
}

static void test_order_and_names(void **state)
{
    (void)state;
    assert_true(acc_convert_name_compare("output.weight", "blk.0.attn_q.weight") < 0);
    assert_true(acc_convert_name_compare("blk.2.attn_q.weight", "blk.10.attn_k.weight") < 0);
    assert_true(acc_convert_name_compare("blk.1.ffn_up.weight", "blk.1.attn_v.weight") > 0);
    char out[128];
    acc_gguf_layout layout;
    assert_int_equal(acc_gguf_name_from_hf(ACC_ARCH_LLAMA, "model.layers.3.self_attn.k_proj.weight",
                                           out, sizeof out, &layout), 1);
    assert_string_equal(out, "blk.3.attn_k.weight");
    assert_int_equal(layout, ACC_GGUF_LAYOUT_PERMUTE_K);
    assert_int_equal(acc_gguf_name_from_hf(ACC_ARCH_QWEN2, "model.layers.0.self_attn.q_proj.bias",
                                           out, sizeof out, &layout), 1);
    assert_int_equal(layout, ACC_GGUF_LAYOUT_SAME); /* NEOX rope: no permutation */
    assert_int_equal(acc_gguf_name_from_hf(ACC_ARCH_GPT2, "transformer.h.1.mlp.c_fc.weight", out,
                                           sizeof out, &layout), 1);
    assert_string_equal(out, "blk.1.ffn_up.weight");
    assert_int_equal(layout, ACC_GGUF_LAYOUT_TRANSPOSE);
    assert_int_equal(acc_gguf_name_from_hf(ACC_ARCH_GPT2, "h.0.attn.bias", out, sizeof out, &layout), 0);
    assert_int_equal(acc_gguf_name_from_hf(ACC_ARCH_LLAMA, "model.layers.x.foo", out, sizeof out, &layout), -1);
    assert_int_equal(acc_gguf_name_to_hf(ACC_ARCH_GPT2, "blk.4.attn_qkv.bias", out, sizeof out, &layout), 1);
    assert_string_equal(out, "h.4.attn.c_attn.bias");
    assert_int_equal(acc_gguf_name_to_hf(ACC_ARCH_LLAMA, "blk.0.nonsense.weight", out, sizeof out, &layout), -1);
}

static void test_permutation(void **state)
{
    (void)state;
    /* 2 heads of head_dim 4, one element per row: rows (h, j*2+i) -> (h, 2i+j) */
    const int src[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int dst[8], back[8];
    acc_gguf_permute_rows(src, dst, 2, 4, sizeof(int), 0);
    const int want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    assert_memory_equal(dst, want, sizeof want);
    acc_gguf_permute_rows(dst, back, 2, 4, sizeof(int), 1);
    assert_memory_equal(back, src, sizeof src);
}

static void *read_all(const char *name, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/quant/%s", ACCINF_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    void *data = malloc(size);
    assert_int_equal(fread(data, 1, size, f), size);
    fclose(f);
    return data;
}

static void test_iq4_nl_known_answer(void **state)
{
    (void)state;
    float *x = read_all("input.f32", 4096 * sizeof(float));
    uint8_t *want = read_all("iq4_nl.bin", 4096 / 32 * 18);
    float *want_deq = read_all("iq4_nl.deq.f32", 4096 * sizeof(float));
    uint8_t got[4096 / 32 * 18];
    float deq[4096];
    acc_error err;
    assert_int_equal(acc_quantize(ACC_GGML_IQ4_NL, x, got, 4096, &err), ACC_OK);
    assert_memory_equal(got, want, sizeof got);
    assert_int_equal(acc_dequantize(ACC_GGML_IQ4_NL, got, deq, 4096, &err), ACC_OK);
    assert_memory_equal(deq, want_deq, sizeof deq);
    free(x);
    free(want);
    free(want_deq);
}

static void test_round_trip_llama3(void **state)
{
    (void)state;
    char dir[512], out[600];
    snprintf(dir, sizeof dir, "%s/models/llama3-tiny", ACCINF_FIXTURES);
    snprintf(out, sizeof out, "/tmp/accinf-test-convert-%d.gguf", (int)getpid());
    acc_convert_options opt = {.type = "bf16"};
    acc_convert_stats stats;
    acc_error err;
    assert_int_equal(acc_convert(dir, out, &opt, &stats, &err), ACC_OK);
    assert_true(stats.n_by_type[ACC_GGML_BF16] > 0);
    acc_model *hf, *gg;
    assert_int_equal(acc_model_open(dir, &hf, &err), ACC_OK);
    if (acc_model_open(out, &gg, &err) != ACC_OK)
        fail_msg("%s", err.message);
    const acc_hparams *a = acc_model_hparams(hf), *b = acc_model_hparams(gg);
    assert_int_equal(a->n_layers, b->n_layers);
    assert_int_equal(a->n_kv_heads, b->n_kv_heads);
    assert_int_equal(a->head_dim, b->head_dim);
    assert_int_equal(b->rope_scaling, ACC_ROPE_SCALING_LLAMA3);
    assert_true(a->rope_factor == b->rope_factor);
    assert_int_equal(a->rope_original_max_position, b->rope_original_max_position);
    assert_int_equal(a->tie_word_embeddings, b->tie_word_embeddings);
    /* bf16 source stored as bf16 (1-D ones as f32): every value equal after un-permuting */
    const acc_weight_set *wa = acc_model_weights(hf), *wb = acc_model_weights(gg);
    assert_int_equal(acc_weight_set_count(wa), acc_weight_set_count(wb));
    for (size_t i = 0; i < acc_weight_set_count(wa); i++) {
        const acc_tensor_view *va = acc_weight_set_at(wa, i);
        const acc_tensor_view *vb = acc_weight_set_find(wb, va->name);
        assert_non_null(vb);
        int64_t n = acc_tensor_view_elements(va);
        assert_int_equal(n, acc_tensor_view_elements(vb));
        float *fa = malloc((size_t)n * sizeof *fa), *fb = malloc((size_t)n * sizeof *fb);
        acc_convert_to_f32(va->dtype, va->data, fa, (size_t)n);
        acc_convert_to_f32(vb->dtype, vb->data, fb, (size_t)n);
        assert_memory_equal(fa, fb, (size_t)n * sizeof *fa);
        free(fa);
        free(fb);
    }
    const acc_tokenizer *ta = acc_model_tokenizer(hf), *tb = acc_model_tokenizer(gg);
    const char *text = "Hello world, it's 2024!\n  ok";
    int32_t *ia, *ib;
    size_t na, nb;
    assert_int_equal(acc_tokenizer_encode(ta, text, strlen(text), 1, &ia, &na, &err), ACC_OK);
    assert_int_equal(acc_tokenizer_encode(tb, text, strlen(text), 1, &ib, &nb, &err), ACC_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(ia, ib, na * sizeof *ia);
    free(ia);
    free(ib);
    acc_model_close(hf);
    acc_model_close(gg);
    unlink(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixture_q4_K_M),
        cmocka_unit_test(test_mixture_q3_K_M_and_q2_K),
        cmocka_unit_test(test_legacy_pure_and_errors),
        cmocka_unit_test(test_order_and_names),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_iq4_nl_known_answer),
        cmocka_unit_test(test_round_trip_llama3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
