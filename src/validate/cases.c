/*
 * cases.c — which (program, batch, padded prompt length) cases to validate
 * and which prompts fill them.
 *
 * Shapes come from the program map (acc_shape_map_build), ordered by batch
 * and then length, never shuffled.  A spec takes the first shape whose
 * program and constraints match and that the dataset can fill.  Filling a
 * shape (b, L): prompt 0 must pad to exactly L (L-63..L tokens, or a longer
 * prompt cut to L where truncation is allowed); with homogeneous programs
 * the others pad to L-64, L-128, .. down to the power of two below L
 * (cycled), else they are any prompts of at most L tokens (longer ones cut
 * where allowed); missing ones repeat the first, as the driver does.
 * Prompts are tried in a seeded order so a run is reproducible.
 */
#include "accinf/validate.h"

#include <stdlib.h>
#include <string.h>

typedef struct case_sampler {
    const acc_case_options *o;
    const int32_t *const *prompts;
    const int *lengths;
    int n_prompts;
    int *order; /* seeded permutation of prompt indices */
    char *used;
    int longest;
} case_sampler;

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A prompt index for padded size `size`: exact first, then a longer one cut
 * down when truncation is allowed; -1 when none.  allow_used lets a batch
 * repeat a prompt. */
static int sampler_find(const case_sampler *s, int size, int allow_used)
{
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !s->o->allow_truncation)
            break;
        for (int k = 0; k < s->n_prompts; k++) {
            int i = s->order[k], len = s->lengths[i];
            if ((s->used[i] && !allow_used) || len < s->o->min_prompt_len)
                continue;
            if (pass == 0 ? (len > size - ACC_PROGRAM_PAD_MULTIPLE && len <= size) : len > size)
                return i;
        }
    }
    return -1;
}

/* Any prompt of at most `limit` tokens (or longer, cut, where allowed). */
static int sampler_find_any(const case_sampler *s, int limit)
{
    for (int k = 0; k < s->n_prompts; k++) {
        int i = s->order[k], len = s->lengths[i];
        if (!s->used[i] && len >= s->o->min_prompt_len && (len <= limit || s->o->allow_truncation))
            return i;
    }
    return -1;
}

static void case_free(acc_validate_case *c)
{
    if (c->prompt_ids)
        for (int i = 0; i < c->batch; i++)
            free(c->prompt_ids[i]);
    free(c->prompt_ids);
    free(c->prompt_lengths);
    free(c->prompt_index);
    free(c->enforced_sizes);
    free(c->programs);
    memset(c, 0, sizeof *c);
}

/* Fills case c for a shape; returns 1 on success, 0 when the dataset
 * cannot, -1 on out-of-memory (err set). */
static int sampler_fill(case_sampler *s, const acc_program_shape *shape, int n_steps,
                        acc_validate_case *c, acc_error *err)
{
    int b = shape->batch, L = shape->prompt_len;
    memset(c, 0, sizeof *c);
    c->batch = b;
    c->prompt_len = L;
    c->program = shape->programs[0];
    c->n_steps = n_steps;
    c->programs = acc_malloc((size_t)n_steps * sizeof *c->programs, err);
    c->prompt_ids = acc_calloc((size_t)b, sizeof *c->prompt_ids, err);
    c->prompt_lengths = acc_calloc((size_t)b, sizeof *c->prompt_lengths, err);
    c->prompt_index = acc_calloc((size_t)b, sizeof *c->prompt_index, err);
    c->enforced_sizes = acc_calloc((size_t)b, sizeof *c->enforced_sizes, err);
    if (!c->programs || !c->prompt_ids || !c->prompt_lengths || !c->prompt_index ||
        !c->enforced_sizes) {
        case_free(c);
        return -1;
    }
    memcpy(c->programs, shape->programs, (size_t)n_steps * sizeof *c->programs);
    /* padded sizes to enforce */
    c->enforced_sizes[c->n_enforced++] = L;
    if (s->o->enforce_homogeneous) {
        int cutoff = 1;
        while (cutoff * 2 <= L)
            cutoff *= 2;
        int n_sizes = 0;
        for (int size = L - ACC_PROGRAM_PAD_MULTIPLE; size >= cutoff;
             size -= ACC_PROGRAM_PAD_MULTIPLE)
            n_sizes++;
        for (int k = 0; n_sizes > 0 && k < b - 1; k++)
            c->enforced_sizes[c->n_enforced++] = L - ACC_PROGRAM_PAD_MULTIPLE * (1 + k % n_sizes);
    }
    memset(s->used, 0, (size_t)s->n_prompts);
    for (int k = 0; k < b; k++) {
        int index, size;
        if (k < c->n_enforced) {
            size = c->enforced_sizes[k];
            index = sampler_find(s, size, 0);
            if (index < 0 && k > 0)
                index = sampler_find(s, size, 1);
        } else {
            size = L;
            index = sampler_find_any(s, L);
            if (index < 0)
                index = c->prompt_index[0]; /* repeat the first, as the driver does */
        }
        if (index < 0) {
            case_free(c);
            return 0;
        }
        s->used[index] = 1;
        int len = s->lengths[index] < size ? s->lengths[index] : size;
        c->prompt_index[k] = index;
        c->prompt_lengths[k] = len;
        c->prompt_ids[k] = acc_malloc((size_t)len * sizeof **c->prompt_ids, err);
        if (!c->prompt_ids[k]) {
            case_free(c);
            return -1;
        }
        memcpy(c->prompt_ids[k], s->prompts[index], (size_t)len * sizeof **c->prompt_ids);
    }
    return 1;
}

static int shape_matches(const acc_program_shape *shape, const acc_program_spec *spec, int program)
{
    if (program >= 0 && shape->programs[0] != program)
        return 0;
    return acc_constraint_holds(spec->batch, shape->batch) &&
           acc_constraint_holds(spec->prompt_len, shape->prompt_len);
}

/* First fillable shape for (spec, program); program -1 means any.
 * Returns 1 found, 0 none matched, 2 matched but the dataset cannot fill
 * any, -1 out of memory. */
static int cases_find(case_sampler *s, const acc_shape_map *map, const acc_program_spec *spec,
                      int program, acc_validate_case *c, const acc_program_shape **first,
                      acc_error *err)
{
    int matched = 0;
    *first = NULL;
    for (int i = 0; i < map->n; i++) {
        if (!shape_matches(&map->shapes[i], spec, program))
            continue;
        if (!matched)
            *first = &map->shapes[i];
        matched = 1;
        int r = sampler_fill(s, &map->shapes[i], map->n_steps, c, err);
        if (r != 0)
            return r;
    }
    return matched ? 2 : 0;
}

static acc_status cases_push(acc_validate_case **cases, int *n, int *cap, acc_validate_case *c,
                             const acc_program_spec *spec, acc_error *err)
{
    if (*n == *cap) {
        int grown = *cap ? *cap * 2 : 8;
        acc_validate_case *more = realloc(*cases, (size_t)grown * sizeof *more);
        if (!more) {
            case_free(c);
            return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
        }
        *cases = more;
        *cap = grown;
    }
    memcpy(c->spec, spec->text, sizeof c->spec);
    (*cases)[(*n)++] = *c;
    return ACC_OK;
}

static acc_status cases_unfilled(const case_sampler *s, const acc_program_spec *spec,
                                 const acc_program_shape *shape, acc_error *err)
{
    return acc_error_set(err, ACC_ERR_INPUT,
                         "--programs '%s': dataset has no prompt long enough for program %d "
                         "(batch %d, padded length %d needs a prompt of %d to %d tokens%s; the "
                         "longest has %d)",
                         spec->text, shape->programs[0], shape->batch, shape->prompt_len,
                         shape->prompt_len - ACC_PROGRAM_PAD_MULTIPLE + 1, shape->prompt_len,
                         s->o->allow_truncation ? " or longer" : "", s->longest);
}

static acc_status cases_for_spec(case_sampler *s, const acc_shape_map *map,
                                 const acc_program_spec *spec, acc_validate_case **cases, int *n,
                                 int *cap, acc_error *err)
{
    char batch_text[24], len_text[24];
    acc_constraint_format(spec->batch, batch_text, sizeof batch_text);
    acc_constraint_format(spec->prompt_len, len_text, sizeof len_text);
    acc_validate_case c;
    const acc_program_shape *first = NULL;
    if (spec->kind == ACC_SPEC_EACH) {
        int found = 0, any_matched = 0;
        const acc_program_shape *unfilled = NULL;
        for (int p = 0; p < s->o->criteria->n; p++) {
            int r = cases_find(s, map, spec, p, &c, &first, err);
            if (r < 0)
                return ACC_ERR_RUNTIME;
            any_matched |= r != 0;
            if (r == 2 && !unfilled)
                unfilled = first;
            if (r == 1) {
                found++;
                acc_status st = cases_push(cases, n, cap, &c, spec, err);
                if (st != ACC_OK)
                    return st;
            }
        }
        if (found > 0)
            return ACC_OK;
        if (unfilled)
            return cases_unfilled(s, spec, unfilled, err);
        (void)any_matched;
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': no shape with batch %s and padded length %s maps "
                             "to any program",
                             spec->text, batch_text, len_text);
    }
    int program = spec->kind == ACC_SPEC_PROGRAM ? spec->program : -1;
    if (program >= s->o->criteria->n)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': program %d does not exist (the criteria have %d "
                             "programs, 0 to %d)",
                             spec->text, program, s->o->criteria->n, s->o->criteria->n - 1);
    int r = cases_find(s, map, spec, program, &c, &first, err);
    if (r < 0)
        return ACC_ERR_RUNTIME;
    if (r == 1)
        return cases_push(cases, n, cap, &c, spec, err);
    if (r == 2)
        return cases_unfilled(s, spec, first, err);
    if (program >= 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--programs '%s': no shape with batch %s and padded length %s maps "
                             "to program %d (within max batch %d, context %d, %d new tokens)",
                             spec->text, batch_text, len_text, program, s->o->max_batch,
                             s->o->max_context, s->o->new_tokens);
    return acc_error_set(err, ACC_ERR_INPUT,
                         "--programs '%s': no shape with batch %s and padded length %s maps to "
                         "any program",
                         spec->text, batch_text, len_text);
}

acc_status acc_cases_select(const acc_case_options *o, const acc_program_spec *specs, int n_specs,
                            const int32_t *const *prompts, const int *lengths, int n_prompts,
                            acc_validate_case **cases, int *n_cases, acc_error *err)
{
    *cases = NULL;
    *n_cases = 0;
    if (n_prompts < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "dataset: no prompts");
    acc_shape_map map;
    acc_status status =
        acc_shape_map_build(o->criteria, o->max_batch, o->max_context, o->new_tokens,
                            o->batch_tkv_limit, o->prioritize_large_batch, &map, err);
    if (status != ACC_OK)
        return status;
    case_sampler s = {.o = o, .prompts = prompts, .lengths = lengths, .n_prompts = n_prompts};
    s.order = acc_malloc((size_t)n_prompts * sizeof *s.order, err);
    s.used = acc_malloc((size_t)n_prompts, err);
    if (!s.order || !s.used)
        status = ACC_ERR_RUNTIME;
    if (status == ACC_OK) {
        uint64_t state = o->seed;
        for (int i = 0; i < n_prompts; i++) {
            s.order[i] = i;
            if (lengths[i] > s.longest)
                s.longest = lengths[i];
        }
        for (int i = n_prompts - 1; i > 0; i--) {
            int j = (int)(splitmix64(&state) % (uint64_t)(i + 1));
            int t = s.order[i];
            s.order[i] = s.order[j];
            s.order[j] = t;
        }
    }
    acc_program_spec every = {.kind = ACC_SPEC_EACH, .text = "*"};
    if (n_specs == 0) {
        specs = &every;
        n_specs = 1;
    }
    int cap = 0;
    for (int i = 0; status == ACC_OK && i < n_specs; i++)
        status = cases_for_spec(&s, &map, &specs[i], cases, n_cases, &cap, err);
    free(s.order);
    free(s.used);
    acc_shape_map_free(&map);
    if (status != ACC_OK) {
        acc_cases_free(*cases, *n_cases);
        *cases = NULL;
        *n_cases = 0;
    }
    return status;
}

void acc_cases_free(acc_validate_case *cases, int n)
{
    for (int i = 0; cases && i < n; i++)
        case_free(&cases[i]);
    free(cases);
}
