// Elementwise kernels of the dense layers (activation forward/backward, bias gradients), with the
// run-time dispatch as gemm.c (AVX2 under both the AVX2 and the AVX-512 matrix kernels). Plain loops; the compiler vectorizes each instantiation
// for its target.

#include "CKernels.h"

#define INLINE static inline __attribute__((always_inline))

INLINE void act_forward_body(int kind, double slope, long n, double *restrict x) {
    switch (kind) {
    case CK_ACT_RELU:
        for (long i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        break;
    case CK_ACT_LEAKY_RELU:
        for (long i = 0; i < n; i++) x[i] = x[i] * (x[i] > 0 ? 1.0 : slope);
        break;
    default:
        break;
    }
}

// Written as arithmetic selects over restrict pointers so both the in-place and the out-of-place
// form vectorize (a branchy or possibly-aliased loop mispredicts on random signs).
#define ACT_BACKWARD_LOOP(kind, slope, n, y, g, out)                                  \
    switch (kind) {                                                                  \
    case CK_ACT_RELU:                                                                \
        for (long i = 0; i < n; i++) out[i] = y[i] > 0 ? g[i] : 0.0;                 \
        break;                                                                       \
    case CK_ACT_LEAKY_RELU:                                                          \
        for (long i = 0; i < n; i++) out[i] = g[i] * (y[i] > 0 ? 1.0 : slope);       \
        break;                                                                       \
    case CK_ACT_TANH:                                                                \
        for (long i = 0; i < n; i++) out[i] = g[i] * (1 - y[i] * y[i]);              \
        break;                                                                       \
    default:                                                                         \
        for (long i = 0; i < n; i++) out[i] = g[i];                                  \
        break;                                                                       \
    }

INLINE void act_backward_inplace(int kind, double slope, long n, const double *restrict y, double *restrict g) {
    ACT_BACKWARD_LOOP(kind, slope, n, y, g, g)
}

INLINE void act_backward_copy(int kind, double slope, long n, const double *restrict y,
                              const double *restrict g, double *restrict out) {
    ACT_BACKWARD_LOOP(kind, slope, n, y, g, out)
}

INLINE void act_backward_body(int kind, double slope, long n, const double *y, const double *g, double *out) {
    if (out == g) act_backward_inplace(kind, slope, n, y, out);
    else act_backward_copy(kind, slope, n, y, g, out);
}

INLINE void colsum_body(long rows, long cols, const double *restrict x, long ldx, double *restrict out) {
    // Four rows at a time: one pass over `out` per four rows.
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        const double *x0 = x + r * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
        for (long j = 0; j < cols; j++) out[j] += (x0[j] + x1[j]) + (x2[j] + x3[j]);
    }
    for (; r < rows; r++) {
        const double *xr = x + r * ldx;
        for (long j = 0; j < cols; j++) out[j] += xr[j];
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CK_HAVE_AVX2_VARIANT 1
__attribute__((target("avx2,fma"))) static void act_forward_avx2(int k, double s, long n, double *x) { act_forward_body(k, s, n, x); }
__attribute__((target("avx2,fma"))) static void act_backward_avx2(int k, double s, long n, const double *y, const double *g, double *o) { act_backward_body(k, s, n, y, g, o); }
__attribute__((target("avx2,fma"))) static void colsum_avx2(long r, long c, const double *x, long ld, double *o) { colsum_body(r, c, x, ld, o); }

/// The AVX2 loops run whenever the selected matrix kernel is AVX2 or AVX-512 (so RLHF_KERNEL=portable
/// makes the whole neural layer portable).
static int use_avx2(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = ck_selected_kernel() != CK_KERNEL_PORTABLE;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

void ck_activation_forward(int kind, double slope, long n, double *x) {
#ifdef CK_HAVE_AVX2_VARIANT
    if (use_avx2()) { act_forward_avx2(kind, slope, n, x); return; }
#endif
    act_forward_body(kind, slope, n, x);
}

void ck_activation_backward(int kind, double slope, long n, const double *y, const double *g, double *out) {
#ifdef CK_HAVE_AVX2_VARIANT
    if (use_avx2()) { act_backward_avx2(kind, slope, n, y, g, out); return; }
#endif
    act_backward_body(kind, slope, n, y, g, out);
}

void ck_column_sums_add(long rows, long cols, const double *x, long ldx, double *out) {
#ifdef CK_HAVE_AVX2_VARIANT
    if (use_avx2()) { colsum_avx2(rows, cols, x, ldx, out); return; }
#endif
    colsum_body(rows, cols, x, ldx, out);
}

INLINE void copy_body(long n, const double *restrict src, double *restrict dst) {
    typedef double v4u __attribute__((vector_size(32), aligned(8)));
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        v4u a = *(const v4u *)(src + i), b = *(const v4u *)(src + i + 4);
        v4u c = *(const v4u *)(src + i + 8), d = *(const v4u *)(src + i + 12);
        *(v4u *)(dst + i) = a; *(v4u *)(dst + i + 4) = b;
        *(v4u *)(dst + i + 8) = c; *(v4u *)(dst + i + 12) = d;
        __asm__ volatile("" ::: "memory");   // keeps the loop from being turned into a memcpy call
    }
    for (; i < n; i++) dst[i] = src[i];
}

#ifdef CK_HAVE_AVX2_VARIANT
__attribute__((target("avx2,fma"))) static void copy_avx2(long n, const double *s, double *d) { copy_body(n, s, d); }
#endif

void ck_copy(long n, const double *src, double *dst) {
#ifdef CK_HAVE_AVX2_VARIANT
    if (use_avx2()) { copy_avx2(n, src, dst); return; }
#endif
    copy_body(n, src, dst);
}
