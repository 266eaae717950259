/*
 * kernels_amx.h — the AMX-BF16 prefill GEMM of the CPU backend (kernels_amx.c)
 * and the sizes the executor needs to feed it.  Not a public header.
 *
 * The executor uses it for matmuls of at least acc_cpu_amx_min_rows token
 * rows when acc_cpu_amx_enabled said yes, in one of two modes
 * (acc_cpu_amx_mode): by default block-format weights in BF16 mode and
 * f16/bf16 weights in SPLIT mode (hi/lo bf16 pairs, near f32 accuracy);
 * ACCINF_CPU_AMX=all takes BF16 mode for every type (fastest, least
 * accurate), ACCINF_CPU_AMX=0 turns AMX off (16-bit weights then give the
 * bits of f32 weights).  First acc_cpu_amx_convert_rows rounds the input
 * rows to bf16 (rows padded to a multiple of 16 with zeros, each row to a
 * multiple of 32 elements), then acc_cpu_amx_matmul runs column ranges on
 * the workers.
 * The size helpers are inline so that only kernels_amx.c is compiled with
 * the AMX and AVX-512 flags.
 */
#ifndef ACCINF_CPU_KERNELS_AMX_H
#define ACCINF_CPU_KERNELS_AMX_H

#include "backend/cpu/kernels.h"

/* Steps with fewer token rows keep the table's matmul (decode, small
 * batches): below this the per-step weight unpacking is not repaid. */
#define ACC_CPU_AMX_MIN_ROWS 16
/* Column ranges handed to acc_cpu_amx_matmul should be multiples of this
 * (one weight panel); any range works. */
#define ACC_CPU_AMX_COL_UNIT 32
/* Inputs longer than this many elements run in k chunks of it (a multiple
 * of every block size): a chunk's weight panels and 32 activation rows
 * then fit in L2 together, and the chunks' partial sums add up in y. */
#define ACC_CPU_AMX_K_CHUNK 2048

/* How the GEMM rounds its operands (cpu_backend.c picks per weight type).
 * BF16: activations and weights rounded to bf16 once, one tile product per
 * k step (relative error about 2^-9 per operand).  SPLIT: each operand is
 * a sum of two bf16 values, v = hi + lo (f16 weights exactly, f32
 * activations to about 16 significant bits), and the step takes the three
 * products xl*wh + xh*wh + xh*wl (two for bf16 weights, whose lo is 0),
 * so the result is within about 2^-16 of the f32 computation per term. */
typedef enum acc_cpu_amx_mode { ACC_CPU_AMX_BF16, ACC_CPU_AMX_SPLIT } acc_cpu_amx_mode;

/* The fewest token rows for which `mode` beats the table's matmul: SPLIT
 * does two to three times the tile work and, on 16-bit weights, competes
 * with their exact f32 path, which it overtakes from about 32 rows
 * (pp16: 0.8x of it, pp32: 1.0-1.2x, pp128: 2.5x on the GPT-2 and 1B
 * shapes, 2 threads). */
static inline int64_t acc_cpu_amx_min_rows(acc_cpu_amx_mode mode)
{
    return mode == ACC_CPU_AMX_SPLIT ? 2 * ACC_CPU_AMX_MIN_ROWS : ACC_CPU_AMX_MIN_ROWS;
}

static inline int acc_cpu_amx_supports(acc_weight_type type)
{
    return type == ACC_WEIGHT_F16 || type == ACC_WEIGHT_BF16 || type == ACC_WEIGHT_Q8_0 ||
           type == ACC_WEIGHT_Q4_0 || type == ACC_WEIGHT_Q4_K || type == ACC_WEIGHT_Q5_K ||
           type == ACC_WEIGHT_Q6_K;
}

/* `in` rounded up to whole 32-element k steps. */
static inline int64_t acc_cpu_amx_in_pad(int64_t in)
{
    return (in + 31) / 32 * 32;
}

/* Token rows rounded up to the GEMM's 16-row tiles. */
static inline int64_t acc_cpu_amx_rows_pad(int64_t rows)
{
    return (rows + 15) / 16 * 16;
}

/* Bytes between bf16 activation rows: 64 more than the row so that the 16
 * rows of a tile load do not all fall in one L1 set.  A SPLIT row holds
 * per k step 32 hi then 32 lo values. */
static inline size_t acc_cpu_amx_act_stride(int64_t in, acc_cpu_amx_mode mode)
{
    return (size_t)acc_cpu_amx_in_pad(in) * (mode == ACC_CPU_AMX_SPLIT ? 4 : 2) + 64;
}

/* Bf16 parts a weight panel holds per value: 2 (hi, lo) in SPLIT mode
 * except for bf16 weights, whose lo part is 0. */
static inline int acc_cpu_amx_weight_parts(acc_weight_type type, acc_cpu_amx_mode mode)
{
    return mode == ACC_CPU_AMX_SPLIT && type != ACC_WEIGHT_BF16 ? 2 : 1;
}

/* Elements of the longest k chunk: `in` padded, at most ACC_CPU_AMX_K_CHUNK. */
static inline int64_t acc_cpu_amx_chunk_pad(int64_t in)
{
    int64_t pad = acc_cpu_amx_in_pad(in);
    return pad < ACC_CPU_AMX_K_CHUNK ? pad : ACC_CPU_AMX_K_CHUNK;
}

/* Bytes of unpacked weight panels one worker keeps (in L2) at a time: at
 * least one panel of ACC_CPU_AMX_COL_UNIT rows x one k chunk of `parts`
 * bf16 parts. */
static inline size_t acc_cpu_amx_panels_bytes(int64_t in, int parts)
{
    size_t panel =
        (size_t)ACC_CPU_AMX_COL_UNIT * (size_t)acc_cpu_amx_chunk_pad(in) * 2 * (size_t)parts;
    size_t budget = 768 * 1024 * (size_t)parts;
    return budget > panel ? budget / panel * panel : panel;
}

/* Per-worker scratch bytes for inputs of `in` elements in `mode` (64-byte
 * aligned by the caller): the weight panels, one f32 and 16 bf16 unpacked
 * weight rows (one k chunk) per part, the output tiles. */
static inline size_t acc_cpu_amx_scratch_bytes(int64_t in, acc_cpu_amx_mode mode)
{
    size_t pad = (size_t)acc_cpu_amx_chunk_pad(in);
    size_t parts = mode == ACC_CPU_AMX_SPLIT ? 2 : 1;
    return acc_cpu_amx_panels_bytes(in, (int)parts) + pad * 4 + parts * 16 * pad * 2 +
           4 * 1024 + 256;
}

/* Rounds rows [r0, r1) of x [.., in] to bf16 (SPLIT: hi and lo parts) into
 * xb (row stride acc_cpu_amx_act_stride(in, mode)); rows at or past `rows`
 * become zeros. */
void acc_cpu_amx_convert_rows(const float *x, int64_t rows, int64_t in, acc_cpu_amx_mode mode,
                              void *xb, int64_t r0, int64_t r1);

/* y columns [j0, j1) for all args->rows rows; args->xq holds the rows of
 * acc_cpu_amx_convert_rows in the same mode (args->xq_row_bytes its
 * stride), scratch is acc_cpu_amx_scratch_bytes(args->in, mode) bytes,
 * 64-byte aligned, private to the calling thread.  Loads the tile
 * configuration and releases the tiles before it returns. */
void acc_cpu_amx_matmul(const acc_cpu_matmul_args *args, acc_cpu_amx_mode mode, void *scratch,
                        int64_t j0, int64_t j1);

#endif
