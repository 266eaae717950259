/*
 * kernels_dispatch.c — picks the hot-kernel table for this CPU at run time:
 * AVX-512 (F, BW, VL, VNNI) when present, else AVX2 + FMA + F16C, else NEON on
 * aarch64, else scalar; AMX (tiles + BF16) on top of AVX-512 adds the
 * prefill GEMM of kernels_amx.c.  A cap (ACCINF_CPU_ISA=scalar|avx2|... or a test)
 * forces a lower table, which is how the tests check that every path
 * agrees.  Callers see one table of function pointers and no #ifdefs.
 */
#include "backend/cpu/kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static const char *const isa_names[ACC_CPU_ISA_COUNT] = {
    [ACC_CPU_ISA_SCALAR] = "scalar",
    [ACC_CPU_ISA_NEON] = "neon",
    [ACC_CPU_ISA_AVX2] = "avx2",
    [ACC_CPU_ISA_AVX512] = "avx512",
    [ACC_CPU_ISA_AMX] = "amx",
};

const char *acc_cpu_isa_name(acc_cpu_isa isa)
{
    return (unsigned)isa < ACC_CPU_ISA_COUNT ? isa_names[isa] : "?";
}

int acc_cpu_isa_from_name(const char *name, acc_cpu_isa *out)
{
    for (int i = 0; i < ACC_CPU_ISA_COUNT; i++) {
        if (strcasecmp(name, isa_names[i]) == 0) {
            *out = (acc_cpu_isa)i;
            return 0;
        }
    }
    return -1;
}

#if defined(__x86_64__)
/* F16C (CPUID.1:ECX bit 29): not every compiler's __builtin_cpu_supports
 * knows its name. */
static int cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

/* AMX tiles + BF16 (CPUID.(7,0):EDX bits 24, 22), AVX512-BF16 (CPUID.(7,1):
 * EAX bit 5), the OS saving tile state (XCR0 bits 17, 18) and Linux's
 * per-process permission for it (arch_prctl ARCH_REQ_XCOMP_PERM for
 * XFEATURE_XTILEDATA; granting it again is harmless). */
static int cpu_has_amx(void)
{
#if defined(__x86_64__) && defined(__linux__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 22)))
        return 0;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5)))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17))
        return 0;
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */,
                   18 /* XFEATURE_XTILEDATA */) == 0;
#else
    return 0;
#endif
}

static const acc_cpu_kernels *isa_table(acc_cpu_isa isa)
{
    switch (isa) {
    case ACC_CPU_ISA_SCALAR:
        return &acc_cpu_kernels_scalar;
#if defined(__x86_64__)
    case ACC_CPU_ISA_AVX2:
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            cpu_has_f16c())
            return &acc_cpu_kernels_avx2;
        return NULL;
    case ACC_CPU_ISA_AVX512:
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
            __builtin_cpu_supports("fma") &&
            cpu_has_f16c())
            return &acc_cpu_kernels_avx512;
        return NULL;
    case ACC_CPU_ISA_AMX:
        /* the AVX-512 table; the executor adds the AMX GEMM */
        if (isa_table(ACC_CPU_ISA_AVX512) && cpu_has_amx())
            return &acc_cpu_kernels_avx512;
        return NULL;
#endif
#if defined(__aarch64__)
    case ACC_CPU_ISA_NEON:
        return &acc_cpu_kernels_neon; /* part of the aarch64 baseline */
#endif
    default:
        return NULL;
    }
}

int acc_cpu_isa_available(acc_cpu_isa isa)
{
    return isa_table(isa) != NULL;
}

const acc_cpu_kernels *acc_cpu_kernels_select(acc_cpu_isa cap)
{
    for (int isa = ACC_CPU_ISA_COUNT - 1; isa > ACC_CPU_ISA_SCALAR; isa--) {
        if (isa > (int)cap)
            continue;
        const acc_cpu_kernels *table = isa_table((acc_cpu_isa)isa);
        if (table)
            return table;
    }
    return &acc_cpu_kernels_scalar;
}

acc_cpu_isa acc_cpu_isa_cap_from_env(void)
{
    const char *value = getenv("ACCINF_CPU_ISA");
    acc_cpu_isa isa;
    if (value && *value && acc_cpu_isa_from_name(value, &isa) == 0)
        return isa;
    return ACC_CPU_ISA_COUNT;
}

int acc_cpu_amx_enabled(acc_cpu_isa cap)
{
    return cap >= ACC_CPU_ISA_AMX && acc_cpu_isa_available(ACC_CPU_ISA_AMX);
}
