// Register-blocked double-precision GEMM with run-time dispatch between an AVX2+FMA variant and
// a portable one. One body, written with Clang/GCC vector extensions, is instantiated twice: in a
// function compiled for `target("avx2,fma")` (4-wide vectors, fused multiply-add) and in a plain
// function (SSE2 on x86-64, NEON on ARM). No compiler flags are needed.
//
// Blocking: C is computed in tiles of MR rows × 8 columns, each tile's accumulators held in
// registers over a block of up to KC steps of the inner dimension. B is read in place when it is
// stored untransposed and the panel is full; otherwise a KC×8 panel is packed (zero-padded) into a
// stack buffer and reused for every row block. A is read in place through its row and column
// strides, so op(A) = A^T costs nothing.

#include "CKernels.h"
#include <string.h>

#pragma clang fp contract(fast)
// Vector helpers are always inlined, so the AVX-argument ABI note does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#ifndef NR
#define NR 8
#endif
#ifndef MRA
#define MRA 6
#endif
#ifndef KC
#define KC 256
#endif
#ifndef NC
#define NC 64
#endif

typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));

#define INLINE static inline __attribute__((always_inline))

#define load4(p) (*(const v4du *)(p))
#define store4(p, v) (*(v4du *)(p) = (v))
#define splat(x) ((v4d){(x), (x), (x), (x)})

/// One MR×NR tile (NR = 4·NV): c (+)= Σ_k a(r,k)·b(k,0..NR), a(r,k) = a[r·rsa + k·csa], row k of B
/// at b + k·ldb. Accumulators start from `init` (a bias row) if given, else from C if `load_c`, else 0.
/// What happens to a finished tile before it is stored (only after the last K block).
typedef struct {
    int mode;          // 0: nothing; 1: apply the activation; 2: multiply by its derivative at y
    int act;           // CK_ACT_*
    double slope;      // leaky-ReLU slope
    const double *y;   // mode 2: the activation's outputs, row stride ldy, same shape as C
    long ldy;
    double *colsum;    // when set, the final tile's column sums are added here (indexed like C's columns)
} epilogue_t;

typedef long long v4di __attribute__((vector_size(32)));

/// The epilogue on one 4-wide vector of row r, columns q..q+4 of the tile.
INLINE v4d epilogue4(const epilogue_t *e, v4d x, const double *yrow) {
    if (e->mode == 1) {
        if (e->act == CK_ACT_RELU) return __builtin_elementwise_max(x, splat(0.0));
        if (e->act == CK_ACT_LEAKY_RELU) return __builtin_elementwise_max(x, x * splat(e->slope));   // slope ≤ 1
        return x;
    }
    if (e->mode == 2) {
        v4d yv = load4(yrow);
        v4di positive = (v4di)(yv > splat(0.0));
        if (e->act == CK_ACT_RELU) return (v4d)((v4di)x & positive);
        if (e->act == CK_ACT_LEAKY_RELU) {
            v4d factor = splat(e->slope) + (v4d)((v4di)splat(1.0 - e->slope) & positive);
            return x * factor;
        }
        if (e->act == CK_ACT_TANH) return x * (splat(1.0) - yv * yv);
    }
    return x;
}

/// Scalar form of the epilogue (edge tiles).
INLINE double epilogue1(const epilogue_t *e, double x, double y) {
    if (e->mode == 1) {
        if (e->act == CK_ACT_RELU) return x > 0 ? x : 0;
        if (e->act == CK_ACT_LEAKY_RELU) return x > 0 ? x : e->slope * x;
        return x;
    }
    if (e->mode == 2) {
        if (e->act == CK_ACT_RELU) return y > 0 ? x : 0;
        if (e->act == CK_ACT_LEAKY_RELU) return y > 0 ? x : e->slope * x;
        if (e->act == CK_ACT_TANH) return x * (1 - y * y);
    }
    return x;
}

INLINE void tile(const int MR, const int PACKED_MR, long K, const double *a, long rsa, long csa,
                 const double *b, long ldb, double *c, long ldc, int load_c, const double *init,
                 const epilogue_t *e, const double *y, double *colsum) {
    enum { NV = NR / 4 };
    v4d acc[MR][NV];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) {
            if (init) acc[r][v] = load4(init + 4 * v);
            else if (load_c) acc[r][v] = load4(c + r * ldc + 4 * v);
            else acc[r][v] = splat(0);
        }
    #pragma unroll 4
    for (long k = 0; k < K; k++) {
        v4d bv[NV];
        for (int v = 0; v < NV; v++) bv[v] = load4(b + 4 * v);
        // PACKED_MR > 0: A packed in groups of PACKED_MR (compile-time stride, contiguous rows);
        // otherwise A in place through its strides.
        const double *ak = PACKED_MR > 0 ? a + k * PACKED_MR : a + k * csa;
        for (int r = 0; r < MR; r++) {
            v4d x = splat(PACKED_MR > 0 ? ak[r] : ak[r * rsa]);
            for (int v = 0; v < NV; v++) acc[r][v] += x * bv[v];
        }
        b += ldb;
    }
    if (e && e->mode) {
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < NV; v++) acc[r][v] = epilogue4(e, acc[r][v], y ? y + r * e->ldy + 4 * v : 0);
    }
    if (e && colsum) {
        for (int v = 0; v < NV; v++) {
            v4d t = acc[0][v];
            for (int r = 1; r < MR; r++) t += acc[r][v];
            store4(colsum + 4 * v, load4(colsum + 4 * v) + t);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) store4(c + r * ldc + 4 * v, acc[r][v]);
}

#define TILE_CASES(PMR)                                                                              \
    switch (mr) {                                                                                    \
    case 6: if (MRMAX >= 6) { tile(6, PMR, K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum); break; } /* fallthrough */ \
    case 5: if (MRMAX >= 5) { tile(5, PMR, K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum); break; } /* fallthrough */ \
    case 4: tile(4, PMR, K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum); break;                       \
    case 3: tile(3, PMR, K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum); break;                       \
    case 2: tile(2, PMR, K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum); break;                       \
    default: tile(1, PMR, K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum); break;                      \
    }

/// Runs the tile of `mr` ≤ MRMAX rows; `packed` says A is packed in groups of MRMAX.
INLINE void tile_dispatch(const int MRMAX, int packed, int mr, long K, const double *a, long rsa, long csa,
                          const double *b, long ldb, double *c, long ldc, int load_c, const double *init,
                          const epilogue_t *e, const double *y, double *colsum) {
    if (packed) { TILE_CASES(MRMAX) } else { TILE_CASES(0) }
}

/// Packs rows k0..k0+kc of op(B), columns j..j+nr, into `out` (kc rows of 8, zero-padded).
INLINE void pack_b(int transB, const double *B, long ldb, long k0, long kc, long j, int nr, double *out) {
    if (!transB) {
        for (long k = 0; k < kc; k++) {
            const double *src = B + (k0 + k) * ldb + j;
            double *dst = out + k * NR;
            int q = 0;
            for (; q < nr; q++) dst[q] = src[q];
            for (; q < NR; q++) dst[q] = 0;
        }
    } else {
        // op(B)(k, q) = B[(j+q)·ldb + k0+k]
        for (long k = 0; k < kc; k++)
            for (int q = nr; q < NR; q++) out[k * NR + q] = 0;
        for (int q = 0; q < nr; q++) {
            const double *src = B + (j + q) * ldb + k0;
            for (long k = 0; k < kc; k++) out[k * NR + q] = src[k];
        }
    }
}

/// Packs rows i..i+mr of op(A) = A^T, inner-dimension steps k0..k0+kc, into `out` (kc groups of MRMAX).
INLINE void pack_a_transposed(const int MRMAX, const double *A, long lda, long i, int mr, long k0, long kc, double *out) {
    for (long k = 0; k < kc; k++) {
        const double *src = A + (k0 + k) * lda + i;
        double *dst = out + k * MRMAX;
        if (mr == MRMAX && MRMAX >= 4) {
            // Explicit vector copy: a constant-length loop would become a memcpy call per k.
            store4(dst, load4(src));
            for (int r = 4; r < MRMAX; r++) dst[r] = src[r];
        } else {
            for (int r = 0; r < mr; r++) dst[r] = src[r];
        }
    }
}

INLINE void gemm_body(const int MRMAX, int transA, int transB, long M, long N, long K,
                      const double *A, long lda, const double *B, long ldb,
                      double *C, long ldc, int accumulate, const double *bias, const epilogue_t *epi) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (long i = 0; i < M; i++)
            for (long j = 0; j < N; j++) {
                double v = (accumulate ? C[i * ldc + j] : 0) + (bias ? bias[j] : 0);
                if (epi) v = epilogue1(epi, v, epi->y ? epi->y[i * epi->ldy + j] : 0);
                if (epi && epi->colsum) epi->colsum[j] += v;
                C[i * ldc + j] = v;
            }
        return;
    }
    double bpack[KC * NC] __attribute__((aligned(64)));
    double apack[KC * 8] __attribute__((aligned(64)));
    double ctmp[8 * NR] __attribute__((aligned(64)));
    for (long k0 = 0; k0 < K; k0 += KC) {
        const long kc = (K - k0) < KC ? (K - k0) : KC;
        const int load_c = accumulate || k0 > 0;
        // A bias is added once, by the first K block (on top of C when accumulating).
        const int add_bias = bias && k0 == 0;
        const epilogue_t *e = (k0 + kc == K) ? epi : 0;   // the epilogue runs after the last K block
        for (long j0 = 0; j0 < N; j0 += NC) {
            const long nc = (N - j0) < NC ? (N - j0) : NC;
            // B is read in place when stored untransposed with full panels; otherwise this block
            // of op(B) is packed once, panel by panel (kc rows of 8), zero-padded.
            // A misaligned B (rows not 32-byte aligned: split cache-line loads cost ~7%) is packed
            // too when the block is short; for long blocks packing costs more than it saves.
            const int aligned_b = ((((unsigned long)(B + j0)) | ((unsigned long)ldb * 8)) & 31) == 0;
            const int in_place_b = !transB && (nc % NR) == 0 && (aligned_b || kc > 64);
            if (!in_place_b)
                for (long j = 0; j < nc; j += NR) {
                    const int nr = (nc - j) < NR ? (int)(nc - j) : NR;
                    pack_b(transB, B, ldb, k0, kc, j0 + j, nr, bpack + j * kc);
                }
            for (long i = 0; i < M; i += MRMAX) {
                const int mr = (M - i) < MRMAX ? (int)(M - i) : MRMAX;
                const double *ap;
                long rsa, csa;
                if (transA) {
                    pack_a_transposed(MRMAX, A, lda, i, mr, k0, kc, apack);
                    ap = apack; rsa = 1; csa = MRMAX;
                } else {
                    ap = A + i * lda + k0; rsa = lda; csa = 1;
                }
                for (long j = 0; j < nc; j += NR) {
                    const int nr = (nc - j) < NR ? (int)(nc - j) : NR;
                    const double *bp = in_place_b ? B + k0 * ldb + j0 + j : bpack + j * kc;
                    const long bld = in_place_b ? ldb : NR;
                    double *cp = C + i * ldc + j0 + j;
                    if (nr == NR && !(add_bias && accumulate)) {
                        tile_dispatch(MRMAX, transA, mr, kc, ap, rsa, csa, bp, bld, cp, ldc, load_c,
                                      add_bias ? bias + j0 + j : 0, e,
                                      e && e->y ? e->y + i * e->ldy + j0 + j : 0,
                                      e && e->colsum ? e->colsum + j0 + j : 0);
                    } else {
                        // Edge tile (or bias on top of accumulation): through an 8-wide temporary.
                        for (int r = 0; r < mr; r++)
                            for (int q = 0; q < NR; q++) {
                                double v = (q < nr && load_c) ? cp[r * ldc + q] : 0;
                                if (add_bias && q < nr) v += bias[j0 + j + q];
                                ctmp[r * NR + q] = v;
                            }
                        tile_dispatch(MRMAX, transA, mr, kc, ap, rsa, csa, bp, bld, ctmp, NR, 1, 0, 0, 0, 0);
                        for (int r = 0; r < mr; r++)
                            for (int q = 0; q < nr; q++) {
                                double v = ctmp[r * NR + q];
                                if (e && e->mode)
                                    v = epilogue1(e, v, e->y ? e->y[(i + r) * e->ldy + j0 + j + q] : 0);
                                if (e && e->colsum) e->colsum[j0 + j + q] += v;
                                cp[r * ldc + q] = v;
                            }
                    }
                }
            }
        }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CK_HAVE_AVX2_VARIANT 1
__attribute__((target("avx2,fma")))
static void gemm_avx2(int transA, int transB, long M, long N, long K,
                      const double *A, long lda, const double *B, long ldb,
                      double *C, long ldc, int accumulate, const double *bias, const epilogue_t *epi) {
    gemm_body(MRA, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, epi);
}
#endif

static void gemm_portable(int transA, int transB, long M, long N, long K,
                          const double *A, long lda, const double *B, long ldb,
                          double *C, long ldc, int accumulate, const double *bias, const epilogue_t *epi) {
    // 4 rows × 8 columns: 16 accumulator halves fit the 16 SSE registers better than 6 × 8.
    gemm_body(4, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, epi);
}

typedef void (*gemm_fn)(int, int, long, long, long, const double *, long, const double *, long,
                        double *, long, int, const double *, const epilogue_t *);

static int cpu_has_avx2_fma(void) {
#ifdef CK_HAVE_AVX2_VARIANT
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static gemm_fn resolve(void) {
#ifdef CK_HAVE_AVX2_VARIANT
    if (cpu_has_avx2_fma()) return gemm_avx2;
#endif
    return gemm_portable;
}

static gemm_fn resolved_gemm;

void ck_dgemm(int transA, int transB, long M, long N, long K,
              const double *A, long lda, const double *B, long ldb,
              double *C, long ldc, int accumulate, const double *bias) {
    gemm_fn f = __atomic_load_n(&resolved_gemm, __ATOMIC_RELAXED);
    if (!f) {
        f = resolve();
        __atomic_store_n(&resolved_gemm, f, __ATOMIC_RELAXED);
    }
    f(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, 0);
}

static gemm_fn current_gemm(void) {
    gemm_fn f = __atomic_load_n(&resolved_gemm, __ATOMIC_RELAXED);
    if (!f) {
        f = resolve();
        __atomic_store_n(&resolved_gemm, f, __ATOMIC_RELAXED);
    }
    return f;
}

void ck_dgemm_activation(long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                         double *C, long ldc, const double *bias, int act, double slope) {
    epilogue_t e = {1, act, slope, 0, 0, 0};
    if (act == CK_ACT_TANH || (act == CK_ACT_LEAKY_RELU && !(slope >= 0 && slope <= 1))) {
        current_gemm()(0, 0, M, N, K, A, lda, B, ldb, C, ldc, 0, bias, 0);
        if (act == CK_ACT_LEAKY_RELU)
            for (long i = 0; i < M; i++)
                for (long j = 0; j < N; j++) C[i * ldc + j] = epilogue1(&e, C[i * ldc + j], 0);
        return;   // tanh is applied by the caller
    }
    current_gemm()(0, 0, M, N, K, A, lda, B, ldb, C, ldc, 0, bias, &e);
}

void ck_dgemm_nt_masked(long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                        double *C, long ldc, int act, const double *y, long ldy, double slope, double *colsum) {
    epilogue_t e = {act == CK_ACT_IDENTITY ? 0 : 2, act, slope, y, ldy, colsum};
    current_gemm()(0, 1, M, N, K, A, lda, B, ldb, C, ldc, 0, 0, (e.mode || colsum) ? &e : 0);
}

void ck_dgemm_portable(int transA, int transB, long M, long N, long K,
                       const double *A, long lda, const double *B, long ldb,
                       double *C, long ldc, int accumulate, const double *bias) {
    gemm_portable(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, 0);
}

const char *ck_dgemm_kernel_name(void) {
    return cpu_has_avx2_fma() ? "avx2+fma" : "portable";
}
