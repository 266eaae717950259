/*
 * tok_regex.c — the regexes of tokenizer.json (Split, Replace) with PCRE2.
 *
 * HF compiles them with Oniguruma.  For the patterns real tokenizers use
 * the two engines agree except on a few shorthands, which are rewritten to
 * PCRE2 property classes before compiling: Oniguruma's \s is Unicode
 * White_Space (Z* plus TAB..CR and NEL) and its \w is Unicode's "word"
 * (Alphabetic, M, Nd, Pc, Join_Control), as in Rust's regex crate too.
 * Matches are iterated the way the onig crate's find_iter does, including
 * its rule for empty matches.
 */
#include "tokenizer/tok_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tok_regex {
    pcre2_code *code;
    pcre2_match_context *mctx;
};

#define SPACE_SET "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}"
#define WORD_SET "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"

/* Rewrites the Oniguruma shorthands whose PCRE2 meaning differs. */
static acc_status regex_translate(const char *pattern, size_t len, tok_str *out,
                                  acc_error *err)
{
    int in_class = 0;
    size_t i = 0;
    while (i < len) {
        char c = pattern[i];
        const char *add = NULL;
        size_t take = 1;
        if (c == '\\' && i + 1 < len) {
            char e = pattern[i + 1];
            take = 2;
            if (e == 's')
                add = in_class ? SPACE_SET : "[" SPACE_SET "]";
            else if (e == 'S' && !in_class)
                add = "[^" SPACE_SET "]";
            else if (e == 'w')
                add = in_class ? WORD_SET : "[" WORD_SET "]";
            else if (e == 'W' && !in_class)
                add = "[^" WORD_SET "]";
        } else if (c == '[' && !in_class) {
            in_class = 1;
            /* "[^]...]" and "[]...]": a leading ']' is literal. */
            size_t j = i + 1;
            if (j < len && pattern[j] == '^')
                j++;
            if (j < len && pattern[j] == ']')
                j++;
            take = j - i;
        } else if (c == '[' && in_class && i + 1 < len && pattern[i + 1] == ':') {
            const char *close = NULL;
            for (size_t j = i + 2; j + 1 < len; j++)
                if (pattern[j] == ':' && pattern[j + 1] == ']') {
                    close = pattern + j;
                    break;
                }
            if (close)
                take = (size_t)(close - (pattern + i)) + 2;
        } else if (c == ']' && in_class) {
            in_class = 0;
        }
        acc_status st = add ? tok_str_append(out, add, strlen(add), err)
                            : tok_str_append(out, pattern + i, take, err);
        if (st != ACC_OK)
            return st;
        i += take;
    }
    return tok_str_append(out, "", 0, err);
}

acc_status tok_regex_compile(const char *pattern, size_t len, int literal, const char *name,
                             const char *field, tok_regex **out, acc_error *err)
{
    *out = NULL;
    if (len > TOK_MAX_PATTERN)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: pattern longer than %d bytes", name,
                             field, TOK_MAX_PATTERN);
    tok_str source = {0};
    acc_status st = literal ? tok_str_append(&source, pattern, len, err)
                            : regex_translate(pattern, len, &source, err);
    if (st != ACC_OK) {
        tok_str_free(&source);
        return st;
    }
    int code_err = 0;
    PCRE2_SIZE code_offset = 0;
    /* PCRE2_LITERAL allows only a few other options. */
    uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL
                               : PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)source.data, source.len, options, &code_err,
                                     &code_offset, NULL);
    tok_str_free(&source);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code_err, message, sizeof message);
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: bad regex: %s", name, field,
                             (const char *)message);
    }
    tok_regex *re = acc_calloc(1, sizeof *re, err);
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    if (!re || !mctx) {
        free(re);
        pcre2_match_context_free(mctx);
        pcre2_code_free(code);
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: %s: out of memory", name, field);
    }
    pcre2_set_match_limit(mctx, TOK_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, TOK_REGEX_MATCH_LIMIT / 4);
    pcre2_set_heap_limit(mctx, 64 * 1024); /* KiB */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    re->code = code;
    re->mctx = mctx;
    *out = re;
    return ACC_OK;
}

void tok_regex_free(tok_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    pcre2_match_context_free(re->mctx);
    free(re);
}

static int regex_match(const tok_regex *re, const char *text, size_t len, size_t pos,
                       pcre2_match_data *md)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, pos, PCRE2_NO_UTF_CHECK, md,
                         re->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, pos,
                         PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, re->mctx);
    return rc;
}

acc_status tok_regex_find_matches(const tok_regex *re, const char *text, size_t len,
                                  tok_segments *out, acc_error *err)
{
    out->len = 0;
    if (len == 0)
        return tok_segments_push(out, 0, 0, 0, err);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (!md)
        return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
    acc_status st = ACC_OK;
    size_t pos = 0, prev = 0, last_match_end = 0;
    int have_last = 0;
    while (pos <= len) {
        int rc = regex_match(re, text, len, pos, md);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            st = acc_error_set(err, ACC_ERR_INPUT, "tokenizer: regex failed at byte %zu: %s",
                               pos, (const char *)message);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e < s) { /* \K games: treat as no further match */
            break;
        }
        if (s == e && have_last && last_match_end == e) {
            /* The onig crate never yields an empty match right after the
             * previous match: step one character and search again. */
            if (pos >= len)
                break;
            uint32_t cp;
            pos += tok_utf8_next(text, len, pos, &cp);
            continue;
        }
        pos = e;
        last_match_end = e;
        have_last = 1;
        if (prev != s && (st = tok_segments_push(out, prev, s, 0, err)) != ACC_OK)
            break;
        if ((st = tok_segments_push(out, s, e, 1, err)) != ACC_OK)
            break;
        prev = e;
    }
    pcre2_match_data_free(md);
    if (st == ACC_OK && prev != len)
        st = tok_segments_push(out, prev, len, 0, err);
    return st;
}
