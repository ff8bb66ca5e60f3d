// Which matrix kernel runs: what the CPU and the operating system support (CPUID and XGETBV),
// and the RLHF_KERNEL environment variable, read once.
//
// A variant is available only when the CPU has its instructions AND the OS saves the registers
// they use across context switches (XCR0): YMM state (bits 1–2) for AVX2, plus opmask and ZMM
// state (bits 5–7) for AVX-512. Without the second check a kernel could fault, or silently lose
// register contents, on a kernel or hypervisor that leaves the state disabled.

#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#define CK_X86_VARIANTS 1
#else
#define CK_X86_VARIANTS 0
#endif

unsigned ck_kernel_mask_from_cpuid(unsigned cpuid1_ecx, unsigned cpuid7_ebx, unsigned long long xcr0) {
    unsigned mask = 1u << CK_KERNEL_PORTABLE;
    const int osxsave = (cpuid1_ecx >> 27) & 1;
    const int avx = (cpuid1_ecx >> 28) & 1, fma = (cpuid1_ecx >> 12) & 1;
    const int avx2 = (cpuid7_ebx >> 5) & 1, avx512f = (cpuid7_ebx >> 16) & 1;
    const int ymm_state = osxsave && (xcr0 & 0x6) == 0x6;            // SSE + AVX (YMM upper halves)
    const int zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0;        // opmask, ZMM0–15 upper, ZMM16–31
    if (ymm_state && avx && fma && avx2)
        mask |= (1u << CK_KERNEL_AVX2) | (1u << CK_KERNEL_AVX512_TILES_ON_AVX2);
    // The AVX-512 variant is compiled for avx512f+fma and its helpers use AVX2 forms too.
    if (zmm_state && avx512f && (mask & (1u << CK_KERNEL_AVX2))) mask |= 1u << CK_KERNEL_AVX512;
    return mask;
}

unsigned ck_available_kernels(void) {
    static unsigned cached;   // 0: not yet computed (the portable bit is always set once it is)
    unsigned m = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (m) return m;
    m = 1u << CK_KERNEL_PORTABLE;
#if CK_X86_VARIANTS
    unsigned eax, ebx, ecx, edx;
    unsigned ecx1 = 0, ebx7 = 0;
    unsigned long long xcr0 = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) ecx1 = ecx;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) ebx7 = ebx;
    if ((ecx1 >> 27) & 1) {   // OSXSAVE: XGETBV may be executed
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    m = ck_kernel_mask_from_cpuid(ecx1, ebx7, xcr0);
#endif
    __atomic_store_n(&cached, m, __ATOMIC_RELAXED);
    return m;
}

const char *ck_kernel_name(int kernel) {
    switch (kernel) {
    case CK_KERNEL_PORTABLE: return "portable";
    case CK_KERNEL_AVX2: return "avx2+fma";
    case CK_KERNEL_AVX512: return "avx512f";
    case CK_KERNEL_AVX512_TILES_ON_AVX2: return "avx512-tiles-on-avx2";
    default: return "unknown";
    }
}

/// The best selectable kernel in `mask`.
static int best_kernel(unsigned mask) {
    if (mask & (1u << CK_KERNEL_AVX512)) return CK_KERNEL_AVX512;
    if (mask & (1u << CK_KERNEL_AVX2)) return CK_KERNEL_AVX2;
    return CK_KERNEL_PORTABLE;
}

int ck_kernel_choose(unsigned mask, const char *request, int *status) {
    int dummy;
    if (!status) status = &dummy;
    *status = CK_KERNEL_REQUEST_OK;
    const int best = best_kernel(mask);
    if (!request || !*request || strcmp(request, "auto") == 0) return best;
    int wanted = -1;
    if (strcmp(request, "avx512") == 0 || strcmp(request, "avx512f") == 0) wanted = CK_KERNEL_AVX512;
    else if (strcmp(request, "avx2") == 0 || strcmp(request, "avx2+fma") == 0) wanted = CK_KERNEL_AVX2;
    else if (strcmp(request, "portable") == 0) wanted = CK_KERNEL_PORTABLE;
    if (wanted < 0) { *status = CK_KERNEL_REQUEST_UNKNOWN; return best; }
    if (!((mask >> wanted) & 1)) { *status = CK_KERNEL_REQUEST_UNAVAILABLE; return best; }
    return wanted;
}

int ck_selected_kernel(void) {
    static int cached = -1;
    int k = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (k >= 0) return k;
    const unsigned mask = ck_available_kernels();
    const char *request = getenv("RLHF_KERNEL");
    int status;
    k = ck_kernel_choose(mask, request, &status);
    int expected = -1;
    // Only the first resolver warns (several threads may race to resolve).
    if (__atomic_compare_exchange_n(&cached, &expected, k, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
        status != CK_KERNEL_REQUEST_OK) {
        char available[96] = "";
        for (int id = CK_KERNEL_AVX512; id >= CK_KERNEL_PORTABLE; id--)
            if ((mask >> id) & 1) {
                if (*available) strcat(available, ", ");
                strcat(available, ck_kernel_name(id));
            }
        fprintf(stderr, "RLHF_KERNEL=%s: %s (available: %s); using %s\n", request,
                status == CK_KERNEL_REQUEST_UNKNOWN ? "not a kernel name (avx512, avx2, portable, auto)"
                                                    : "not available on this CPU",
                available, ck_kernel_name(k));
    }
    return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}
