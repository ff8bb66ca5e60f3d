// Vectorized tanh for the dense layers and the batched acting path.
//
// One algorithm, written once on 8-lane vectors (clang vector extensions), instantiated three
// times: for AVX-512F (one zmm per block), for AVX2+FMA (two ymm per block) and without any
// target attribute (the portable variant: SSE2 or NEON halves, and `fma` wherever the target has
// no fused multiply-add instruction). Every multiply-add is an explicit fused one and contraction
// is off for the rest, so the three variants give the SAME bits for every input: which one runs
// (chosen once at run time from the CPU) changes only the speed.
//
// For a = |x|:
//   - a < 2^-27: tanh x rounds to x, returned as is (signed zeros kept);
//   - a < 0.625: tanh a = a + a·z·P(z)/Q(z), z = a², Cephes's rational approximation (Moshier);
//   - otherwise: tanh a = 1 − 2t/(1 + t) with t = exp(−2·min(a, 20)) (tanh a rounds to 1 beyond
//     ≈ 19.06), exp by Cody–Waite reduction to |r| ≤ ln2/2 and its degree-13 Taylor polynomial;
// then the sign of x is put back, and NaN gives NaN. Measured against `tanhl`: at most ≈ 1.5 ulp
// (glibc's `tanh` itself is within ≈ 2.2 ulp), mean ≈ 0.02 ulp.

#include "CKernels.h"
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang diagnostic ignored "-Wpsabi"

#define INLINE static inline __attribute__((always_inline))

typedef double ck_v8d __attribute__((vector_size(64)));
typedef long long ck_v8i __attribute__((vector_size(64)));

INLINE ck_v8d v8d_splat(double c) { return (ck_v8d){c, c, c, c, c, c, c, c}; }
INLINE ck_v8i v8i_splat(long long c) { return (ck_v8i){c, c, c, c, c, c, c, c}; }
/// m ? a : b lane by lane, m being a comparison's all-ones / all-zeros mask.
INLINE ck_v8d v8d_select(ck_v8i m, ck_v8d a, ck_v8d b) { return (ck_v8d)(((ck_v8i)a & m) | ((ck_v8i)b & ~m)); }
#define FMA8(a, b, c) __builtin_elementwise_fma((a), (b), (c))

INLINE ck_v8d tanh8(ck_v8d x) {
    const ck_v8i sign_bit = v8i_splat((long long)0x8000000000000000ULL);
    const ck_v8i bits = (ck_v8i)x;
    const ck_v8i sign = bits & sign_bit;
    const ck_v8d a = (ck_v8d)(bits & ~sign_bit);

    // t = exp(−2·min(a, 20)): y = −2a' ∈ [−40, 0], y = k·ln2 + r with k integral, |r| ≤ ln2/2.
    const ck_v8d clamp = v8d_splat(20.0);
    const ck_v8d y = v8d_splat(-2.0) * v8d_select(a < clamp, a, clamp);  // NaN lanes use 20; fixed below
    const ck_v8d shift = v8d_splat(0x1.8p52);                               // rounds to an integer in the low bits
    const ck_v8d s = FMA8(y, v8d_splat(0x1.71547652b82fep0), shift);       // y·log2(e) + 1.5·2^52
    const ck_v8d k = s - shift;
    ck_v8d r = FMA8(k, v8d_splat(-0x1.62e42fefa39efp-1), y);              // y − k·ln2 (high part)
    r = FMA8(k, v8d_splat(-0x1.abc9e3b39803fp-56), r);                    // … − k·ln2 (low part)
    ck_v8d p = v8d_splat(1.0 / 6227020800.0);                              // 1/13!
    p = FMA8(p, r, v8d_splat(1.0 / 479001600.0));
    p = FMA8(p, r, v8d_splat(1.0 / 39916800.0));
    p = FMA8(p, r, v8d_splat(1.0 / 3628800.0));
    p = FMA8(p, r, v8d_splat(1.0 / 362880.0));
    p = FMA8(p, r, v8d_splat(1.0 / 40320.0));
    p = FMA8(p, r, v8d_splat(1.0 / 5040.0));
    p = FMA8(p, r, v8d_splat(1.0 / 720.0));
    p = FMA8(p, r, v8d_splat(1.0 / 120.0));
    p = FMA8(p, r, v8d_splat(1.0 / 24.0));
    p = FMA8(p, r, v8d_splat(1.0 / 6.0));
    p = FMA8(p, r, v8d_splat(0.5));
    p = FMA8(p, r, v8d_splat(1.0));
    p = FMA8(p, r, v8d_splat(1.0));                                        // exp(r)
    const ck_v8i kInt = (ck_v8i)s - (ck_v8i)shift;                          // k ∈ [−58, 0]
    const ck_v8d t = p * (ck_v8d)((kInt + v8i_splat(1023)) << 52);          // exact scaling by 2^k
    const ck_v8d one = v8d_splat(1.0);
    const ck_v8d large = one - v8d_splat(2.0) * t / (one + t);

    // Small arguments: a + a·z·P(z)/Q(z).
    const ck_v8d z = a * a;
    const ck_v8d P = FMA8(FMA8(v8d_splat(-9.64399179425052238628e-1), z, v8d_splat(-9.92877231001918586564e1)),
                          z, v8d_splat(-1.61468768441708447952e3));
    const ck_v8d Q = FMA8(FMA8(z + v8d_splat(1.12811678491632931402e2), z, v8d_splat(2.23548839060100448583e3)),
                          z, v8d_splat(4.84406305325125486048e3));
    const ck_v8d small = FMA8(a * z, P / Q, a);

    ck_v8d result = v8d_select(a < v8d_splat(0.625), small, large);
    result = v8d_select(a < v8d_splat(0x1p-27), a, result);
    result = (ck_v8d)((ck_v8i)result | sign);
    return v8d_select(x != x, x, result);
}

/// The loop of every variant: blocks of 8, then the tail through a zero-padded block.
INLINE void tanh_body(long n, const double *x, double *y) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        ck_v8d v;
        memcpy(&v, x + i, sizeof v);
        v = tanh8(v);
        memcpy(y + i, &v, sizeof v);
    }
    if (i < n) {
        double block[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const long rest = n - i;
        memcpy(block, x + i, (size_t)rest * sizeof(double));
        ck_v8d v;
        memcpy(&v, block, sizeof v);
        v = tanh8(v);
        memcpy(block, &v, sizeof v);
        memcpy(y + i, block, (size_t)rest * sizeof(double));
    }
}

void ck_tanh_portable(long n, const double *x, double *y) { tanh_body(n, x, y); }

#if defined(__x86_64__) && defined(__clang__)
#define CK_TANH_HAVE_X86_VARIANTS 1
__attribute__((target("avx2,fma"))) static void tanh_avx2(long n, const double *x, double *y) { tanh_body(n, x, y); }
__attribute__((target("avx512f"))) static void tanh_avx512(long n, const double *x, double *y) { tanh_body(n, x, y); }

/// 2: AVX-512F, 1: AVX2+FMA, 0: portable; read once from the CPU.
static int tanh_variant(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) v = 2;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) v = 1;
        else v = 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

void ck_tanh(long n, const double *x, double *y) {
#ifdef CK_TANH_HAVE_X86_VARIANTS
    switch (tanh_variant()) {
    case 2: tanh_avx512(n, x, y); return;
    case 1: tanh_avx2(n, x, y); return;
    default: break;
    }
#endif
    tanh_body(n, x, y);
}

const char *ck_tanh_kernel_name(void) {
#ifdef CK_TANH_HAVE_X86_VARIANTS
    switch (tanh_variant()) {
    case 2: return "avx512f";
    case 1: return "avx2+fma";
    default: break;
    }
#endif
    return "portable";
}
