/*
 * cli_compile.c — `accinf compile MODEL`: builds the model's programs (a
 * prefill and a decode program per criteria entry, each with its memory
 * plan) from a criteria file or from limits, with settings composed from
 * presets and flags, and caches them by content hash.  `--list` shows the
 * cache, `--clear` empties it.  Without --criteria the derived criteria are
 * written out (--write-criteria, or beside the cache) so validate and the
 * AIU tools can use the same set.
 */
#include "cli_compile.h"
#include "cli_common.h"

#include "accinf/program.h"
#include "compile/presets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static acc_status compile_mkdirs(const char *path, acc_error *err)
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
            status =
                acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot create: %s", copy, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return status;
}

static int compile_list(const char *cache_dir, int json, acc_error *err)
{
    acc_cached_program *entries = NULL;
    int n = 0;
    acc_status st = acc_program_cache_list(cache_dir, &entries, &n, err);
    if (st != ACC_OK)
        return cli_report(err);
    if (json) {
        fputs("{\"cache_dir\":", stdout);
        cli_json_string(stdout, cache_dir, strlen(cache_dir));
        fputs(",\"programs\":[", stdout);
        for (int i = 0; i < n; i++) {
            const acc_cached_program *e = &entries[i];
            printf("%s{\"key\":\"%s\",\"valid\":%s", i ? "," : "", e->key,
                   e->valid ? "true" : "false");
            if (e->valid)
                printf(",\"graph_hash\":\"%s\",\"target\":\"%s\",\"phase\":\"%s\",\"dtype\":"
                       "\"%s\",\"id\":%d,\"batch_bucket\":%d,\"token_bucket\":%d,"
                       "\"arena_bytes\":%zu,\"kv_bytes\":%zu",
                       e->model_hash, e->target, e->phase, e->dtype, e->id, e->batch_bucket,
                       e->token_bucket, e->arena_bytes, e->kv_bytes);
            printf(",\"file_bytes\":%zu}", e->file_bytes);
        }
        fputs("]}\n", stdout);
    } else {
        printf("%s: %d cached programs\n", cache_dir, n);
        if (n)
            printf("%-12s  %-12s  %-6s  %-7s  %-5s  %3s  %-11s  %10s  %10s\n", "key", "graph",
                   "target", "phase", "dtype", "id", "bucket", "arena", "kv");
        for (int i = 0; i < n; i++) {
            const acc_cached_program *e = &entries[i];
            if (!e->valid) {
                printf("%.12s  corrupt (checksum or format); recompiled on next use\n", e->key);
                continue;
            }
            char bucket[32];
            snprintf(bucket, sizeof bucket, "%dx%d", e->batch_bucket, e->token_bucket);
            printf("%.12s  %.12s  %-6s  %-7s  %-5s  %3d  %-11s  %8.2f M  %8.2f M\n", e->key,
                   e->model_hash, e->target, e->phase, e->dtype, e->id, bucket,
                   (double)e->arena_bytes / 1048576.0, (double)e->kv_bytes / 1048576.0);
        }
    }
    acc_program_cache_list_free(entries, n);
    return 0;
}

int cli_compile(int argc, char **argv)
{
    const char *target = NULL, *criteria_path = NULL, *presets_path = NULL, *cache_dir_arg = NULL;
    const char *write_criteria = NULL, *dtype = NULL;
    int max_batch = 0, max_context = 0, prefill_chunk = 0, threads = -1, list = 0, clear = 0;
    int json = 0;
    uint64_t batch_tkv_limit = 0;
    int limit_seen = 0;
    cli_string_list chosen = {0};
    const cli_option options[] = {
        {"target", 0, CLI_STRING, &target, "NAME", "cpu (the only target so far; default)", NULL},
        {"criteria", 0, CLI_STRING, &criteria_path, "FILE", "AIU program criteria JSON", NULL},
        {"max-batch", 0, CLI_INT, &max_batch, "N", "largest batch for derived criteria (1)", NULL},
        {"max-context", 0, CLI_INT, &max_context, "N",
         "tokens per sequence for derived criteria (the model's)", NULL},
        {"batch-tkv-limit", 0, CLI_U64, &batch_tkv_limit, "N",
         "largest batch x tkv of a step (default: none)", &limit_seen},
        {"dtype", 0, CLI_STRING, &dtype, "TYPE", "program dtype (f32)", NULL},
        {"prefill-chunk", 0, CLI_INT, &prefill_chunk, "N", "tokens per prefill step (512)", NULL},
        {"threads", 't', CLI_INT, &threads, "N", "CPU threads recorded with the programs", NULL},
        {"presets", 0, CLI_STRING, &presets_path, "FILE",
         "YAML presets (see examples/presets/cpu.yaml)", NULL},
        {"preset", 'p', CLI_STRING_LIST, &chosen, "NAME",
         "a preset from --presets; repeatable, one per group", NULL},
        {"write-criteria", 0, CLI_STRING, &write_criteria, "FILE",
         "where derived criteria go (default: CACHE/criteria/)", NULL},
        {"cache-dir", 0, CLI_STRING, &cache_dir_arg, "DIR",
         "program cache (default: $XDG_CACHE_HOME/accinf or ~/.cache/accinf)", NULL},
        {"list", 0, CLI_FLAG, &list, NULL, "list the cached programs (no MODEL)", NULL},
        {"clear", 0, CLI_FLAG, &clear, NULL, "remove the cached programs (no MODEL)", NULL},
        {"json", 0, CLI_FLAG, &json, NULL, "machine-readable output on stdout", NULL},
    };
    /* --list and --clear take no MODEL */
    int no_model = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "--clear") == 0)
            no_model = 1;
    const cli_command cmd = {
        .verb = "compile",
        .usage = "MODEL [--criteria FILE | --max-batch N --max-context N] [options]\n"
                 "       accinf compile --list | --clear",
        .summary = "Build programs: the model's graph specialised to (target, phase, batch\n"
                   "bucket, token bucket, dtype) with a memory plan each, one prefill and one\n"
                   "decode program per criteria entry, cached by SHA-256 content hash.\n"
                   "Settings come from presets (one per group, group defaults, more specific\n"
                   "combinations override) and then flags; they are printed and hashed into\n"
                   "every program's key.",
        .positional = no_model ? NULL : "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Examples:\n"
                 "  accinf compile examples/demo-model --max-batch 2\n"
                 "  accinf compile M --criteria dpp-all-criterion.json --json\n"
                 "  accinf compile M --presets examples/presets/cpu.yaml -p offline -p t2\n"
                 "  accinf compile --list\n",
    };
    acc_error err = {0};
    int help = 0;
    const char *path = NULL;
    acc_model *model = NULL;
    acc_presets *presets = NULL;
    acc_setting *settings = NULL;
    int n_settings = 0;
    acc_criteria criteria = {0};
    acc_program_set *set = NULL;
    char *cache_dir = NULL, *criteria_text = NULL, *criteria_out = NULL;
    int exit_code = 0;
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st != ACC_OK || help)
        goto done;
    cache_dir = cache_dir_arg ? acc_strdup(cache_dir_arg, &err) : acc_cache_dir_default(&err);
    if (!cache_dir) {
        st = err.status != ACC_OK ? err.status : ACC_ERR_RUNTIME;
        goto done;
    }
    if (list && clear) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--list and --clear: choose one");
        goto done;
    }
    if (list) {
        exit_code = compile_list(cache_dir, json, &err);
        goto done;
    }
    if (clear) {
        int removed = 0;
        if ((st = acc_program_cache_clear(cache_dir, &removed, &err)) == ACC_OK) {
            if (json)
                printf("{\"removed\":%d}\n", removed);
            else
                printf("%s: removed %d cached programs\n", cache_dir, removed);
        }
        goto done;
    }
    /* settings: presets first, then flags */
    if (chosen.count && !presets_path) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--preset: needs --presets FILE");
        goto done;
    }
    if (presets_path) {
        if ((st = acc_presets_load(presets_path, &presets, &err)) != ACC_OK ||
            (st = acc_presets_resolve(presets, chosen.items, chosen.count, &settings, &n_settings,
                                      &err)) != ACC_OK)
            goto done;
    }
    char number[32];
    struct {
        const char *name, *value;
    } flags[7] = {{"target", target}, {"dtype", dtype}};
    int n_flags = 2;
    if (max_batch) {
        snprintf(number, sizeof number, "%d", max_batch);
        flags[n_flags].name = "max_batch";
        flags[n_flags++].value = acc_strdup(number, &err);
    }
    if (max_context) {
        snprintf(number, sizeof number, "%d", max_context);
        flags[n_flags].name = "max_context";
        flags[n_flags++].value = acc_strdup(number, &err);
    }
    if (limit_seen) {
        snprintf(number, sizeof number, "%llu", (unsigned long long)batch_tkv_limit);
        flags[n_flags].name = "batch_tkv_limit";
        flags[n_flags++].value = acc_strdup(number, &err);
    }
    if (prefill_chunk) {
        snprintf(number, sizeof number, "%d", prefill_chunk);
        flags[n_flags].name = "prefill_chunk";
        flags[n_flags++].value = acc_strdup(number, &err);
    }
    if (threads >= 0) {
        snprintf(number, sizeof number, "%d", threads);
        flags[n_flags].name = "threads";
        flags[n_flags++].value = acc_strdup(number, &err);
    }
    for (int i = 0; i < n_flags && st == ACC_OK; i++)
        if (flags[i].value)
            st = acc_settings_set(&settings, &n_settings, flags[i].name, flags[i].value, "flag",
                                  &err);
    for (int i = 2; i < n_flags; i++)
        free((char *)flags[i].value);
    if (st != ACC_OK)
        goto done;
    if (!acc_settings_get(settings, n_settings, "target"))
        st = acc_settings_set(&settings, &n_settings, "target", "cpu", "default", &err);
    if (st == ACC_OK && !acc_settings_get(settings, n_settings, "dtype"))
        st = acc_settings_set(&settings, &n_settings, "dtype", "f32", "default", &err);
    if (st != ACC_OK)
        goto done;

    if ((st = cli_open_model(path, &model, &err)) != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    const char *v;
    int s_batch = (v = acc_settings_get(settings, n_settings, "max_batch")) ? atoi(v) : 1;
    int s_context =
        (v = acc_settings_get(settings, n_settings, "max_context")) ? atoi(v) : hp->max_position;
    int64_t s_limit =
        (v = acc_settings_get(settings, n_settings, "batch_tkv_limit")) ? atoll(v) : 0;
    int s_chunk = (v = acc_settings_get(settings, n_settings, "prefill_chunk")) ? atoi(v) : 0;
    if (s_context > hp->max_position) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "max_context: %d exceeds the model's %d positions",
                           s_context, hp->max_position);
        goto done;
    }
    if (criteria_path) {
        if ((st = acc_criteria_load(criteria_path, &criteria, &err)) != ACC_OK)
            goto done;
    } else {
        if ((st = acc_criteria_default(s_batch, s_context, s_limit, &criteria, &err)) != ACC_OK)
            goto done;
        criteria_text = acc_criteria_to_json(&criteria, &err);
        if (!criteria_text) {
            st = ACC_ERR_RUNTIME;
            goto done;
        }
        if (write_criteria) {
            criteria_out = acc_strdup(write_criteria, &err);
        } else {
            char hash[65], name[96];
            acc_sha256_hex(criteria_text, strlen(criteria_text), hash);
            snprintf(name, sizeof name, "criteria/%.16s.json", hash);
            criteria_out = acc_path_join(cache_dir, name, &err);
            char *dir = acc_path_join(cache_dir, "criteria", &err);
            st = dir ? compile_mkdirs(dir, &err) : ACC_ERR_RUNTIME;
            free(dir);
            if (st != ACC_OK)
                goto done;
        }
        if (!criteria_out || (st = acc_write_file_atomic(criteria_out, criteria_text,
                                                         strlen(criteria_text), &err)) != ACC_OK) {
            if (st == ACC_OK)
                st = ACC_ERR_RUNTIME;
            goto done;
        }
    }
    acc_compile_options co = {
        .target = acc_settings_get(settings, n_settings, "target"),
        .dtype = acc_settings_get(settings, n_settings, "dtype"),
        .criteria = &criteria,
        .batch_tkv_limit = s_limit,
        .prefill_chunk = s_chunk,
        .cache_dir = cache_dir,
        .settings = settings,
        .n_settings = n_settings,
    };
    double t0 = acc_now_seconds();
    if ((st = acc_program_set_compile(model, &co, &set, &err)) != ACC_OK)
        goto done;
    double seconds = acc_now_seconds() - t0;
    int n = acc_program_set_count(set), cached = 0;
    for (int i = 0; i < n; i++)
        cached += acc_program_set_at(set, i)->from_cache;
    if (json) {
        fputs("{\"model\":", stdout);
        cli_json_string(stdout, path, strlen(path));
        fputs(",\"settings\":{", stdout);
        for (int i = 0; i < n_settings; i++) {
            printf("%s\"%s\":{\"value\":", i ? "," : "", settings[i].name);
            cli_json_string(stdout, settings[i].value, strlen(settings[i].value));
            fputs(",\"origin\":", stdout);
            cli_json_string(stdout, settings[i].origin, strlen(settings[i].origin));
            fputc('}', stdout);
        }
        fputs("},\"criteria\":", stdout);
        const char *cpath = criteria_path ? criteria_path : criteria_out;
        cli_json_string(stdout, cpath, strlen(cpath));
        printf(",\"derived_criteria\":%s,\"cache_dir\":", criteria_path ? "false" : "true");
        cli_json_string(stdout, cache_dir, strlen(cache_dir));
        printf(",\"seconds\":");
        cli_json_double(stdout, seconds);
        printf(",\"cached\":%d,\"programs\":[", cached);
        for (int i = 0; i < n; i++) {
            const acc_program *p = acc_program_set_at(set, i);
            printf("%s{\"id\":%d,\"phase\":\"%s\",\"batch_bucket\":%d,\"token_bucket\":%d,"
                   "\"arena_bytes\":%zu,\"kv_bytes\":%zu,\"key\":\"%s\",\"from_cache\":%s}",
                   i ? "," : "", p->id, acc_phase_name(p->phase), p->batch_bucket, p->token_bucket,
                   p->arena_bytes, p->kv_bytes, p->key, p->from_cache ? "true" : "false");
        }
        fputs("]}\n", stdout);
    } else {
        printf("settings (part of every program's key):\n");
        for (int i = 0; i < n_settings; i++)
            printf("  %-16s %-10s (%s)\n", settings[i].name, settings[i].value, settings[i].origin);
        printf("criteria: %s%s (%d entries)\n", criteria_path ? criteria_path : criteria_out,
               criteria_path ? "" : " (derived, written)", criteria.n);
        printf("%3s  %-7s  %-11s  %10s  %10s  %-12s  %s\n", "id", "phase", "bucket", "arena", "kv",
               "key", "");
        for (int i = 0; i < n; i++) {
            const acc_program *p = acc_program_set_at(set, i);
            char bucket[32];
            snprintf(bucket, sizeof bucket, "%dx%d", p->batch_bucket, p->token_bucket);
            printf("%3d  %-7s  %-11s  %8.2f M  %8.2f M  %.12s  %s\n", p->id,
                   acc_phase_name(p->phase), bucket, (double)p->arena_bytes / 1048576.0,
                   (double)p->kv_bytes / 1048576.0, p->key, p->from_cache ? "cached" : "compiled");
        }
        printf("%d programs (%d from the cache) in %.3f s; cache: %s\n", n, cached, seconds,
               cache_dir);
    }

done:
    acc_program_set_free(set);
    acc_criteria_free(&criteria);
    acc_settings_free(settings, n_settings);
    acc_presets_free(presets);
    cli_string_list_free(&chosen);
    free(cache_dir);
    free(criteria_text);
    free(criteria_out);
    if (model)
        acc_model_close(model);
    if (st != ACC_OK)
        return cli_report(&err);
    return exit_code;
}
