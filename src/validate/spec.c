/*
 * spec.c — the --programs SPEC grammar of `accinf validate`:
 *
 *   SPEC       = PROGRAM [ ":" CONSTRAINT "," CONSTRAINT ]
 *   PROGRAM    = digits | "*" | "?"
 *   CONSTRAINT = digits (meaning >= N) | ("<" | ">" | "<=" | ">=" | "==") digits
 *
 * The first constraint bounds the batch size, the second the padded prompt
 * length.  Whitespace is not allowed; numbers are decimal, at most 10^9.
 */
#include "accinf/validate.h"

#include <stdio.h>
#include <string.h>

#define SPEC_MAX_NUMBER 1000000000L

/* Parses digits at *p (advancing it); 0 when there are none or too many. */
static int spec_parse_number(const char **p, int *value)
{
    long v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > SPEC_MAX_NUMBER)
            return 0;
        s++;
    }
    *p = s;
    *value = (int)v;
    return 1;
}

static acc_status spec_parse_constraint(const char *text, size_t len, const char *spec,
                                        const char *what, acc_constraint *out, acc_error *err)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': %s constraint is %s (want N, <N, >N, <=N, >=N "
                             "or ==N)",
                             spec, what, len == 0 ? "empty" : "too long");
    memcpy(buf, text, len);
    buf[len] = '\0';
    const char *p = buf;
    acc_compare op = ACC_CMP_GE;
    if (strncmp(p, "<=", 2) == 0)
        op = ACC_CMP_LE, p += 2;
    else if (strncmp(p, ">=", 2) == 0)
        op = ACC_CMP_GE, p += 2;
    else if (strncmp(p, "==", 2) == 0)
        op = ACC_CMP_EQ, p += 2;
    else if (*p == '<')
        op = ACC_CMP_LT, p++;
    else if (*p == '>')
        op = ACC_CMP_GT, p++;
    int value = 0;
    if (!spec_parse_number(&p, &value) || *p != '\0')
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': %s constraint '%s' is not N, <N, >N, <=N, >=N "
                             "or ==N (N a number up to 10^9)",
                             spec, what, buf);
    out->op = op;
    out->value = value;
    return ACC_OK;
}

acc_status acc_program_spec_parse(const char *text, acc_program_spec *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    out->batch = (acc_constraint){ACC_CMP_GE, 0};
    out->prompt_len = (acc_constraint){ACC_CMP_GE, 0};
    /* a printable copy for messages */
    size_t n = strlen(text);
    size_t shown = n < sizeof out->text - 1 ? n : sizeof out->text - 1;
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)text[i];
        out->text[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    const char *spec = out->text;
    if (n == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "--programs: empty SPEC (want <id|*|?>[:B,L])");
    const char *colon = strchr(text, ':');
    size_t head = colon ? (size_t)(colon - text) : n;
    if (head == 1 && text[0] == '*') {
        out->kind = ACC_SPEC_EACH;
    } else if (head == 1 && text[0] == '?') {
        out->kind = ACC_SPEC_ANY;
    } else {
        const char *p = text;
        int id = 0;
        if (!spec_parse_number(&p, &id) || p != text + head)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "--programs '%s': program must be a number, '*' or '?'", spec);
        out->kind = ACC_SPEC_PROGRAM;
        out->program = id;
    }
    if (!colon)
        return ACC_OK;
    const char *rest = colon + 1;
    const char *comma = strchr(rest, ',');
    if (!comma)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': after ':' want <batch>,<prompt length>", spec);
    if (strchr(comma + 1, ',') || strchr(comma + 1, ':'))
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': too many fields (want <id>:<batch>,<length>)", spec);
    acc_status status =
        spec_parse_constraint(rest, (size_t)(comma - rest), spec, "batch", &out->batch, err);
    if (status == ACC_OK)
        status = spec_parse_constraint(comma + 1, strlen(comma + 1), spec, "prompt length",
                                       &out->prompt_len, err);
    return status;
}

int acc_constraint_holds(acc_constraint c, int value)
{
    switch (c.op) {
    case ACC_CMP_GE:
        return value >= c.value;
    case ACC_CMP_GT:
        return value > c.value;
    case ACC_CMP_LE:
        return value <= c.value;
    case ACC_CMP_LT:
        return value < c.value;
    case ACC_CMP_EQ:
        return value == c.value;
    }
    return 0;
}

void acc_constraint_format(acc_constraint c, char *buf, size_t size)
{
    static const char *const ops[] = {">=", ">", "<=", "<", "=="};
    snprintf(buf, size, "%s%d", ops[c.op], c.value);
}
