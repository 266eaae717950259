/*
 * fuzz_safetensors.c — libFuzzer target: acc_safetensors_parse on raw bytes.
 * Any input must give ACC_OK or an error, never a crash, leak or UB; on
 * success every view must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "accinf/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acc_safetensors_header header;
    acc_error err;
    if (acc_safetensors_parse(data, size, "fuzz", &header, &err) != ACC_OK)
        return 0;
    for (size_t i = 0; i < header.n_tensors; i++) {
        const acc_tensor_view *view = &header.tensors[i];
        const uint8_t *begin = view->data;
        if (begin < data || begin + view->nbytes > data + size)
            abort(); /* a view escaped the buffer: a parser bug */
        if ((uint64_t)acc_tensor_view_elements(view) * acc_dtype_size(view->dtype) != view->nbytes)
            abort();
    }
    acc_safetensors_header_free(&header);
    return 0;
}
