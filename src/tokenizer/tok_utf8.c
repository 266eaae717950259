/*
 * tok_utf8.c — the UTF-8 and character-class helpers the tokenizer needs:
 * stepping through code points, Rust's char predicates (via utf8proc's
 * general categories, not hand-made tables), from_utf8_lossy, GPT-2's
 * byte <-> unicode map, and the growable string used everywhere.
 */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

acc_status tok_str_reserve(tok_str *s, size_t extra, acc_error *err)
{
    if (s->len + extra + 1 <= s->cap)
        return ACC_OK;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: string too large");
        cap *= 2;
    }
    char *grown = realloc(s->data, cap);
    if (!grown)
        return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
    s->data = grown;
    s->cap = cap;
    return ACC_OK;
}

acc_status tok_str_append(tok_str *s, const char *data, size_t n, acc_error *err)
{
    if (tok_str_reserve(s, n, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    if (n)
        memcpy(s->data + s->len, data, n);
    s->len += n;
    s->data[s->len] = '\0';
    return ACC_OK;
}

acc_status tok_str_append_cp(tok_str *s, uint32_t cp, acc_error *err)
{
    char bytes[4];
    size_t n = tok_utf8_encode(cp, bytes);
    return tok_str_append(s, bytes, n, err);
}

void tok_str_free(tok_str *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

size_t tok_utf8_next(const char *text, size_t len, size_t i, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned c = s[i];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    if (i + n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t value = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; k++)
        value = (value << 6) | (s[i + k] & 0x3F);
    *cp = value;
    return n;
}

size_t tok_utf8_prev(const char *text, size_t end)
{
    size_t i = end;
    while (i > 0) {
        i--;
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            break;
    }
    return i;
}

size_t tok_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int tok_is_whitespace(uint32_t cp)
{
    /* White_Space = the separators Zs/Zl/Zp plus TAB..CR and NEL. */
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85)
        return 1;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

int tok_is_word_char(uint32_t cp)
{
    if (cp == 0x200C || cp == 0x200D) /* Join_Control */
        return 1;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
        return 1;
    default:
        return 0;
    }
}

int tok_is_numeric(uint32_t cp)
{
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
}

/* Length of the valid UTF-8 sequence at bytes[i], or 0 with *bad set to
 * how many bytes form the maximal invalid prefix (at least 1). */
static size_t utf8_sequence(const uint8_t *bytes, size_t n, size_t i, size_t *bad)
{
    uint8_t c = bytes[i];
    if (c < 0x80)
        return 1;
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    size_t k = 1;
    for (; k <= need; k++) {
        if (i + k >= n)
            break;
        uint8_t b = bytes[i + k];
        uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (b < l || b > h)
            break;
    }
    if (k > need)
        return need + 1;
    *bad = k;
    return 0;
}

acc_status tok_utf8_lossy_append(tok_str *out, const uint8_t *bytes, size_t n, acc_error *err)
{
    size_t i = 0;
    while (i < n) {
        size_t bad = 0;
        size_t good = utf8_sequence(bytes, n, i, &bad);
        if (good) {
            if (tok_str_append(out, (const char *)bytes + i, good, err) != ACC_OK)
                return ACC_ERR_RUNTIME;
            i += good;
        } else {
            if (tok_str_append(out, "\xEF\xBF\xBD", 3, err) != ACC_OK)
                return ACC_ERR_RUNTIME;
            i += bad;
        }
    }
    return ACC_OK;
}

void tok_bytelevel_map_init(tok_bytelevel_map *map)
{
    /* Printable Latin-1 bytes stand for themselves; the other 68 bytes are
     * given the code points 256, 257, ... in byte order (GPT-2's choice, so
     * that every byte is a visible, non-space character). */
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        map->byte_to_cp[b] = printable ? (uint32_t)b : next++;
    }
    for (int cp = 0; cp < 512; cp++)
        map->cp_to_byte[cp] = -1;
    for (int b = 0; b < 256; b++)
        map->cp_to_byte[map->byte_to_cp[b]] = (int16_t)b;
}
