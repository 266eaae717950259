/*
 * fuzz_tokenizer_gguf.c — libFuzzer target for the tokenizer built from
 * GGUF metadata (src/tokenizer/tok_gguf.c).  The input describes the
 * metadata; a GGUF is written in memory with the writer, parsed back with
 * acc_gguf_parse and handed to acc_tokenizer_load_gguf, so the fuzzer
 * spends its time in the tokenizer, not in GGUF framing (fuzz_gguf covers
 * that).  Input layout:
 *   byte 0  bits 0-1 model (llama, gpt2, llama, bert), bits 2-4 pre-
 *           tokenizer name, bit 5 token_type, bit 6 scores, bit 7 merges
 *   byte 1  number of tokens; the remaining lines after them are merges
 *   byte 2  bos id, byte 3 eos id (0xFF: absent), byte 4 add_* flags
 *   rest    '\n'-separated lines; a token line starting with a byte 1..6
 *           has that llama.cpp token type (the byte is dropped)
 * A tokenizer that loads must encode a fixed text to valid ids that decode
 * to UTF-8; a failure is an error, never a crash, leak or UB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/gguf.h"
#include "accinf/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TEXT[] = "Hello world! It's 2024: caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 "
                           "\xF0\x9F\x98\x80  <s>x</s> <|endoftext|>\n\n\tend  ";
static const char *const MODELS[4] = {"llama", "gpt2", "llama", "bert"};
static const char *const PRES[8] = {"default", "llama-bpe", "qwen2", "gpt-2",
                                    "llama3",  "smollm",    "",      "llama-v3"};

#define MAX_LINES 512

static void check_ids(const acc_tokenizer *tok, const int32_t *ids, size_t n, int skip)
{
    int vocab = acc_tokenizer_vocab_size(tok);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            abort();
    char *text = NULL;
    size_t text_size = 0;
    acc_error err;
    if (acc_tokenizer_decode(tok, ids, n, skip, &text, &text_size, &err) != ACC_OK)
        return;
    if (!acc_utf8_valid(text, text_size, NULL) || text[text_size] != '\0')
        abort();
    free(text);
}

static void exercise(const acc_tokenizer *tok)
{
    acc_error err;
    for (int add_special = 0; add_special < 2; add_special++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (acc_tokenizer_encode(tok, TEXT, sizeof TEXT - 1, add_special, &ids, &n, &err) ==
            ACC_OK) {
            check_ids(tok, ids, n, add_special);
            free(ids);
        }
    }
    int vocab = acc_tokenizer_vocab_size(tok);
    for (int32_t id = 0; id < vocab && id < 256; id++)
        check_ids(tok, &id, 1, 0);
}

static acc_status build(const uint8_t *data, size_t size, char **lines, size_t n_lines,
                        acc_gguf_writer *w, acc_error *err)
{
    size_t n_tok = data[1] < n_lines ? data[1] : n_lines;
    int32_t types[MAX_LINES];
    float scores[MAX_LINES];
    for (size_t i = 0; i < n_tok; i++) {
        types[i] = 1;
        if (lines[i][0] >= 1 && lines[i][0] <= 6)
            types[i] = *lines[i]++;
        scores[i] = (float)strlen(lines[i]) - 0.001f * (float)i;
    }
    acc_status st = acc_gguf_writer_set_string(w, "tokenizer.ggml.model", MODELS[data[0] & 3], err);
    if (!st && ((data[0] >> 2) & 7))
        st = acc_gguf_writer_set_string(w, "tokenizer.ggml.pre", PRES[(data[0] >> 2) & 7], err);
    if (!st)
        st = acc_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens",
                                              (const char *const *)lines, n_tok, err);
    if (!st && (data[0] & 0x20))
        st = acc_gguf_writer_set_array(w, "tokenizer.ggml.token_type", ACC_GGUF_I32, types, n_tok,
                                       err);
    if (!st && (data[0] & 0x40))
        st = acc_gguf_writer_set_array(w, "tokenizer.ggml.scores", ACC_GGUF_F32, scores, n_tok,
                                       err);
    if (!st && (data[0] & 0x80))
        st = acc_gguf_writer_set_string_array(w, "tokenizer.ggml.merges",
                                              (const char *const *)lines + n_tok,
                                              n_lines - n_tok, err);
    if (!st && data[2] != 0xFF)
        st = acc_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", data[2], err);
    if (!st && data[3] != 0xFF)
        st = acc_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", data[3], err);
    if (!st && (data[4] & 1))
        st = acc_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", data[4] >> 4, err);
    if (!st && (data[4] & 2))
        st = acc_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", data[4] & 4, err);
    if (!st && (data[4] & 8))
        st = acc_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", data[4] & 16, err);
    (void)size;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    /* split the rest into NUL-terminated lines in one copy */
    char *copy = malloc(size - 5 + 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 5, size - 5);
    copy[size - 5] = '\0';
    char *lines[MAX_LINES];
    size_t n_lines = 0;
    char *p = copy, *end = copy + (size - 5);
    while (p <= end && n_lines < MAX_LINES) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        lines[n_lines++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    acc_error err;
    acc_gguf_writer *w = NULL;
    uint8_t *file = NULL;
    size_t file_size = 0;
    acc_gguf *g = NULL;
    acc_tokenizer *tok = NULL;
    if (acc_gguf_writer_create(&w, &err) == ACC_OK &&
        build(data, size, lines, n_lines, w, &err) == ACC_OK &&
        acc_gguf_writer_write_memory(w, &file, &file_size, &err) == ACC_OK) {
        if (acc_gguf_parse(file, file_size, "fuzz.gguf", &g, &err) != ACC_OK)
            abort(); /* the writer's own output must read back */
        err.message[0] = '\0';
        acc_status st = acc_tokenizer_load_gguf(g, &tok, &err);
        if (st == ACC_OK && tok)
            exercise(tok);
        else if (st != ACC_OK && err.message[0] == '\0')
            abort();
    }
    acc_tokenizer_free(tok);
    acc_gguf_close(g);
    free(file);
    acc_gguf_writer_destroy(w);
    free(copy);
    return 0;
}
