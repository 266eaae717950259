/*
 * test_graph.c — the graph IR, the memory planner and the CPU backend on
 * synthetic weights: planner reuse and non-overlap, each op against a naive
 * loop, a small transformer block against a naive reference, paged KV with
 * scattered blocks, split steps and batches, and thread-count invariance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#include "graph/graph.h"

static uint32_t rng_state = 12345;

static float rand_float(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFF) / 65536.0f * 2.0f - 1.0f;
}

static float *rand_array(size_t n, float scale)
{
    float *a = malloc(n * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = rand_float() * scale;
    return a;
}

/* ---- planner ------------------------------------------------------------- */

static void check_plan_disjoint(const acc_graph *g, const acc_plan *plan, int64_t t, int64_t o)
{
    int n = g->n_nodes;
    int *last = malloc((size_t)n * sizeof *last);
    assert_non_null(last);
    for (int i = 0; i < n; i++)
        last[i] = i;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 3; s++)
            if (g->nodes[i].src[s] >= 0)
                last[g->nodes[i].src[s]] = i;
    for (int a = 0; a < n; a++) {
        if (plan->offsets[a] == ACC_PLAN_NONE)
            continue;
        size_t a_size = (size_t)(acc_graph_node_rows(&g->nodes[a], t, o) * g->nodes[a].cols) * 4;
        assert_true(plan->offsets[a] + a_size <= plan->arena_size);
        for (int b = a + 1; b < n; b++) {
            if (plan->offsets[b] == ACC_PLAN_NONE || b > last[a])
                continue; /* b is born after a died */
            size_t b_size =
                (size_t)(acc_graph_node_rows(&g->nodes[b], t, o) * g->nodes[b].cols) * 4;
            int disjoint = plan->offsets[a] + a_size <= plan->offsets[b] ||
                           plan->offsets[b] + b_size <= plan->offsets[a];
            assert_true(disjoint);
        }
    }
    free(last);
}

static void test_planner_reuses_memory(void **state)
{
    (void)state;
    acc_graph *g;
    acc_error err;
    assert_int_equal(acc_graph_create(&g, &err), ACC_OK);
    int table = acc_graph_weight(g, "table", 10, 64);
    int x = acc_graph_embed(g, table, ACC_EMBED_BY_TOKEN);
    for (int i = 0; i < 8; i++)
        x = acc_graph_scale(g, x, 2.0f);
    int out = acc_graph_gather_outputs(g, x);
    assert_int_equal(acc_graph_finish(g, out, &err), ACC_OK);
    acc_plan plan;
    assert_int_equal(acc_plan_memory(g, 32, 4, &plan, &err), ACC_OK);
    size_t one = 32 * 64 * 4;
    /* a chain needs two live buffers at a time, not nine */
    assert_true(plan.arena_size <= 2 * one);
    assert_true(plan.offsets[table] == ACC_PLAN_NONE);
    assert_true(plan.offsets[out] == ACC_PLAN_NONE);
    check_plan_disjoint(g, &plan, 32, 4);
    acc_plan_free(&plan);
    acc_graph_destroy(g);
}

static void test_graph_shape_errors_are_sticky(void **state)
{
    (void)state;
    acc_graph *g;
    acc_error err;
    assert_int_equal(acc_graph_create(&g, &err), ACC_OK);
    int table = acc_graph_weight(g, "table", 10, 64);
    int w = acc_graph_weight(g, "w", 8, 32); /* wrong input width */
    int x = acc_graph_embed(g, table, ACC_EMBED_BY_TOKEN);
    int y = acc_graph_matmul(g, x, w, -1);
    assert_int_equal(y, -1);
    int z = acc_graph_scale(g, y, 2.0f);
    assert_int_equal(z, -1);
    assert_int_equal(acc_graph_finish(g, z, &err), ACC_ERR_RUNTIME);
    assert_non_null(strstr(err.message, "matmul"));
    acc_graph_destroy(g);
}

/* ---- kernels against naive loops ------------------------------------------ */

static void test_kernels_against_naive(void **state)
{
    (void)state;
    enum { R = 5, IN = 37, OUT = 11 };
    float *x = rand_array(R * IN, 1.0f), *w = rand_array(OUT * IN, 1.0f);
    float *b = rand_array(OUT, 1.0f), y[R * OUT];
    acc_cpu_matmul_cols(x, R, IN, w, b, y, OUT, 0, 6);
    acc_cpu_matmul_cols(x, R, IN, w, b, y, OUT, 6, OUT);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < OUT; j++) {
            double sum = b[j];
            for (int i = 0; i < IN; i++)
                sum += (double)x[r * IN + i] * w[j * IN + i];
            assert_float_equal(y[r * OUT + j], sum, 1e-5);
        }
    /* rms norm, layer norm */
    float out[IN];
    acc_cpu_rms_norm_row(x, w, 1e-5f, out, IN);
    double ss = 0;
    for (int i = 0; i < IN; i++)
        ss += (double)x[i] * x[i];
    for (int i = 0; i < IN; i++)
        assert_float_equal(out[i], x[i] / sqrt(ss / IN + 1e-5) * w[i], 1e-5);
    acc_cpu_layer_norm_row(x, w, w + IN, 1e-5f, out, IN);
    double mean = 0, var = 0;
    for (int i = 0; i < IN; i++)
        mean += x[i];
    mean /= IN;
    for (int i = 0; i < IN; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= IN;
    for (int i = 0; i < IN; i++)
        assert_float_equal(out[i], (x[i] - mean) / sqrt(var + 1e-5) * w[i] + w[IN + i], 1e-5);
    /* gelu_new and swiglu at known points */
    float g_in[3] = {-1.0f, 0.0f, 2.0f}, g_out[3];
    acc_cpu_gelu_tanh(g_in, g_out, 0, 3);
    assert_float_equal(g_out[0], -0.15880800939172324, 1e-6);
    assert_float_equal(g_out[1], 0.0, 1e-7);
    assert_float_equal(g_out[2], 1.9545976940871754, 1e-6);
    float up[3] = {1.0f, 5.0f, 0.5f};
    acc_cpu_swiglu(g_in, up, g_out, 0, 3);
    assert_float_equal(g_out[0], -1.0 / (1.0 + exp(1.0)), 1e-6);
    assert_float_equal(g_out[2], 0.5 * 2.0 / (1.0 + exp(-2.0)), 1e-6);
    /* rope: rotate_half pairs i and i + d/2 */
    float inv_freq[2] = {1.0f, 0.01f}, r_in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, r_out[8];
    acc_cpu_rope_row(r_in, 2, 4, 3, inv_freq, r_out);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++) {
            double a = 3.0 * inv_freq[i];
            double x1 = r_in[h * 4 + i], x2 = r_in[h * 4 + i + 2];
            assert_float_equal(r_out[h * 4 + i], x1 * cos(a) - x2 * sin(a), 1e-5);
            assert_float_equal(r_out[h * 4 + i + 2], x2 * cos(a) + x1 * sin(a), 1e-5);
        }
    free(x);
    free(w);
    free(b);
}

/* ---- a transformer block end to end --------------------------------------- */

enum { VOCAB = 13, D = 32, NH = 4, NKV = 2, HD = 8, FF = 48, BS = 4, NBLOCKS = 12, CTX = 40 };

typedef struct block_model {
    acc_graph *graph;
    acc_plan plan;
    float *w[16];
    const float *bound[16];
    float inv_freq[HD / 2];
} block_model;

/* Names of the weights, in the order block_weights_shape gives them. */
static const char *const weight_names[] = {"emb", "pos", "norm", "wq", "bq", "wk", "wv", "wo",
                                           "ln_w", "ln_b", "wg", "wu", "wd", "head"};
enum { N_WEIGHTS = 14 };
static const int weight_rows[N_WEIGHTS] = {VOCAB, CTX, 0, NH * HD, 0, NKV * HD, NKV * HD, D,
                                           0, 0, FF, FF, D, VOCAB};
static const int weight_cols[N_WEIGHTS] = {D, D, D, D, NH * HD, D, D, NH * HD,
                                           D, D, D, D, FF, D};

static void block_build(block_model *m, int64_t max_tokens)
{
    acc_error err;
    acc_graph *g;
    assert_int_equal(acc_graph_create(&g, &err), ACC_OK);
    int w[N_WEIGHTS];
    for (int i = 0; i < N_WEIGHTS; i++)
        w[i] = acc_graph_weight(g, weight_names[i], weight_rows[i], weight_cols[i]);
    for (int i = 0; i < HD / 2; i++)
        m->inv_freq[i] = powf(10000.0f, -(float)(2 * i) / HD);
    acc_graph_set_rope(g, m->inv_freq, HD);
    int x = acc_graph_add(g, acc_graph_embed(g, w[0], ACC_EMBED_BY_TOKEN),
                          acc_graph_embed(g, w[1], ACC_EMBED_BY_POSITION), 1.0f);
    int n = acc_graph_rms_norm(g, x, w[2], 1e-6f);
    int q = acc_graph_rope(g, acc_graph_matmul(g, n, w[3], w[4]), NH, HD);
    int k = acc_graph_rope(g, acc_graph_matmul(g, n, w[5], -1), NKV, HD);
    int v = acc_graph_matmul(g, n, w[6], -1);
    int a = acc_graph_attention(g, q, k, v, 0, NH, NKV, HD, 1.0f / sqrtf(HD));
    x = acc_graph_add(g, x, acc_graph_matmul(g, a, w[7], -1), 0.5f);
    int h = acc_graph_layer_norm(g, x, w[8], w[9], 1e-5f);
    int f = acc_graph_swiglu(g, acc_graph_matmul(g, h, w[10], -1),
                             acc_graph_gelu_tanh(g, acc_graph_matmul(g, h, w[11], -1)));
    x = acc_graph_add(g, x, acc_graph_matmul(g, f, w[12], -1), 1.0f);
    int out = acc_graph_matmul(g, acc_graph_scale(g, acc_graph_gather_outputs(g, x), 0.5f),
                               w[13], -1);
    assert_int_equal(acc_graph_finish(g, out, &err), ACC_OK);
    assert_int_equal(g->n_layers, 1);
    assert_int_equal(g->kv_dim, NKV * HD);
    assert_int_equal(acc_plan_memory(g, max_tokens, max_tokens, &m->plan, &err), ACC_OK);
    check_plan_disjoint(g, &m->plan, max_tokens, max_tokens);
    rng_state = 777;
    for (int i = 0; i < N_WEIGHTS; i++) {
        int rows = weight_rows[i] ? weight_rows[i] : 1;
        m->w[i] = rand_array((size_t)rows * weight_cols[i], 0.5f);
        m->bound[acc_graph_find_weight(g, weight_names[i])] = m->w[i];
    }
    m->graph = g;
}

static void block_free(block_model *m)
{
    for (int i = 0; i < N_WEIGHTS; i++)
        free(m->w[i]);
    acc_plan_free(&m->plan);
    acc_graph_destroy(m->graph);
}

static acc_backend *backend_new(block_model *m, int threads)
{
    acc_backend_config config = {
        .threads = threads, .n_kv_blocks = NBLOCKS, .kv_block_size = BS, .max_context = CTX};
    const acc_backend_ops *ops = acc_backend_find("cpu");
    assert_non_null(ops);
    acc_backend *backend;
    acc_error err;
    assert_int_equal(ops->create(&config, &backend, &err), ACC_OK);
    acc_backend_weight typed[16];
    for (int i = 0; i < m->graph->n_weights; i++)
        typed[i] = (acc_backend_weight){ACC_WEIGHT_F32, m->bound[i],
                                        (size_t)m->graph->weights[i].cols * sizeof(float)};
    assert_int_equal(ops->load(backend, m->graph, &m->plan, typed, &err), ACC_OK);
    return backend;
}

/* Naive reference of the block for one sequence: logits of every position. */
static void block_reference(const block_model *m, const int32_t *ids, int n, double *logits)
{
    double *x = calloc((size_t)n * D, sizeof *x), *q = calloc((size_t)n * NH * HD, sizeof *q);
    double *k = calloc((size_t)n * NKV * HD, sizeof *k), *v = calloc((size_t)n * NKV * HD, sizeof *v);
    assert_true(x && q && k && v);
    float *const *w = m->w;
    for (int t = 0; t < n; t++) {
        double nx[D], ss = 0;
        for (int i = 0; i < D; i++) {
            x[t * D + i] = (double)w[0][ids[t] * D + i] + w[1][t * D + i];
            ss += x[t * D + i] * x[t * D + i];
        }
        for (int i = 0; i < D; i++)
            nx[i] = x[t * D + i] / sqrt(ss / D + 1e-6) * w[2][i];
        for (int j = 0; j < NH * HD; j++) {
            double s = w[4][j];
            for (int i = 0; i < D; i++)
                s += nx[i] * w[3][j * D + i];
            q[t * NH * HD + j] = s;
        }
        for (int j = 0; j < NKV * HD; j++) {
            double sk = 0, sv = 0;
            for (int i = 0; i < D; i++) {
                sk += nx[i] * w[5][j * D + i];
                sv += nx[i] * w[6][j * D + i];
            }
            k[t * NKV * HD + j] = sk;
            v[t * NKV * HD + j] = sv;
        }
        /* rope */
        for (int h = 0; h < NH + NKV; h++) {
            double *vec = h < NH ? q + t * NH * HD + h * HD : k + t * NKV * HD + (h - NH) * HD;
            for (int i = 0; i < HD / 2; i++) {
                double a = t * (double)m->inv_freq[i], x1 = vec[i], x2 = vec[i + HD / 2];
                vec[i] = x1 * cos(a) - x2 * sin(a);
                vec[i + HD / 2] = x2 * cos(a) + x1 * sin(a);
            }
        }
    }
    for (int t = 0; t < n; t++) {
        double att[NH * HD];
        for (int h = 0; h < NH; h++) {
            int kh = h / (NH / NKV);
            double p[CTX], max = -1e300, sum = 0;
            for (int j = 0; j <= t; j++) {
                double s = 0;
                for (int d = 0; d < HD; d++)
                    s += q[t * NH * HD + h * HD + d] * k[j * NKV * HD + kh * HD + d];
                p[j] = s / sqrt(HD);
                if (p[j] > max)
                    max = p[j];
            }
            for (int j = 0; j <= t; j++)
                sum += p[j] = exp(p[j] - max);
            for (int d = 0; d < HD; d++) {
                double o = 0;
                for (int j = 0; j <= t; j++)
                    o += p[j] / sum * v[j * NKV * HD + kh * HD + d];
                att[h * HD + d] = o;
            }
        }
        double *xt = x + t * D, h[D], mean = 0, var = 0, f[FF];
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int i = 0; i < NH * HD; i++)
                s += att[i] * w[7][j * NH * HD + i];
            xt[j] += 0.5 * s;
        }
        for (int i = 0; i < D; i++)
            mean += xt[i] / D;
        for (int i = 0; i < D; i++)
            var += (xt[i] - mean) * (xt[i] - mean) / D;
        for (int i = 0; i < D; i++)
            h[i] = (xt[i] - mean) / sqrt(var + 1e-5) * w[8][i] + w[9][i];
        for (int j = 0; j < FF; j++) {
            double g = 0, u = 0;
            for (int i = 0; i < D; i++) {
                g += h[i] * w[10][j * D + i];
                u += h[i] * w[11][j * D + i];
            }
            u = 0.5 * u * (1 + tanh(sqrt(2 / M_PI) * (u + 0.044715 * u * u * u)));
            f[j] = g / (1 + exp(-g)) * u;
        }
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int i = 0; i < FF; i++)
                s += f[i] * w[12][j * FF + i];
            xt[j] += s;
        }
        for (int j = 0; j < VOCAB; j++) {
            double s = 0;
            for (int i = 0; i < D; i++)
                s += 0.5 * xt[i] * w[13][j * D + i];
            logits[t * VOCAB + j] = s;
        }
    }
    free(x);
    free(q);
    free(k);
    free(v);
}

/* Runs one sequence's tokens [from, to) as one step with the given table. */
static void run_seq_step(acc_backend *backend, const int32_t *ids, int from, int to,
                         const int32_t *table, float *logits)
{
    int n = to - from;
    int32_t positions[CTX], slots[CTX], seqs[CTX], rows[CTX];
    for (int i = 0; i < n; i++) {
        int p = from + i;
        positions[i] = p;
        slots[i] = table[p / BS] * BS + p % BS;
        seqs[i] = 0;
        rows[i] = i;
    }
    const int32_t *tables[1] = {table};
    acc_step step = {.n_tokens = n, .tokens = ids + from, .positions = positions,
                     .slots = slots, .token_seq = seqs, .n_seqs = 1, .block_tables = tables,
                     .n_outputs = n, .output_rows = rows};
    acc_error err;
    assert_int_equal(backend->ops->run(backend, &step, logits, &err), ACC_OK);
}

static void test_block_matches_reference(void **state)
{
    (void)state;
    block_model m;
    memset(&m, 0, sizeof m);
    block_build(&m, CTX);
    enum { N = 11 };
    int32_t ids[N] = {1, 5, 3, 12, 0, 7, 7, 2, 9, 11, 4};
    double ref[N * VOCAB];
    block_reference(&m, ids, N, ref);
    /* scattered blocks: positions 0-3 in block 7, 4-7 in block 2, 8-10 in block 9 */
    const int32_t table[3] = {7, 2, 9};

    float all_1[N * VOCAB], all_3[N * VOCAB], split[N * VOCAB];
    acc_backend *one = backend_new(&m, 1);
    run_seq_step(one, ids, 0, N, table, all_1);
    for (int i = 0; i < N * VOCAB; i++)
        assert_float_equal(all_1[i], ref[i], 1e-4 * fmax(1.0, fabs(ref[i])));
    one->ops->destroy(one);

    acc_backend *three = backend_new(&m, 3);
    run_seq_step(three, ids, 0, N, table, all_3);
    assert_memory_equal(all_1, all_3, sizeof all_1); /* thread count changes no bit */
    /* the same sequence fed as 6 + 1 + 4 tokens, reusing the cache */
    run_seq_step(three, ids, 0, 6, table, split);
    run_seq_step(three, ids, 6, 7, table, split + 6 * VOCAB);
    run_seq_step(three, ids, 7, N, table, split + 7 * VOCAB);
    for (int i = 0; i < N * VOCAB; i++)
        assert_float_equal(split[i], ref[i], 1e-4 * fmax(1.0, fabs(ref[i])));
    three->ops->destroy(three);
    block_free(&m);
}

static void test_batch_of_two_sequences(void **state)
{
    (void)state;
    block_model m;
    memset(&m, 0, sizeof m);
    block_build(&m, CTX);
    int32_t a[5] = {3, 1, 4, 1, 5}, b[7] = {9, 2, 6, 5, 3, 5, 8};
    double ref_a[5 * VOCAB], ref_b[7 * VOCAB];
    block_reference(&m, a, 5, ref_a);
    block_reference(&m, b, 7, ref_b);
    const int32_t table_a[2] = {4, 0}, table_b[2] = {1, 10};
    /* interleaved tokens of the two sequences in one step; outputs = last of each */
    int32_t tokens[12], positions[12], slots[12], seqs[12], rows[2];
    int n = 0, ia = 0, ib = 0;
    while (ia < 5 || ib < 7) {
        int take_a = ia < 5 && (ib >= 7 || n % 2 == 0);
        const int32_t *table = take_a ? table_a : table_b;
        int p = take_a ? ia++ : ib++;
        tokens[n] = take_a ? a[p] : b[p];
        positions[n] = p;
        slots[n] = table[p / BS] * BS + p % BS;
        seqs[n] = take_a ? 0 : 1;
        if (take_a && p == 4)
            rows[0] = n;
        if (!take_a && p == 6)
            rows[1] = n;
        n++;
    }
    const int32_t *tables[2] = {table_a, table_b};
    acc_step step = {.n_tokens = n, .tokens = tokens, .positions = positions, .slots = slots,
                     .token_seq = seqs, .n_seqs = 2, .block_tables = tables,
                     .n_outputs = 2, .output_rows = rows};
    acc_backend *backend = backend_new(&m, 2);
    float logits[2 * VOCAB];
    acc_error err;
    assert_int_equal(backend->ops->run(backend, &step, logits, &err), ACC_OK);
    for (int j = 0; j < VOCAB; j++) {
        assert_float_equal(logits[j], ref_a[4 * VOCAB + j], 1e-4 * fmax(1, fabs(ref_a[j])));
        assert_float_equal(logits[VOCAB + j], ref_b[6 * VOCAB + j],
                           1e-4 * fmax(1, fabs(ref_b[j])));
    }
    /* copy-on-write support: a copied block reads back the same */
    assert_int_equal(backend->ops->copy_kv_block(backend, 4, 11, &err), ACC_OK);
    assert_int_equal(backend->ops->copy_kv_block(backend, 4, NBLOCKS, &err), ACC_ERR_RUNTIME);
    /* a bad token id is an error, not a read out of bounds */
    tokens[0] = VOCAB;
    assert_int_equal(backend->ops->run(backend, &step, logits, &err), ACC_ERR_INPUT);
    backend->ops->destroy(backend);
    block_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planner_reuses_memory),
        cmocka_unit_test(test_graph_shape_errors_are_sticky),
        cmocka_unit_test(test_kernels_against_naive),
        cmocka_unit_test(test_block_matches_reference),
        cmocka_unit_test(test_batch_of_two_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
