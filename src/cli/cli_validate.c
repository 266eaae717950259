/*
 * cli_validate.c — `accinf validate MODEL`: selects (program, batch, padded
 * prompt length) cases from a program-criteria file and a dataset, runs the
 * fp32 CPU reference (or loads it from the reference store) and the
 * candidate (the model through its compiled programs, with its own thread
 * count or a deliberately perturbed layer), and judges each case by the
 * teacher-forced top-k cross entropy.  Exit 1 when any case fails.
 */
#include "cli_validate.h"
#include "cli_common.h"

#include "accinf/engine.h"
#include "accinf/program.h"
#include "accinf/validate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct validate_args {
    const char *model_path, *reference_path, *criteria_path, *dataset_type, *dataset_path;
    const char *test_type, *reference_dir, *emulate_weights;
    const char *device; /* the candidate's device; the reference is always the fp32 CPU */
    cli_string_list programs;
    int max_batch, max_context, max_new_tokens, threads, reference_threads, top_k;
    int min_prompt_len, perturb_layer, perturb_layer_seen;
    uint64_t batch_tkv_limit, seed;
    float ce_threshold, failure_rate_threshold, perturb_scale;
    float min_argmax; /* 0: off; else a case fails below this greedy-token agreement */
    int save_reference, homogeneous, prioritize_large, dry_run, json;
} validate_args;

typedef struct case_result {
    const char *reference_source; /* "computed", "loaded", "recomputed" */
    double reference_seconds, candidate_seconds;
    acc_case_stats stats;
    int argmax_match;
    double *ce;                /* metrics mode: [batch][new_tokens] */
    int32_t *candidate_tokens; /* tokens mode */
    int *engine_programs;      /* criteria id of each step's program */
} case_result;

static acc_status validate_mkdirs(const char *path, acc_error *err)
{
    char *copy = acc_strdup(path, err);
    if (!copy)
        return ACC_ERR_RUNTIME;
    acc_status status = ACC_OK;
    for (char *p = copy + 1; status == ACC_OK; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            status = acc_error_set(err, ACC_ERR_INPUT, "--reference-dir: %s: cannot create: %s",
                                   copy, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return status;
}

/* Every --programs argument may hold several specs separated by spaces. */
static acc_status validate_parse_specs(const cli_string_list *list, acc_program_spec **specs,
                                       int *n, acc_error *err)
{
    *specs = NULL;
    *n = 0;
    int cap = 0;
    for (int i = 0; i < list->count; i++) {
        const char *p = list->items[i];
        while (*p) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p)
                break;
            size_t len = strcspn(p, " \t");
            char word[128];
            if (len >= sizeof word)
                return acc_error_set(err, ACC_ERR_INPUT, "--programs: '%.40s...' is too long", p);
            memcpy(word, p, len);
            word[len] = '\0';
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                acc_program_spec *grown = realloc(*specs, (size_t)cap * sizeof *grown);
                if (!grown)
                    return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
                *specs = grown;
            }
            acc_status st = acc_program_spec_parse(word, &(*specs)[*n], err);
            if (st != ACC_OK)
                return st;
            (*n)++;
            p += len;
        }
    }
    return ACC_OK;
}

static acc_status validate_tokenize(const acc_model *model, const acc_dataset *d, int32_t ***ids,
                                    int **lengths, acc_error *err)
{
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    if (!tok)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: no tokenizer.json to tokenize the dataset",
                             acc_model_path(model));
    int vocab = acc_model_hparams(model)->vocab_size;
    *ids = acc_calloc((size_t)d->n, sizeof **ids, err);
    *lengths = acc_calloc((size_t)d->n, sizeof **lengths, err);
    if (!*ids || !*lengths)
        return ACC_ERR_RUNTIME;
    for (int i = 0; i < d->n; i++) {
        size_t n = 0;
        acc_status st =
            acc_tokenizer_encode(tok, d->prompts[i], d->sizes[i], 1, &(*ids)[i], &n, err);
        if (st != ACC_OK)
            return acc_error_wrap(err, "dataset prompt %d", i);
        for (size_t t = 0; t < n; t++)
            if ((*ids)[i][t] < 0 || (*ids)[i][t] >= vocab)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "dataset prompt %d: token id %d is outside the vocabulary "
                                     "of %d",
                                     i, (*ids)[i][t], vocab);
        (*lengths)[i] = n > 0x7FFFFFF ? 0x7FFFFFF : (int)n;
    }
    return ACC_OK;
}

static void print_dry_run(const acc_validate_case *cases, int n, int json)
{
    if (json) {
        fputc('[', stdout);
        for (int i = 0; i < n; i++)
            printf("%s{\"program\":%d,\"batch\":%d,\"prompt_len\":%d}", i ? "," : "",
                   cases[i].program, cases[i].batch, cases[i].prompt_len);
        fputs("]\n", stdout);
        return;
    }
    printf("%-4s  %-14s  %7s  %5s  %10s  %s\n", "case", "spec", "program", "batch", "prompt_len",
           "program sequence");
    for (int i = 0; i < n; i++) {
        printf("%-4d  %-14s  %7d  %5d  %10d  ", i, cases[i].spec, cases[i].program, cases[i].batch,
               cases[i].prompt_len);
        for (int s = 0; s < cases[i].n_steps; s++)
            printf("%s%d", s ? "," : "", cases[i].programs[s]);
        fputc('\n', stdout);
    }
}

static void json_int_array(FILE *out, const int *v, int n)
{
    fputc('[', out);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%d", i ? "," : "", v[i]);
    fputc(']', out);
}

static void print_tokens_side_by_side(const acc_model *model, const acc_validate_case *c,
                                      const acc_reference *ref, const int32_t *cand)
{
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    for (int s = 0; s < c->batch; s++) {
        printf("  sequence %d (prompt of %d tokens)\n", s, c->prompt_lengths[s]);
        printf("    %4s  %8s %-22s  %8s %-22s\n", "step", "ref id", "reference", "cand id",
               "candidate");
        for (int t = 0; t < ref->new_tokens; t++) {
            int32_t a = ref->tokens[(size_t)s * ref->new_tokens + t];
            int32_t b = cand[(size_t)s * ref->new_tokens + t];
            const char *ta = tok ? acc_tokenizer_token_text(tok, a) : NULL;
            const char *tb = tok ? acc_tokenizer_token_text(tok, b) : NULL;
            printf("    %4d  %8d %-22.22s  %8d %-22.22s%s\n", t, (int)a, ta ? ta : "", (int)b,
                   tb ? tb : "", a == b ? "" : "  <- differs");
        }
    }
}

static char *reference_file(const char *dir, const char *key, acc_error *err)
{
    char name[80];
    snprintf(name, sizeof name, "%s.ref.json", key);
    return acc_path_join(dir, name, err);
}

int cli_validate(int argc, char **argv)
{
    validate_args a = {.max_new_tokens = 8,
                       .top_k = 20,
                       .min_prompt_len = 32,
                       .ce_threshold = 0,
                       .failure_rate_threshold = 0.1f,
                       .dataset_type = "sharegpt",
                       .test_type = "metrics"};
    const cli_option options[] = {
        {"reference", 0, CLI_STRING, &a.reference_path, "REF",
         "fp32 reference model (HF directory; default: MODEL itself)", NULL},
        {"criteria", 0, CLI_STRING, &a.criteria_path, "FILE",
         "AIU program criteria JSON (default: derived from --max-batch/--max-context)", NULL},
        {"max-batch", 0, CLI_INT, &a.max_batch, "N",
         "largest batch (default: 2, or the criteria's largest)", NULL},
        {"max-context", 0, CLI_INT, &a.max_context, "N",
         "tokens per sequence, prompt + new (default: the model's, at most the criteria's "
         "largest tkv)",
         NULL},
        {"batch-tkv-limit", 0, CLI_U64, &a.batch_tkv_limit, "N",
         "largest batch x tkv a step may have (default: none)", NULL},
        {"programs", 0, CLI_STRING_LIST, &a.programs, "SPEC",
         "<id|*|?>[:<batch>,<len>], constraints N (>=N), <N, >N, <=N, >=N, ==N; repeatable "
         "(default: *)",
         NULL},
        {"dataset-type", 0, CLI_STRING, &a.dataset_type, "TYPE",
         "sharegpt (default), rag_factoid or custom (a directory of prompt files)", NULL},
        {"dataset", 0, CLI_STRING, &a.dataset_path, "PATH", "the prompts", NULL},
        {"max-new-tokens", 'n', CLI_INT, &a.max_new_tokens, "N", "tokens per sequence (8)", NULL},
        {"test-type", 0, CLI_STRING, &a.test_type, "TYPE",
         "metrics (teacher-forced cross entropy; default) or tokens (side by side)", NULL},
        {"cross-entropy-threshold", 0, CLI_FLOAT, &a.ce_threshold, "X",
         "a token fails when its top-k cross entropy >= X (default: ln(top-k) + 0.05, "
         "3.046 for top-20)",
         NULL},
        {"failure-rate-threshold", 0, CLI_FLOAT, &a.failure_rate_threshold, "Y",
         "a case fails when its failure rate > Y (0.1)", NULL},
        {"min-argmax-agreement", 0, CLI_FLOAT, &a.min_argmax, "A",
         "also fail a case when fewer than A of its tokens have the reference's argmax "
         "(0 = off, the default; see docs/VALIDATION.md)",
         NULL},
        {"save-reference", 0, CLI_FLAG, &a.save_reference, NULL,
         "store computed references in --reference-dir", NULL},
        {"reference-dir", 0, CLI_STRING, &a.reference_dir, "DIR",
         "reference store (default: $XDG_CACHE_HOME/accinf/references)", NULL},
        {"enforce-homogeneous-prompt-programs", 0, CLI_FLAG, &a.homogeneous, NULL,
         "pad every prompt of a batch to a size of the same program", NULL},
        {"prioritize-large-batch-sizes", 0, CLI_FLAG, &a.prioritize_large, NULL,
         "try the largest batches first", NULL},
        {"dry-run", 0, CLI_FLAG, &a.dry_run, NULL, "print the selected cases and stop", NULL},
        {"json", 0, CLI_FLAG, &a.json, NULL, "machine-readable output on stdout", NULL},
        {"threads", 't', CLI_INT, &a.threads, "N", "candidate CPU threads (0: all cores)", NULL},
        {"device", 0, CLI_STRING, &a.device, "NAME",
         "candidate device (cpu, cuda, cuda-f32 where built; default cpu); the reference "
         "always runs on the CPU in f32",
         NULL},
        {"reference-threads", 0, CLI_INT, &a.reference_threads, "N",
         "reference CPU threads (0: all cores)", NULL},
        {"top-k", 0, CLI_INT, &a.top_k, "K", "reference logits kept and compared (20)", NULL},
        {"seed", 0, CLI_U64, &a.seed, "S", "order in which prompts are tried (0)", NULL},
        {"min-prompt-length", 0, CLI_INT, &a.min_prompt_len, "N",
         "shortest prompt ever used (32, as the driver)", NULL},
        {"perturb-layer", 0, CLI_INT, &a.perturb_layer, "N",
         "debug: perturb layer N's output projection in the candidate (it must fail)",
         &a.perturb_layer_seen},
        {"emulate-weights", 0, CLI_STRING, &a.emulate_weights, "TYPE",
         "debug: candidate's matmul weights round-tripped through a ggml type (f16, q8_0, q4_K ..)",
         NULL},
        {"perturb-scale", 0, CLI_FLOAT, &a.perturb_scale, "X",
         "debug: relative size of the perturbation (20)", NULL},
    };
    const cli_command cmd = {
        .verb = "validate",
        .usage = "MODEL --dataset PATH [options]",
        .summary = "Validate MODEL, run through its compiled programs, against the fp32 CPU\n"
                   "reference, program by program, as the AIU paged-programs driver does.\n"
                   "Metrics mode is teacher forced: per generated token, the cross entropy\n"
                   "between the reference's top-k log-softmax and the candidate's softmax at\n"
                   "the same ids.  Exit 1 when any case fails.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Examples:\n"
                 "  accinf validate examples/demo-model --dataset prompts.json --programs '*'\n"
                 "  accinf validate M --dataset d.jsonl --dataset-type rag_factoid \\\n"
                 "      --criteria programs.json --programs 3:2,>=128 --save-reference\n"
                 "  accinf validate M --dataset dir --dataset-type custom --dry-run --json\n",
    };
    acc_error err = {0};
    int help = 0;
    acc_model *model = NULL, *ref_model = NULL;
    acc_program_spec *specs = NULL;
    int n_specs = 0;
    acc_criteria criteria = {0};
    acc_dataset dataset = {0};
    int32_t **prompt_ids = NULL;
    int *prompt_lengths = NULL;
    acc_validate_case *cases = NULL;
    int n_cases = 0;
    acc_program_set *programs = NULL;
    acc_engine *ref_engine = NULL, *cand_engine = NULL;
    case_result *results = NULL;
    acc_reference *refs = NULL;
    char *reference_dir = NULL;
    int any_failed = 0;
    acc_status st = cli_parse(&cmd, argc, argv, &a.model_path, &help, &err);
    if (st != ACC_OK || help)
        goto done;
    int metrics = strcmp(a.test_type, "metrics") == 0;
    if (!metrics && strcmp(a.test_type, "tokens") != 0) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--test-type: '%s' (want metrics or tokens)",
                           a.test_type);
        goto done;
    }
    acc_dataset_type dtype;
    if ((st = acc_dataset_type_parse(a.dataset_type, &dtype, &err)) != ACC_OK)
        goto done;
    if (!a.dataset_path) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--dataset: missing (the prompts to validate on)");
        goto done;
    }
    if (a.max_new_tokens < 1 || a.top_k < 1 || a.threads < 0 || a.reference_threads < 0 ||
        a.max_batch < 0 || a.max_context < 0 || a.min_prompt_len < 1) {
        st = acc_error_set(&err, ACC_ERR_INPUT,
                           "--max-new-tokens, --top-k, --min-prompt-length must be >= 1 and "
                           "--threads, --max-batch, --max-context >= 0");
        goto done;
    }
    /* CE of a candidate identical to the reference is the entropy of its
     * top-k distribution, at most ln(k): a threshold below that fails the
     * reference against itself (docs/VALIDATION.md) */
    if (a.ce_threshold == 0 && a.top_k >= 1)
        a.ce_threshold = (float)(log((double)a.top_k) + 0.05);
    if (!(a.ce_threshold > 0) || a.failure_rate_threshold < 0 || a.failure_rate_threshold > 1 ||
        !(a.min_argmax >= 0 && a.min_argmax <= 1)) {
        st = acc_error_set(&err, ACC_ERR_INPUT,
                           "--cross-entropy-threshold must be > 0 and --failure-rate-threshold "
                           "and --min-argmax-agreement in [0, 1]");
        goto done;
    }
    if ((st = validate_parse_specs(&a.programs, &specs, &n_specs, &err)) != ACC_OK)
        goto done;
    if (a.criteria_path && (st = acc_criteria_load(a.criteria_path, &criteria, &err)) != ACC_OK)
        goto done;
    if ((st = acc_dataset_load(dtype, a.dataset_path, &dataset, &err)) != ACC_OK)
        goto done;
    if ((st = cli_open_model(a.model_path, &model, &err)) != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    /* limits */
    int largest_batch = 2, largest_tkv = hp->max_position;
    if (criteria.n) {
        largest_batch = 1;
        largest_tkv = 0;
        for (int i = 0; i < criteria.n; i++) {
            if (criteria.programs[i].max_batch > largest_batch)
                largest_batch = criteria.programs[i].max_batch;
            if (criteria.programs[i].max_tkv > largest_tkv)
                largest_tkv = criteria.programs[i].max_tkv;
        }
    }
    int max_batch = a.max_batch ? a.max_batch : largest_batch;
    int max_context = a.max_context
                          ? a.max_context
                          : (largest_tkv < hp->max_position ? largest_tkv : hp->max_position);
    if (max_context > hp->max_position) {
        st =
            acc_error_set(&err, ACC_ERR_INPUT, "--max-context: %d exceeds the model's %d positions",
                          max_context, hp->max_position);
        goto done;
    }
    if (!criteria.n &&
        (st = acc_criteria_default(max_batch, max_context, (int64_t)a.batch_tkv_limit, &criteria,
                                   &err)) != ACC_OK)
        goto done;
    if ((st = validate_tokenize(model, &dataset, &prompt_ids, &prompt_lengths, &err)) != ACC_OK)
        goto done;
    acc_case_options co = {
        .criteria = &criteria,
        .max_batch = max_batch,
        .max_context = max_context,
        .new_tokens = a.max_new_tokens,
        .batch_tkv_limit = (int64_t)a.batch_tkv_limit,
        .prioritize_large_batch = a.prioritize_large,
        .enforce_homogeneous = a.homogeneous,
        .allow_truncation = dtype != ACC_DATASET_RAG_FACTOID,
        .min_prompt_len = a.min_prompt_len,
        .seed = a.seed,
    };
    st = acc_cases_select(&co, specs, n_specs, (const int32_t *const *)prompt_ids, prompt_lengths,
                          dataset.n, &cases, &n_cases, &err);
    if (st != ACC_OK)
        goto done;
    if (a.dry_run) {
        print_dry_run(cases, n_cases, a.json);
        goto done;
    }

    /* the reference model and the reference store */
    if (a.reference_path && strcmp(a.reference_path, a.model_path) != 0) {
        if ((st = cli_open_model(a.reference_path, &ref_model, &err)) != ACC_OK)
            goto done;
        if (acc_model_hparams(ref_model)->vocab_size != hp->vocab_size) {
            st = acc_error_set(&err, ACC_ERR_INPUT, "--reference: vocabulary of %d, MODEL has %d",
                               acc_model_hparams(ref_model)->vocab_size, hp->vocab_size);
            goto done;
        }
    }
    const acc_model *reference = ref_model ? ref_model : model;
    char model_hash[65];
    if ((st = acc_model_content_hash(reference, model_hash, &err)) != ACC_OK)
        goto done;
    if (a.reference_dir) {
        reference_dir = acc_strdup(a.reference_dir, &err);
    } else {
        char *cache = acc_cache_dir_default(&err);
        reference_dir = cache ? acc_path_join(cache, "references", &err) : NULL;
        free(cache);
    }
    if (!reference_dir) {
        st = err.status != ACC_OK ? err.status : ACC_ERR_RUNTIME;
        goto done;
    }
    if (a.save_reference && (st = validate_mkdirs(reference_dir, &err)) != ACC_OK)
        goto done;

    /* engines: sized for the largest case */
    int need_seqs = 1, need_context = 1;
    for (int i = 0; i < n_cases; i++) {
        if (cases[i].batch > need_seqs)
            need_seqs = cases[i].batch;
        if (cases[i].prompt_len + a.max_new_tokens > need_context)
            need_context = cases[i].prompt_len + a.max_new_tokens;
    }
    acc_compile_options compile = {.target = "cpu",
                                   .dtype = "f32",
                                   .criteria = &criteria,
                                   .batch_tkv_limit = (int64_t)a.batch_tkv_limit,
                                   .no_cache = 1};
    if ((st = acc_program_set_compile(model, &compile, &programs, &err)) != ACC_OK)
        goto done;
    acc_engine_options ref_options = {
        .threads = a.reference_threads, .max_context = need_context, .max_sequences = need_seqs};
    acc_engine_options cand_options = {.device = a.device,
                                       .threads = a.threads,
                                       .max_context = need_context,
                                       .max_sequences = need_seqs,
                                       .programs = programs,
                                       .debug_perturb = a.perturb_layer_seen,
                                       .debug_perturb_layer = a.perturb_layer,
                                       .debug_perturb_scale = a.perturb_scale,
                                       .debug_weight_type = a.emulate_weights};
    if ((st = acc_engine_create(reference, &ref_options, &ref_engine, &err)) != ACC_OK ||
        (st = acc_engine_create(model, &cand_options, &cand_engine, &err)) != ACC_OK)
        goto done;

    results = acc_calloc((size_t)n_cases, sizeof *results, &err);
    refs = acc_calloc((size_t)n_cases, sizeof *refs, &err);
    if (!results || !refs) {
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    double total_ref = 0, total_cand = 0;
    for (int i = 0; i < n_cases; i++) {
        acc_validate_case *c = &cases[i];
        case_result *r = &results[i];
        int n = c->batch * a.max_new_tokens;
        char key[65];
        acc_reference_key(model_hash, c, a.max_new_tokens, a.top_k, key);
        char *path = reference_file(reference_dir, key, &err);
        if (!path) {
            st = ACC_ERR_RUNTIME;
            goto done;
        }
        double t0 = acc_now_seconds();
        r->reference_source = "computed";
        if (acc_path_exists(path)) {
            acc_error load_err = {0};
            if (acc_reference_load(path, key, c->batch, a.max_new_tokens, a.top_k, &refs[i],
                                   &load_err) == ACC_OK) {
                r->reference_source = "loaded";
            } else {
                r->reference_source = "recomputed";
                fprintf(stderr, "accinf: warning: %s; computing it again\n", load_err.message);
            }
        }
        if (strcmp(r->reference_source, "loaded") != 0) {
            st = acc_validate_run_reference(ref_engine, c, a.max_new_tokens, a.top_k, &refs[i],
                                            NULL, &err);
            if (st == ACC_OK && a.save_reference)
                st = acc_reference_save(path, key, &refs[i], &err);
        }
        free(path);
        if (st != ACC_OK)
            goto done;
        double t1 = acc_now_seconds();
        r->reference_seconds = t1 - t0;
        r->engine_programs =
            acc_malloc((size_t)a.max_new_tokens * sizeof *r->engine_programs, &err);
        double *ce = acc_malloc((size_t)n * sizeof *ce, &err);
        int32_t *argmax = acc_malloc((size_t)n * sizeof *argmax, &err);
        r->candidate_tokens = acc_malloc((size_t)n * sizeof *r->candidate_tokens, &err);
        if (!r->engine_programs || !ce || !argmax || !r->candidate_tokens) {
            free(ce);
            free(argmax);
            st = ACC_ERR_RUNTIME;
            goto done;
        }
        if (metrics)
            st = acc_validate_run_metrics(cand_engine, c, &refs[i], ce, argmax, r->engine_programs,
                                          &err);
        else
            st = acc_validate_run_tokens(cand_engine, c, a.max_new_tokens, r->candidate_tokens,
                                         r->engine_programs, &err);
        for (int s = 0; st == ACC_OK && s < a.max_new_tokens; s++) {
            const acc_program *p = acc_program_set_at(programs, r->engine_programs[s]);
            r->engine_programs[s] = p ? p->id : -1;
        }
        if (st == ACC_OK && metrics) {
            st = acc_case_stats_compute(ce, n, a.ce_threshold, a.failure_rate_threshold, &r->stats,
                                        &err);
            for (int k = 0; k < n; k++)
                r->argmax_match += argmax[k] == refs[i].tokens[k];
            /* CE saturates near ln(k) (docs/VALIDATION.md): greedy-token
             * agreement is the optional criterion that separates degraded
             * quantizations */
            if (st == ACC_OK && (double)r->argmax_match < (double)a.min_argmax * n)
                r->stats.passed = 0;
        }
        r->ce = ce;
        free(argmax);
        if (st != ACC_OK)
            goto done;
        r->candidate_seconds = acc_now_seconds() - t1;
        total_ref += r->reference_seconds;
        total_cand += r->candidate_seconds;
        if (metrics && !r->stats.passed)
            any_failed = 1;
    }

    if (a.json) {
        printf("{\"model\":");
        cli_json_string(stdout, a.model_path, strlen(a.model_path));
        printf(",\"reference_model\":");
        const char *ref_path = a.reference_path ? a.reference_path : a.model_path;
        cli_json_string(stdout, ref_path, strlen(ref_path));
        printf(",\"test_type\":\"%s\",\"max_new_tokens\":%d,\"top_k\":%d,"
               "\"thresholds\":{\"cross_entropy\":",
               a.test_type, a.max_new_tokens, a.top_k);
        cli_json_double(stdout, a.ce_threshold);
        printf(",\"failure_rate\":");
        cli_json_double(stdout, a.failure_rate_threshold);
        printf(",\"argmax_agreement\":");
        cli_json_double(stdout, a.min_argmax);
        printf("},\"device\":\"%s\",\"threads\":%d,\"reference_threads\":%d,\"cases\":[",
               a.device ? a.device : "cpu", acc_engine_threads(cand_engine),
               acc_engine_threads(ref_engine));
        for (int i = 0; i < n_cases; i++) {
            const acc_validate_case *c = &cases[i];
            const case_result *r = &results[i];
            printf("%s{\"spec\":", i ? "," : "");
            cli_json_string(stdout, c->spec, strlen(c->spec));
            printf(",\"program\":%d,\"batch\":%d,\"prompt_len\":%d,\"programs\":", c->program,
                   c->batch, c->prompt_len);
            json_int_array(stdout, c->programs, c->n_steps);
            printf(",\"engine_prefill_program\":%d,\"engine_decode_programs\":",
                   r->engine_programs[0]);
            json_int_array(stdout, r->engine_programs + 1, a.max_new_tokens - 1);
            printf(",\"prompt_lengths\":");
            json_int_array(stdout, c->prompt_lengths, c->batch);
            printf(",\"reference\":\"%s\",\"reference_seconds\":", r->reference_source);
            cli_json_double(stdout, r->reference_seconds);
            printf(",\"candidate_seconds\":");
            cli_json_double(stdout, r->candidate_seconds);
            if (metrics) {
                printf(",\"tokens\":%d,\"failures\":%d,\"failure_rate\":", r->stats.tokens,
                       r->stats.failures);
                cli_json_double(stdout, r->stats.failure_rate);
                printf(",\"mean_ce\":");
                cli_json_double(stdout, r->stats.mean_ce);
                printf(",\"p99_ce\":");
                cli_json_double(stdout, r->stats.p99_ce);
                printf(",\"max_ce\":");
                cli_json_double(stdout, r->stats.max_ce);
                printf(",\"argmax_match\":%d,\"passed\":%s,\"ce\":[", r->argmax_match,
                       r->stats.passed ? "true" : "false");
                for (int k = 0; k < r->stats.tokens; k++) {
                    fputs(k ? "," : "", stdout);
                    cli_json_double(stdout, r->ce[k]);
                }
                fputs("]}", stdout);
            } else {
                int n = c->batch * a.max_new_tokens, same = 0;
                for (int k = 0; k < n; k++)
                    same += refs[i].tokens[k] == r->candidate_tokens[k];
                printf(",\"matching_tokens\":%d,\"reference_tokens\":[", same);
                for (int s = 0; s < c->batch; s++) {
                    fputs(s ? "," : "", stdout);
                    cli_json_ids(stdout, refs[i].tokens + (size_t)s * a.max_new_tokens,
                                 (size_t)a.max_new_tokens);
                }
                printf("],\"candidate_tokens\":[");
                for (int s = 0; s < c->batch; s++) {
                    fputs(s ? "," : "", stdout);
                    cli_json_ids(stdout, r->candidate_tokens + (size_t)s * a.max_new_tokens,
                                 (size_t)a.max_new_tokens);
                }
                printf("]}");
            }
        }
        printf("],\"reference_seconds\":");
        cli_json_double(stdout, total_ref);
        printf(",\"candidate_seconds\":");
        cli_json_double(stdout, total_cand);
        printf(",\"passed\":%s}\n", any_failed ? "false" : "true");
    } else if (metrics) {
        printf("validate %s against %s: %d cases, %d new tokens, top-%d CE >= %g fails a token, "
               "failure rate > %g fails a case\n",
               a.model_path, a.reference_path ? a.reference_path : a.model_path, n_cases,
               a.max_new_tokens, a.top_k, (double)a.ce_threshold, (double)a.failure_rate_threshold);
        if (a.min_argmax > 0)
            printf("argmax agreement < %g also fails a case\n", (double)a.min_argmax);
        printf("%-4s  %7s  %-10s  %-10s  %6s  %8s  %8s  %8s  %-10s  %s\n", "case", "program",
               "shape", "reference", "tokens", "fail", "mean CE", "p99 CE", "argmax", "result");
        for (int i = 0; i < n_cases; i++) {
            const acc_validate_case *c = &cases[i];
            const case_result *r = &results[i];
            char shape[32], match[32];
            snprintf(shape, sizeof shape, "%dx%d", c->batch, c->prompt_len);
            snprintf(match, sizeof match, "%d/%d", r->argmax_match, r->stats.tokens);
            printf("%-4d  %7d  %-10s  %-10s  %6d  %7.1f%%  %8.4f  %8.4f  %-10s  %s\n", i,
                   c->program, shape, r->reference_source, r->stats.tokens,
                   100.0 * r->stats.failure_rate, r->stats.mean_ce, r->stats.p99_ce, match,
                   r->stats.passed ? "pass" : "FAIL");
        }
        printf("reference %.3f s, candidate %.3f s; %s\n", total_ref, total_cand,
               any_failed ? "FAILED" : "all cases passed");
    } else {
        for (int i = 0; i < n_cases; i++) {
            printf("case %d: program %d, batch %d, padded prompt length %d (reference %s)\n", i,
                   cases[i].program, cases[i].batch, cases[i].prompt_len,
                   results[i].reference_source);
            print_tokens_side_by_side(model, &cases[i], &refs[i], results[i].candidate_tokens);
        }
        printf("reference %.3f s, candidate %.3f s\n", total_ref, total_cand);
    }

done:
    if (results)
        for (int i = 0; i < n_cases; i++) {
            free(results[i].candidate_tokens);
            free(results[i].engine_programs);
            free(results[i].ce);
        }
    if (refs)
        for (int i = 0; i < n_cases; i++)
            acc_reference_free(&refs[i]);
    free(results);
    free(refs);
    acc_engine_destroy(cand_engine);
    acc_engine_destroy(ref_engine);
    acc_program_set_free(programs);
    acc_cases_free(cases, n_cases);
    if (prompt_ids)
        for (int i = 0; i < dataset.n; i++)
            free(prompt_ids[i]);
    free(prompt_ids);
    free(prompt_lengths);
    acc_dataset_free(&dataset);
    acc_criteria_free(&criteria);
    free(specs);
    cli_string_list_free(&a.programs);
    free(reference_dir);
    if (ref_model)
        acc_model_close(ref_model);
    if (model)
        acc_model_close(model);
    if (st != ACC_OK)
        return cli_report(&err);
    return any_failed ? ACC_ERR_CHECK : 0;
}
