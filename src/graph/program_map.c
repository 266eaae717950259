/*
 * program_map.c — the pure mapping from a step shape to a program, as the
 * AIU paged-programs driver defines it: feasibility, padded-area cost,
 * cheapest wins with ties to the larger batch granularity; the program
 * sequence of a padded prompt over its decode steps (tkv = L + 64i + 1);
 * and the map of every feasible (batch, padded length) shape.
 *
 * Unlike the driver, the shape list is ordered and never shuffled, so
 * --prioritize-large-batch-sizes really puts large batches first.
 */
#include "accinf/program.h"

#include <stdlib.h>
#include <string.h>

int acc_program_feasible(const acc_program_criteria *p, int batch, int tkv, int64_t batch_tkv_limit)
{
    if (batch < 1 || tkv < 1)
        return 0;
    if (batch_tkv_limit > 0 && (int64_t)batch * tkv > batch_tkv_limit)
        return 0;
    return batch <= p->max_batch && tkv <= p->max_tkv;
}

static int64_t round_up(int64_t value, int64_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

int64_t acc_program_padding(const acc_program_criteria *p, int batch, int tkv)
{
    return round_up(batch, p->batch_granularity) * round_up(tkv, p->tkv_granularity) -
           (int64_t)batch * tkv;
}

int acc_program_pick(const acc_criteria *c, int batch, int tkv, int64_t batch_tkv_limit)
{
    int best = -1;
    int64_t best_padding = 0;
    for (int i = 0; i < c->n; i++) {
        const acc_program_criteria *p = &c->programs[i];
        if (!acc_program_feasible(p, batch, tkv, batch_tkv_limit))
            continue;
        int64_t padding = acc_program_padding(p, batch, tkv);
        if (best < 0 || padding < best_padding ||
            (padding == best_padding &&
             p->batch_granularity > c->programs[best].batch_granularity)) {
            best = i;
            best_padding = padding;
        }
    }
    return best;
}

int acc_program_steps(int new_tokens)
{
    if (new_tokens < 1)
        return 1;
    return (new_tokens - 1) / ACC_PROGRAM_PAD_MULTIPLE + 1;
}

int acc_program_sequence(const acc_criteria *c, int batch, int padded_len, int new_tokens,
                         int64_t batch_tkv_limit, int *programs)
{
    int steps = acc_program_steps(new_tokens);
    for (int i = 0; i < steps; i++) {
        int64_t tkv = (int64_t)padded_len + (int64_t)ACC_PROGRAM_PAD_MULTIPLE * i + 1;
        programs[i] = tkv > 0x7FFFFFFF ? -1 : acc_program_pick(c, batch, (int)tkv, batch_tkv_limit);
        if (programs[i] < 0)
            return -1;
    }
    return 0;
}

acc_status acc_shape_map_build(const acc_criteria *c, int max_batch, int max_context,
                               int new_tokens, int64_t batch_tkv_limit, int prioritize_large_batch,
                               acc_shape_map *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    if (max_batch < 1 || max_batch > 4096)
        return acc_error_set(err, ACC_ERR_INPUT, "max batch: %d (1 to 4096 allowed)", max_batch);
    if (max_context < 1 || max_context > (1 << 24))
        return acc_error_set(err, ACC_ERR_INPUT, "max context: %d (1 to %d allowed)", max_context,
                             1 << 24);
    if (new_tokens < 1 || new_tokens >= max_context)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "max new tokens: %d (1 to %d allowed by the context of %d)",
                             new_tokens, max_context - 1, max_context);
    int steps = acc_program_steps(new_tokens);
    /* L in range(64, max_context - new_tokens, 64), as the driver */
    int n_lengths = 0;
    for (int L = ACC_PROGRAM_PAD_MULTIPLE; L < max_context - new_tokens;
         L += ACC_PROGRAM_PAD_MULTIPLE)
        n_lengths++;
    size_t cap = (size_t)max_batch * (size_t)(n_lengths > 0 ? n_lengths : 1);
    out->shapes = acc_calloc(cap, sizeof *out->shapes, err);
    int *sequence = acc_malloc((size_t)steps * sizeof *sequence, err);
    if (!out->shapes || !sequence) {
        free(sequence);
        acc_shape_map_free(out);
        return ACC_ERR_RUNTIME;
    }
    out->n_steps = steps;
    for (int k = 0; k < max_batch; k++) {
        int batch = prioritize_large_batch ? max_batch - k : k + 1;
        for (int i = 0; i < n_lengths; i++) {
            int L = ACC_PROGRAM_PAD_MULTIPLE * (i + 1);
            if (acc_program_sequence(c, batch, L, new_tokens, batch_tkv_limit, sequence) != 0)
                continue;
            acc_program_shape *shape = &out->shapes[out->n];
            shape->programs = acc_malloc((size_t)steps * sizeof *shape->programs, err);
            if (!shape->programs) {
                free(sequence);
                acc_shape_map_free(out);
                return ACC_ERR_RUNTIME;
            }
            memcpy(shape->programs, sequence, (size_t)steps * sizeof *sequence);
            shape->batch = batch;
            shape->prompt_len = L;
            out->n++;
        }
    }
    free(sequence);
    return ACC_OK;
}

void acc_shape_map_free(acc_shape_map *map)
{
    if (map->shapes)
        for (int i = 0; i < map->n; i++)
            free(map->shapes[i].programs);
    free(map->shapes);
    memset(map, 0, sizeof *map);
}
