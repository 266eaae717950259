/*
 * fuzz_criteria.c — libFuzzer target for validate's parsers.  The first
 * byte picks one: program criteria JSON (then the criteria must round-trip
 * through acc_criteria_to_json and map every small shape without trouble),
 * a --programs SPEC, a ShareGPT file or a RAG-factoid JSONL file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/program.h"
#include "accinf/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_criteria(const char *text, size_t size)
{
    acc_criteria c, back;
    acc_error err;
    if (acc_criteria_parse(text, size, "fuzz", &c, &err) != ACC_OK)
        return;
    for (int i = 0; i < c.n; i++)
        if (c.programs[i].max_batch < 1 || c.programs[i].max_tkv < 1 ||
            c.programs[i].batch_granularity < 1 || c.programs[i].tkv_granularity < 1)
            abort();
    char *json = acc_criteria_to_json(&c, &err);
    if (!json || acc_criteria_parse(json, strlen(json), "back", &back, &err) != ACC_OK ||
        back.n != c.n || memcmp(back.programs, c.programs, (size_t)c.n * sizeof *c.programs))
        abort();
    free(json);
    acc_criteria_free(&back);
    acc_shape_map map;
    if (acc_shape_map_build(&c, 4, 1024, 65, 2048, 1, &map, &err) == ACC_OK) {
        for (int i = 0; i < map.n; i++)
            for (int s = 0; s < map.n_steps; s++)
                if (map.shapes[i].programs[s] < 0 || map.shapes[i].programs[s] >= c.n)
                    abort();
        acc_shape_map_free(&map);
    }
    acc_criteria_free(&c);
}

static void fuzz_spec(const char *text, size_t size)
{
    char buf[256];
    if (size >= sizeof buf)
        size = sizeof buf - 1;
    memcpy(buf, text, size);
    buf[size] = '\0';
    acc_program_spec spec;
    acc_error err;
    if (acc_program_spec_parse(buf, &spec, &err) != ACC_OK)
        return;
    if ((unsigned)spec.kind > ACC_SPEC_ANY || (unsigned)spec.batch.op > ACC_CMP_EQ ||
        (unsigned)spec.prompt_len.op > ACC_CMP_EQ || spec.batch.value < 0 ||
        spec.prompt_len.value < 0 || (spec.kind == ACC_SPEC_PROGRAM && spec.program < 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size--;
    acc_dataset d;
    acc_error err;
    switch (data[0] % 4) {
    case 0:
        fuzz_criteria(text, size);
        break;
    case 1:
        fuzz_spec(text, size);
        break;
    default:
        if (acc_dataset_parse(data[0] % 4 == 2 ? ACC_DATASET_SHAREGPT : ACC_DATASET_RAG_FACTOID,
                              text, size, "fuzz", &d, &err) == ACC_OK) {
            for (int i = 0; i < d.n; i++)
                if (strlen(d.prompts[i]) > d.sizes[i])
                    abort();
            acc_dataset_free(&d);
        }
        break;
    }
    return 0;
}
