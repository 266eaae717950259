/*
 * test_tokenizer.c — hand-made tokenizer.json files, one per feature, with
 * ids derived by hand from the semantics of Hugging Face `tokenizers`
 * (merge ranks, byte fallback, unk fusing, added-token stripping, split
 * behaviors, Metaspace prepend schemes, decoders, templates), plus the
 * error messages for unsupported or broken files and prompts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/tokenizer.h"
#include "tokenizer/tok_internal.h"

static acc_tokenizer *load(const char *json)
{
    acc_error err = {0};
    acc_tokenizer *tok = NULL;
    acc_status st = acc_tokenizer_load_json(json, strlen(json), "test.json", &tok, &err);
    if (st != ACC_OK)
        fprintf(stderr, "load failed: %s\n", err.message);
    assert_int_equal(st, ACC_OK);
    return tok;
}

static void load_fails(const char *json, const char *message)
{
    acc_error err = {0};
    acc_tokenizer *tok = NULL;
    acc_status st = acc_tokenizer_load_json(json, strlen(json), "tokenizer.json", &tok, &err);
    assert_int_equal(st, ACC_ERR_INPUT);
    assert_null(tok);
    if (!strstr(err.message, message))
        fprintf(stderr, "message: %s\n", err.message);
    assert_non_null(strstr(err.message, message));
}

#define EXPECT_IDS(tok, text, add_special, ...)                                               \
    do {                                                                                      \
        const int32_t want_[] = {__VA_ARGS__};                                                \
        expect_ids(tok, text, add_special, want_, sizeof want_ / sizeof want_[0]);            \
    } while (0)

static void expect_ids(const acc_tokenizer *tok, const char *text, int add_special,
                       const int32_t *want, size_t n_want)
{
    int32_t *ids = NULL;
    size_t n = 0;
    acc_error err = {0};
    assert_int_equal(acc_tokenizer_encode(tok, text, strlen(text), add_special, &ids, &n, &err),
                     ACC_OK);
    if (n != n_want || memcmp(ids, want, n * sizeof *ids) != 0) {
        fprintf(stderr, "encode(%s):", text);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(n, n_want);
    assert_memory_equal(ids, want, n * sizeof *ids);
    free(ids);
}

static void expect_text(const acc_tokenizer *tok, const int32_t *ids, size_t n, int skip,
                        const char *want)
{
    char *text = NULL;
    size_t size = 0;
    acc_error err = {0};
    assert_int_equal(acc_tokenizer_decode(tok, ids, n, skip, &text, &size, &err), ACC_OK);
    assert_int_equal(size, strlen(want));
    assert_string_equal(text, want);
    free(text);
}

#define EXPECT_TEXT(tok, skip, want, ...)                                                     \
    do {                                                                                      \
        const int32_t ids_[] = {__VA_ARGS__};                                                 \
        expect_text(tok, ids_, sizeof ids_ / sizeof ids_[0], skip, want);                     \
    } while (0)

/* Merges apply by rank, not position; both merge syntaxes read the same. */
static void test_bpe_merge_ranks(void **state)
{
    (void)state;
    acc_tokenizer *bc_first = load(
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4},"
        "\"merges\":[\"b c\",\"a b\"]}}");
    EXPECT_IDS(bc_first, "abc", 0, 0, 4);
    EXPECT_IDS(bc_first, "abcab", 0, 0, 4, 3);
    acc_tokenizer *ab_first = load(
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4},"
        "\"merges\":[[\"a\",\"b\"],[\"b\",\"c\"]]}}");
    EXPECT_IDS(ab_first, "abc", 0, 3, 2);
    assert_int_equal(acc_tokenizer_vocab_size(ab_first), 5);
    assert_string_equal(acc_tokenizer_token_text(ab_first, 4), "bc");
    assert_null(acc_tokenizer_token_text(ab_first, 5));
    assert_int_equal(acc_tokenizer_bos_id(ab_first), -1);
    /* No decoder: HF joins the tokens with spaces. */
    EXPECT_TEXT(ab_first, 0, "ab c", 3, 2);
    acc_tokenizer_free(bc_first);
    acc_tokenizer_free(ab_first);
}

static void test_bpe_unknown_and_byte_fallback(void **state)
{
    (void)state;
    acc_tokenizer *fused = load(
        "{\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,"
        "\"byte_fallback\":true,\"vocab\":{\"<unk>\":0,\"a\":1,\"<0x78>\":2},\"merges\":[]}}");
    EXPECT_IDS(fused, "ayya", 0, 1, 0, 1);
    EXPECT_IDS(fused, "x", 0, 2);
    /* HF adds byte-fallback tokens before a still-pending unk. */
    EXPECT_IDS(fused, "yx", 0, 2, 0);
    acc_tokenizer *unfused = load(
        "{\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"<unk>\":0,\"a\":1},"
        "\"merges\":[]}}");
    EXPECT_IDS(unfused, "yya", 0, 0, 0, 1);
    acc_tokenizer *no_unk =
        load("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}");
    EXPECT_IDS(no_unk, "zaz", 0, 0); /* unknown characters vanish */
    acc_tokenizer_free(fused);
    acc_tokenizer_free(unfused);
    acc_tokenizer_free(no_unk);
}

static void test_bpe_ignore_merges(void **state)
{
    (void)state;
    acc_tokenizer *with = load("{\"model\":{\"type\":\"BPE\",\"ignore_merges\":true,"
                               "\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"abc\":3},\"merges\":[]}}");
    acc_tokenizer *without = load("{\"model\":{\"type\":\"BPE\","
                                  "\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"abc\":3},\"merges\":[]}}");
    EXPECT_IDS(with, "abc", 0, 3);
    EXPECT_IDS(without, "abc", 0, 0, 1, 2);
    acc_tokenizer_free(with);
    acc_tokenizer_free(without);
}

static const char ADDED_JSON[] =
    "{\"added_tokens\":["
    "{\"id\":3,\"content\":\"<s>\",\"special\":true,\"normalized\":false},"
    "{\"id\":4,\"content\":\"XY\",\"special\":false,\"normalized\":true,\"lstrip\":true},"
    "{\"id\":5,\"content\":\"ZZ\",\"special\":false,\"normalized\":true,\"rstrip\":true},"
    "{\"id\":6,\"content\":\"bb\",\"special\":false,\"normalized\":true,\"single_word\":true}],"
    "\"model\":{\"type\":\"BPE\",\"vocab\":{\" \":0,\"a\":1,\"b\":2},\"merges\":[]}}";

static void test_added_tokens(void **state)
{
    (void)state;
    acc_tokenizer *tok = load(ADDED_JSON);
    EXPECT_IDS(tok, "a<s>b", 0, 1, 3, 2);
    EXPECT_IDS(tok, "a  XYb", 0, 1, 4, 2); /* lstrip eats the spaces before */
    EXPECT_IDS(tok, "ZZ  a", 0, 5, 1);     /* rstrip eats the spaces after */
    EXPECT_IDS(tok, "a bb", 0, 1, 0, 6);   /* a single word */
    EXPECT_IDS(tok, "abb", 0, 1, 2, 2);    /* inside a word: not matched */
    EXPECT_IDS(tok, "<s><s>", 0, 3, 3);
    assert_int_equal(acc_tokenizer_vocab_size(tok), 7);
    assert_true(acc_tokenizer_is_special(tok, 3));
    assert_false(acc_tokenizer_is_special(tok, 4));
    assert_string_equal(acc_tokenizer_token_text(tok, 6), "bb");
    assert_int_equal(acc_tokenizer_bos_id(tok), 3);
    EXPECT_TEXT(tok, 0, "a <s> b", 1, 3, 2);
    EXPECT_TEXT(tok, 1, "a b", 1, 3, 2);
    EXPECT_TEXT(tok, 0, "a b", 1, 999, -5, 2); /* unknown ids are dropped */
    acc_tokenizer_free(tok);
}

static void test_split_behaviors(void **state)
{
    (void)state;
    /* HF's own example: "The-final--countdown" split on '-'. */
    static const char *const want[][7] = {
        [TOK_SPLIT_REMOVED] = {"The", "final", "countdown"},
        [TOK_SPLIT_ISOLATED] = {"The", "-", "final", "-", "-", "countdown"},
        [TOK_SPLIT_MERGED_WITH_PREVIOUS] = {"The-", "final-", "-", "countdown"},
        [TOK_SPLIT_MERGED_WITH_NEXT] = {"The", "-final", "-", "-countdown"},
        [TOK_SPLIT_CONTIGUOUS] = {"The", "-", "final", "--", "countdown"},
    };
    const char *text = "The-final--countdown";
    acc_error err = {0};
    tok_regex *dash = NULL;
    assert_int_equal(tok_regex_compile("-", 1, 1, "t", "f", &dash, &err), ACC_OK);
    for (int b = TOK_SPLIT_REMOVED; b <= TOK_SPLIT_CONTIGUOUS; b++) {
        tok_segments segs = {0};
        assert_int_equal(tok_regex_find_matches(dash, text, strlen(text), &segs, &err), ACC_OK);
        assert_int_equal(tok_segments_apply_behavior(&segs, (tok_split_behavior)b, &err),
                         ACC_OK);
        size_t k = 0;
        for (size_t i = 0; i < segs.len; i++) {
            size_t len = segs.data[i].end - segs.data[i].start;
            if (len == 0)
                continue;
            assert_non_null(want[b][k]);
            assert_int_equal(len, strlen(want[b][k]));
            assert_memory_equal(text + segs.data[i].start, want[b][k], len);
            k++;
        }
        assert_null(want[b][k]);
        free(segs.data);
    }
    tok_regex_free(dash);
}

static void test_regex_oniguruma_semantics(void **state)
{
    (void)state;
    acc_error err = {0};
    tok_regex *re = NULL;
    /* \s is White_Space: NEL yes, MONGOLIAN VOWEL SEPARATOR no. */
    const char *text = "a\xC2\x85" "b\xE1\xA0\x8E" "c";
    assert_int_equal(tok_regex_compile("\\s+", 3, 0, "t", "f", &re, &err), ACC_OK);
    tok_segments segs = {0};
    assert_int_equal(tok_regex_find_matches(re, text, strlen(text), &segs, &err), ACC_OK);
    assert_int_equal(segs.len, 3);
    assert_int_equal(segs.data[1].start, 1);
    assert_int_equal(segs.data[1].end, 3);
    assert_int_equal(segs.data[1].flag, 1);
    tok_regex_free(re);
    /* Empty matches: never right after the previous match (onig crate). */
    assert_int_equal(tok_regex_compile("x*", 2, 0, "t", "f", &re, &err), ACC_OK);
    assert_int_equal(tok_regex_find_matches(re, "ab", 2, &segs, &err), ACC_OK);
    const tok_segment want[] = {{0, 0, 1}, {0, 1, 0}, {1, 1, 1}, {1, 2, 0}, {2, 2, 1}};
    assert_int_equal(segs.len, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(segs.data[i].start, want[i].start);
        assert_int_equal(segs.data[i].end, want[i].end);
        assert_int_equal(segs.data[i].flag, want[i].flag);
    }
    tok_regex_free(re);
    free(segs.data);
    assert_int_equal(tok_regex_compile("(?i:'s|'t)|[", 12, 0, "t", "f", &re, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "t: f: bad regex"));
}

static acc_tokenizer *metaspace(const char *scheme)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"added_tokens\":[{\"id\":5,\"content\":\"<s>\",\"special\":true,"
             "\"normalized\":false}],"
             "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\","
             "\"prepend_scheme\":\"%s\",\"split\":true},"
             "\"decoder\":{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\","
             "\"prepend_scheme\":\"%s\",\"split\":true},"
             "\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xE2\x96\x81\":0,\"a\":1,\"b\":2,"
             "\"\xE2\x96\x81" "a\":3,\"\xE2\x96\x81" "b\":4,\"<s>\":5},"
             "\"merges\":[\"\xE2\x96\x81 a\",\"\xE2\x96\x81 b\"]}}",
             scheme, scheme);
    return load(json);
}

static void test_metaspace_prepend_schemes(void **state)
{
    (void)state;
    acc_tokenizer *first = metaspace("first");
    EXPECT_IDS(first, "a b", 0, 3, 4);
    EXPECT_IDS(first, "<s>a b", 0, 5, 1, 4); /* not at the start of the text */
    EXPECT_IDS(first, " a", 0, 3);            /* the space becomes the prefix */
    EXPECT_TEXT(first, 0, "a b", 3, 4);
    EXPECT_TEXT(first, 0, "<s>a b", 5, 1, 4);
    EXPECT_TEXT(first, 1, "a b", 5, 1, 4);
    acc_tokenizer *always = metaspace("always");
    EXPECT_IDS(always, "<s>a b", 0, 5, 3, 4);
    acc_tokenizer *never = metaspace("never");
    EXPECT_IDS(never, "a b", 0, 1, 4);
    EXPECT_TEXT(never, 0, " a b", 3, 4);
    acc_tokenizer_free(first);
    acc_tokenizer_free(always);
    acc_tokenizer_free(never);
}

/* Llama-2 style: Prepend/Replace normalizers, byte fallback, and the
 * Replace/ByteFallback/Fuse/Strip decoder chain. */
static void test_sentencepiece_style(void **state)
{
    (void)state;
    acc_tokenizer *tok = load(
        "{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":["
        "{\"type\":\"Prepend\",\"prepend\":\"\xE2\x96\x81\"},"
        "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xE2\x96\x81\"}]},"
        "\"decoder\":{\"type\":\"Sequence\",\"decoders\":["
        "{\"type\":\"Replace\",\"pattern\":{\"String\":\"\xE2\x96\x81\"},\"content\":\" \"},"
        "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
        "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},"
        "\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{\"\xE2\x96\x81\":0,"
        "\"a\":1,\"\xE2\x96\x81" "a\":3,\"<0xE4>\":10,\"<0xB8>\":11,\"<0xAD>\":12},"
        "\"merges\":[\"\xE2\x96\x81 a\"]}}");
    EXPECT_IDS(tok, "a a", 0, 3, 3);
    EXPECT_IDS(tok, "\xE4\xB8\xAD", 0, 0, 10, 11, 12); /* U+4E2D by bytes */
    EXPECT_TEXT(tok, 0, "a a", 3, 3);
    EXPECT_TEXT(tok, 0, "a\xE4\xB8\xAD", 3, 10, 11, 12);
    /* Bytes that are not UTF-8 become one U+FFFD each. */
    EXPECT_TEXT(tok, 0, "\xEF\xBF\xBD\xEF\xBF\xBD", 10, 11);
    acc_tokenizer_free(tok);
}

/* GPT-2 byte level: bytes_to_unicode, and lossy UTF-8 when decoding. */
static void test_bytelevel(void **state)
{
    (void)state;
    tok_bytelevel_map map;
    tok_bytelevel_map_init(&map);
    assert_int_equal(map.byte_to_cp[' '], 0x120);  /* 'Ġ' */
    assert_int_equal(map.byte_to_cp['\n'], 0x10A); /* 'Ċ' */
    assert_int_equal(map.byte_to_cp[0xAD], 0x143); /* 'Ń' */
    assert_int_equal(map.byte_to_cp['A'], 'A');
    /* U+4E2D is E4 B8 AD, i.e. "ä¸Ń" at byte level. */
    acc_tokenizer *tok = load(
        "{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false},"
        "\"decoder\":{\"type\":\"ByteLevel\"},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xC3\xA4\":0,\"\xC2\xB8\":1,\"\xC5\x83\":2,"
        "\"\xC3\xA4\xC2\xB8\":3,\"\xC4\xA0\":4,\"a\":5},\"merges\":[\"\xC3\xA4 \xC2\xB8\"]}}");
    EXPECT_IDS(tok, "\xE4\xB8\xAD", 0, 3, 2);
    EXPECT_IDS(tok, "a a", 0, 5, 4, 5);
    EXPECT_TEXT(tok, 0, "\xE4\xB8\xAD", 3, 2);
    EXPECT_TEXT(tok, 0, "\xEF\xBF\xBD", 3);                 /* E4 B8: one U+FFFD */
    EXPECT_TEXT(tok, 0, "\xEF\xBF\xBD\xEF\xBF\xBD", 2, 3);  /* AD, E4 B8 */
    EXPECT_TEXT(tok, 0, "a a", 5, 4, 5);
    acc_tokenizer_free(tok);
}

static void test_normalizers_and_digits(void **state)
{
    (void)state;
    acc_tokenizer *nfkc = load(
        "{\"normalizer\":{\"type\":\"NFKC\"},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"f\":0,\"i\":1,\"fi\":2,\"\xC3\xA9\":3},"
        "\"merges\":[\"f i\"]}}");
    EXPECT_IDS(nfkc, "\xEF\xAC\x81", 0, 2);  /* U+FB01 ligature -> "fi" */
    EXPECT_IDS(nfkc, "e\xCC\x81", 0, 3);     /* e + combining acute -> U+00E9 */
    acc_tokenizer *lower = load(
        "{\"normalizer\":{\"type\":\"Lowercase\"},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"\xC3\xA9\":1},\"merges\":[]}}");
    EXPECT_IDS(lower, "A\xC3\x89", 0, 0, 1);
    const char *digits =
        "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\","
        "\"individual_digits\":%s}]},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"1\":0,\"2\":1,\"12\":2},\"merges\":[\"1 2\"]}}";
    char json[512];
    snprintf(json, sizeof json, digits, "true");
    acc_tokenizer *single = load(json);
    snprintf(json, sizeof json, digits, "false");
    acc_tokenizer *runs = load(json);
    EXPECT_IDS(single, "12", 0, 0, 1);
    EXPECT_IDS(runs, "12", 0, 2);
    acc_tokenizer_free(nfkc);
    acc_tokenizer_free(lower);
    acc_tokenizer_free(single);
    acc_tokenizer_free(runs);
}

static void test_post_processors(void **state)
{
    (void)state;
    acc_tokenizer *tok = load(
        "{\"added_tokens\":[{\"id\":1,\"content\":\"<s>\",\"special\":true,\"normalized\":false},"
        "{\"id\":2,\"content\":\"</s>\",\"special\":true,\"normalized\":false}],"
        "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":["
        "{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\","
        "\"type_id\":0}},{\"SpecialToken\":{\"id\":\"</s>\",\"type_id\":0}}],"
        "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]},"
        "\"</s>\":{\"id\":\"</s>\",\"ids\":[2],\"tokens\":[\"</s>\"]}}},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"<s>\":1,\"</s>\":2},\"merges\":[]}}");
    EXPECT_IDS(tok, "aa", 1, 1, 0, 0, 2);
    EXPECT_IDS(tok, "aa", 0, 0, 0);
    EXPECT_IDS(tok, "", 1, 1, 2);
    assert_int_equal(acc_tokenizer_bos_id(tok), 1);
    assert_int_equal(acc_tokenizer_eos_id(tok), 2);
    acc_tokenizer *roberta = load(
        "{\"post_processor\":{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},"
        "{\"type\":\"RobertaProcessing\",\"cls\":[\"<s>\",7],\"sep\":[\"</s>\",8]}]},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}");
    EXPECT_IDS(roberta, "a", 1, 7, 0, 8);
    assert_int_equal(acc_tokenizer_bos_id(roberta), 7);
    assert_int_equal(acc_tokenizer_eos_id(roberta), 8);
    acc_tokenizer_free(tok);
    acc_tokenizer_free(roberta);
}

static void test_errors(void **state)
{
    (void)state;
    load_fails("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}",
               "tokenizer.json: model.type: unsupported 'WordPiece'");
    load_fails("{\"normalizer\":{\"type\":\"BertNormalizer\"},\"model\":{\"type\":\"BPE\","
               "\"vocab\":{},\"merges\":[]}}",
               "tokenizer.json: normalizer.type: unsupported 'BertNormalizer'");
    load_fails("{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":"
               "\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"}]},"
               "\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}",
               "pre_tokenizer.pretokenizers[0].pattern.Regex: bad regex");
    load_fails("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}",
               "model.merges[0]: token 'b' not in vocab");
    load_fails("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a a a\"]}}",
               "model.merges[0]");
    load_fails("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}",
               "model.vocab");
    load_fails("{\"model\":{\"type\":\"BPE\",\"dropout\":0.1,\"vocab\":{},\"merges\":[]}}",
               "model.dropout");
    load_fails("{\"decoder\":{\"type\":\"CTC\"},\"model\":{\"type\":\"BPE\",\"vocab\":{},"
               "\"merges\":[]}}",
               "decoder.type: unsupported 'CTC'");
    load_fails("{\"model\": [", "tokenizer.json: 1:");
    acc_tokenizer *tok = load("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}");
    int32_t *ids = NULL;
    size_t n = 0;
    acc_error err = {0};
    assert_int_equal(acc_tokenizer_encode(tok, "ab\xC3(", 4, 1, &ids, &n, &err), ACC_ERR_INPUT);
    assert_string_equal(err.message, "prompt: invalid UTF-8 at byte 2");
    assert_null(ids);
    acc_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bpe_merge_ranks),
        cmocka_unit_test(test_bpe_unknown_and_byte_fallback),
        cmocka_unit_test(test_bpe_ignore_merges),
        cmocka_unit_test(test_added_tokens),
        cmocka_unit_test(test_split_behaviors),
        cmocka_unit_test(test_regex_oniguruma_semantics),
        cmocka_unit_test(test_metaspace_prepend_schemes),
        cmocka_unit_test(test_sentencepiece_style),
        cmocka_unit_test(test_bytelevel),
        cmocka_unit_test(test_normalizers_and_digits),
        cmocka_unit_test(test_post_processors),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
