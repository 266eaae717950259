/*
 * test_tok_gguf_fuzz.c — regression tests for the tokenizer built from
 * GGUF metadata, from fuzz_tokenizer_gguf findings: a BOS that repeats an
 * earlier token's text (so the tokenizer has no entry for its id) is an
 * input error, not an id that encode emits but cannot decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "accinf/gguf.h"
#include "accinf/tokenizer.h"

static acc_status load(uint32_t bos, acc_tokenizer **tok, acc_error *err)
{
    static const char *const tokens[] = {"a", "b", "ab", "a"};
    static const char *const merges[] = {"a b"};
    acc_gguf_writer *w = NULL;
    assert_int_equal(acc_gguf_writer_create(&w, err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string(w, "tokenizer.ggml.model", "gpt2", err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string(w, "tokenizer.ggml.pre", "gpt-2", err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens", tokens, 4, err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string_array(w, "tokenizer.ggml.merges", merges, 1, err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", bos, err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true, err),
                     ACC_OK);
    uint8_t *file = NULL;
    size_t size = 0;
    assert_int_equal(acc_gguf_writer_write_memory(w, &file, &size, err), ACC_OK);
    acc_gguf_writer_destroy(w);
    acc_gguf *g = NULL;
    assert_int_equal(acc_gguf_parse(file, size, "t.gguf", &g, err), ACC_OK);
    acc_status st = acc_tokenizer_load_gguf(g, tok, err);
    if (st != ACC_OK)
        print_message("load: %s\n", err->message);
    acc_gguf_close(g);
    free(file);
    return st;
}

static void test_bos_repeats_text(void **state)
{
    (void)state;
    acc_error err = {0};
    acc_tokenizer *tok = NULL;
    assert_int_equal(load(3, &tok, &err), ACC_ERR_INPUT);
    assert_null(tok);
    assert_non_null(strstr(err.message, "t.gguf: tokenizer.ggml.bos_token_id: token 3 repeats"));
}

static void test_bos_first_of_text(void **state)
{
    (void)state;
    acc_error err = {0};
    acc_tokenizer *tok = NULL;
    assert_int_equal(load(1, &tok, &err), ACC_OK);
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(acc_tokenizer_encode(tok, "ab", 2, 1, &ids, &n, &err), ACC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    free(ids);
    acc_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bos_repeats_text),
        cmocka_unit_test(test_bos_first_of_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
