/*
 * gguf_names.h — llama.cpp's GGUF architecture names and tensor names for
 * the architectures accinf runs, both ways: HF checkpoint names (as our
 * architecture builders expect them) <-> GGUF names ("blk.N.attn_q.weight").
 * Shared by the converter (HF -> GGUF) and the GGUF model loader (GGUF ->
 * the builders' names), so both sides use one table.
 */
#ifndef ACCINF_GGUF_NAMES_H
#define ACCINF_GGUF_NAMES_H

#include <stddef.h>

#include "accinf/hparams.h"

/* How a tensor's data differs between the HF and the GGUF layout. */
typedef enum acc_gguf_layout {
    ACC_GGUF_LAYOUT_SAME = 0,
    ACC_GGUF_LAYOUT_TRANSPOSE, /* GPT-2 Conv1D [in, out] in HF, [out, in] rows in GGUF */
    ACC_GGUF_LAYOUT_PERMUTE_Q, /* llama.cpp's rotary permutation of q_proj rows (heads) */
    ACC_GGUF_LAYOUT_PERMUTE_K, /* the same for k_proj rows (kv heads) */
} acc_gguf_layout;

/* "gpt2", "llama", "qwen2", "granite" (Mistral is "llama" in llama.cpp). */
const char *acc_gguf_arch_name(acc_arch arch);
/* Parses general.architecture; -1 if not one we run. */
int acc_gguf_arch_from_name(const char *name, acc_arch *out);

/* Maps an HF tensor name to its GGUF name (out, size bytes).  Returns 1
 * and sets *layout when mapped, 0 for tensors llama.cpp does not store
 * (GPT-2's attn.bias buffers, rotary inv_freq), -1 for an unknown name. */
int acc_gguf_name_from_hf(acc_arch arch, const char *hf, char *out, size_t size,
                          acc_gguf_layout *layout);
/* The inverse, producing the name our builders use (GPT-2 without the
 * "transformer." prefix).  1 when mapped, -1 for an unknown name. */
int acc_gguf_name_to_hf(acc_arch arch, const char *gguf, char *out, size_t size,
                        acc_gguf_layout *layout);

/* llama.cpp's permutation of q/k rows: within each head of head_dim rows,
 * row 2i+j of the permuted tensor is row j*head_dim/2+i of the HF tensor.
 * rows_per_head = head_dim; src and dst hold n_heads*head_dim rows of
 * row_bytes each and must not overlap.  inverse undoes it. */
void acc_gguf_permute_rows(const void *src, void *dst, int n_heads, int head_dim,
                           size_t row_bytes, int inverse);

#endif
