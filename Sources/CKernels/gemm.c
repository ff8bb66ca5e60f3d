// Register-blocked double-precision GEMM with run-time dispatch between an AVX-512F variant, an
// AVX2+FMA variant and a portable one. One body, written with Clang/GCC vector extensions over
// 8-double vectors, is instantiated in functions compiled for `target("avx512f,fma")` (one ZMM
// register per vector, 8×16 register tiles), `target("avx2,fma")` (two YMM registers per vector,
// 6×8 tiles) and in a plain function (SSE2 on x86-64, NEON on ARM; 4×8 tiles). No compiler flags
// are needed: the file compiles without -mavx512f, and a variant runs only where the CPU and the
// operating system support it (see kernel_select.c).
//
// Blocking: C is computed in tiles of MR rows × NR columns, each tile's accumulators held in
// registers over a block of up to KC steps of the inner dimension. B is read in place when it is
// stored untransposed and the panel is full; otherwise a KC×NR panel is packed (zero-padded) into
// a stack buffer and reused for every row block. A is read in place through its row and column
// strides, so op(A) = A^T costs nothing.

#include "CKernels.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CK_X86_VARIANTS 1
#else
#define CK_X86_VARIANTS 0
#endif

#pragma clang fp contract(fast)
// Vector helpers are always inlined, so the AVX-argument ABI note does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

// Largest tile of any variant (the stack buffers are sized for it).
#define NR_MAX 16
#define MR_MAX 8
#ifndef KC
#define KC 256
#endif
#ifndef NC
#define NC 64   // a multiple of every variant's NR
#endif

typedef double v8d __attribute__((vector_size(64)));
typedef double v8du __attribute__((vector_size(64), aligned(8)));
typedef long long v8di __attribute__((vector_size(64)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));

#define INLINE static inline __attribute__((always_inline))

#define load8(p) (*(const v8du *)(p))
#define store8(p, v) (*(v8du *)(p) = (v))
#define splat(x) ((v8d){(x), (x), (x), (x), (x), (x), (x), (x)})
#define load4(p) (*(const v4du *)(p))
#define store4(p, v) (*(v4du *)(p) = (v))

/// What happens to a finished tile before it is stored (only after the last K block).
typedef struct {
    int mode;          // 0: nothing; 1: apply the activation; 2: multiply by its derivative at y
    int act;           // CK_ACT_*
    double slope;      // leaky-ReLU slope
    const double *y;   // mode 2: the activation's outputs, row stride ldy, same shape as C
    long ldy;
    double *colsum;    // when set, the final tile's column sums are added here (indexed like C's columns)
} epilogue_t;

/// The epilogue on one 8-wide vector of row r, columns q..q+8 of the tile.
INLINE v8d epilogue8(const epilogue_t *e, v8d x, const double *yrow) {
    if (e->mode == 1) {
        if (e->act == CK_ACT_RELU) return __builtin_elementwise_max(x, splat(0.0));
        if (e->act == CK_ACT_LEAKY_RELU) return __builtin_elementwise_max(x, x * splat(e->slope));   // slope ≤ 1
        return x;
    }
    if (e->mode == 2) {
        v8d yv = load8(yrow);
        v8di positive = (v8di)(yv > splat(0.0));
        if (e->act == CK_ACT_RELU) return (v8d)((v8di)x & positive);
        if (e->act == CK_ACT_LEAKY_RELU) {
            v8d factor = splat(e->slope) + (v8d)((v8di)splat(1.0 - e->slope) & positive);
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

/// One MR×NR tile (NR = 8·NV): c (+)= Σ_k a(r,k)·b(k,0..NR), a(r,k) = a[r·rsa + k·csa], row k of B
/// at b + k·ldb. Accumulators start from `init` (a bias row) if given, else from C if `load_c`, else 0.
INLINE void tile(const int MR, const int NR, const int PACKED_MR, long K, const double *a, long rsa, long csa,
                 const double *b, long ldb, double *c, long ldc, int load_c, const double *init,
                 const epilogue_t *e, const double *y, double *colsum) {
    const int NV = NR / 8;
    // Fixed-size arrays (only [MR][NV] used): arrays sized by the parameters would be VLAs, which
    // the compiler keeps on the stack (a stack allocation per k step) instead of in registers.
    v8d acc[MR_MAX][NR_MAX / 8];
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) {
            if (init) acc[r][v] = load8(init + 8 * v);
            else if (load_c) acc[r][v] = load8(c + r * ldc + 8 * v);
            else acc[r][v] = splat(0);
        }
    #pragma unroll 4
    for (long k = 0; k < K; k++) {
        v8d bv[NR_MAX / 8];
        for (int v = 0; v < NV; v++) bv[v] = load8(b + 8 * v);
        // PACKED_MR > 0: A packed in groups of PACKED_MR (compile-time stride, contiguous rows);
        // otherwise A in place through its strides.
        const double *ak = PACKED_MR > 0 ? a + k * PACKED_MR : a + k * csa;
        for (int r = 0; r < MR; r++) {
            v8d x = splat(PACKED_MR > 0 ? ak[r] : ak[r * rsa]);
            for (int v = 0; v < NV; v++) acc[r][v] += x * bv[v];
        }
        b += ldb;
    }
    if (e && e->mode) {
        for (int r = 0; r < MR; r++)
            for (int v = 0; v < NV; v++) acc[r][v] = epilogue8(e, acc[r][v], y ? y + r * e->ldy + 8 * v : 0);
    }
    if (e && colsum) {
        for (int v = 0; v < NV; v++) {
            v8d t = acc[0][v];
            for (int r = 1; r < MR; r++) t += acc[r][v];
            store8(colsum + 8 * v, load8(colsum + 8 * v) + t);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < NV; v++) store8(c + r * ldc + 8 * v, acc[r][v]);
}

#define TILE_ARGS K, a, rsa, csa, b, ldb, c, ldc, load_c, init, e, y, colsum
#define TILE_CASE(R, PMR) case R: if (MRMAX >= R) { tile(R, NR, PMR, TILE_ARGS); break; } /* fallthrough */
#define TILE_CASES(PMR)                                                                              \
    switch (mr) {                                                                                    \
    TILE_CASE(8, PMR) TILE_CASE(7, PMR) TILE_CASE(6, PMR) TILE_CASE(5, PMR)                         \
    case 4: tile(4, NR, PMR, TILE_ARGS); break;                                                     \
    case 3: tile(3, NR, PMR, TILE_ARGS); break;                                                     \
    case 2: tile(2, NR, PMR, TILE_ARGS); break;                                                     \
    default: tile(1, NR, PMR, TILE_ARGS); break;                                                    \
    }

/// Runs the tile of `mr` ≤ MRMAX rows; `packed` says A is packed in groups of MRMAX.
INLINE void tile_dispatch(const int MRMAX, const int NR, int packed, int mr, long K, const double *a, long rsa, long csa,
                          const double *b, long ldb, double *c, long ldc, int load_c, const double *init,
                          const epilogue_t *e, const double *y, double *colsum) {
    if (packed) { TILE_CASES(MRMAX) } else { TILE_CASES(0) }
}

/// Packs rows k0..k0+kc of op(B), columns j..j+nr, into `out` (kc rows of NR, zero-padded).
INLINE void pack_b(const int NR, int transB, const double *B, long ldb, long k0, long kc, long j, int nr, double *out) {
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
            // Explicit vector copies: a constant-length loop would become a memcpy call per k.
            int r = 0;
            for (; r + 4 <= MRMAX; r += 4) store4(dst + r, load4(src + r));
            for (; r < MRMAX; r++) dst[r] = src[r];
        } else {
            for (int r = 0; r < mr; r++) dst[r] = src[r];
        }
    }
}

/// The whole product for one variant: MRMAX × NR register tiles (NR a multiple of 8); B rows
/// whose address or stride is not a multiple of ALIGN bytes count as misaligned.
INLINE void gemm_body(const int MRMAX, const int NR, const int ALIGN, int transA, int transB, long M, long N, long K,
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
    double apack[KC * MR_MAX] __attribute__((aligned(64)));
    double ctmp[MR_MAX * NR_MAX] __attribute__((aligned(64)));
    for (long k0 = 0; k0 < K; k0 += KC) {
        const long kc = (K - k0) < KC ? (K - k0) : KC;
        const int load_c = accumulate || k0 > 0;
        // A bias is added once, by the first K block (on top of C when accumulating).
        const int add_bias = bias && k0 == 0;
        const epilogue_t *e = (k0 + kc == K) ? epi : 0;   // the epilogue runs after the last K block
        for (long j0 = 0; j0 < N; j0 += NC) {
            const long nc = (N - j0) < NC ? (N - j0) : NC;
            // B is read in place when stored untransposed with full panels; otherwise this block
            // of op(B) is packed once, panel by panel (kc rows of NR), zero-padded.
            // A misaligned B (split cache-line loads cost ~7% with AVX2) is packed too when the
            // block is short; for long blocks packing costs more than it saves.
            const int aligned_b = ((((unsigned long)(B + j0)) | ((unsigned long)ldb * 8)) & (ALIGN - 1)) == 0;
            const int in_place_b = !transB && (nc % NR) == 0 && (aligned_b || kc > 64);
            if (!in_place_b)
                for (long j = 0; j < nc; j += NR) {
                    const int nr = (nc - j) < NR ? (int)(nc - j) : NR;
                    pack_b(NR, transB, B, ldb, k0, kc, j0 + j, nr, bpack + j * kc);
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
                        tile_dispatch(MRMAX, NR, transA, mr, kc, ap, rsa, csa, bp, bld, cp, ldc, load_c,
                                      add_bias ? bias + j0 + j : 0, e,
                                      e && e->y ? e->y + i * e->ldy + j0 + j : 0,
                                      e && e->colsum ? e->colsum + j0 + j : 0);
                    } else {
                        // Edge tile (or bias on top of accumulation): through an NR-wide temporary.
                        for (int r = 0; r < mr; r++)
                            for (int q = 0; q < NR; q++) {
                                double v = (q < nr && load_c) ? cp[r * ldc + q] : 0;
                                if (add_bias && q < nr) v += bias[j0 + j + q];
                                ctmp[r * NR + q] = v;
                            }
                        tile_dispatch(MRMAX, NR, transA, mr, kc, ap, rsa, csa, bp, bld, ctmp, NR, 1, 0, 0, 0, 0);
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

#define GEMM_PARAMS int transA, int transB, long M, long N, long K, const double *A, long lda, \
                    const double *B, long ldb, double *C, long ldc, int accumulate, const double *bias, const epilogue_t *epi
#define GEMM_ARGS transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, epi

#if CK_X86_VARIANTS
// 8 rows × 16 columns: 16 ZMM accumulators, 2 B vectors and broadcast operands, of 32 registers;
// per k step 16 FMAs against 2 vector loads and 8 broadcasts.
__attribute__((target("avx512f,fma")))
static void gemm_avx512(GEMM_PARAMS) { gemm_body(8, 16, 64, GEMM_ARGS); }

// 6 rows × 8 columns: 12 YMM accumulators of 16 registers.
__attribute__((target("avx2,fma")))
static void gemm_avx2(GEMM_PARAMS) { gemm_body(6, 8, 32, GEMM_ARGS); }

// The AVX-512 variant's blocking (8×16 tiles, 64-byte alignment test) compiled for AVX2, so that
// machines without AVX-512 exercise its tile, edge and packing paths in tests. Never selected.
__attribute__((target("avx2,fma")))
static void gemm_avx512_tiles_on_avx2(GEMM_PARAMS) { gemm_body(8, 16, 64, GEMM_ARGS); }
#endif

// 4 rows × 8 columns: 16 accumulator halves fit the 16 SSE registers better than 6 × 8.
static void gemm_portable(GEMM_PARAMS) { gemm_body(4, 8, 32, GEMM_ARGS); }

typedef void (*gemm_fn)(GEMM_PARAMS);

/// The variant of kernel `id`, or NULL when this CPU (or build) cannot run it.
static gemm_fn kernel_fn(int id) {
    if (id == CK_KERNEL_DEFAULT) id = ck_selected_kernel();
    if (id < 0 || id >= CK_KERNEL_COUNT || !((ck_available_kernels() >> id) & 1)) return 0;
    switch (id) {
#if CK_X86_VARIANTS
    case CK_KERNEL_AVX512: return gemm_avx512;
    case CK_KERNEL_AVX2: return gemm_avx2;
    case CK_KERNEL_AVX512_TILES_ON_AVX2: return gemm_avx512_tiles_on_avx2;
#endif
    case CK_KERNEL_PORTABLE: return gemm_portable;
    default: return 0;
    }
}

static gemm_fn resolved_gemm;

/// The selected variant, resolved once.
static gemm_fn current_gemm(void) {
    gemm_fn f = __atomic_load_n(&resolved_gemm, __ATOMIC_RELAXED);
    if (!f) {
        f = kernel_fn(CK_KERNEL_DEFAULT);
        if (!f) f = gemm_portable;
        __atomic_store_n(&resolved_gemm, f, __ATOMIC_RELAXED);
    }
    return f;
}

static void gemm_activation(gemm_fn f, long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                            double *C, long ldc, const double *bias, int act, double slope) {
    epilogue_t e = {1, act, slope, 0, 0, 0};
    if (act == CK_ACT_TANH || (act == CK_ACT_LEAKY_RELU && !(slope >= 0 && slope <= 1))) {
        f(0, 0, M, N, K, A, lda, B, ldb, C, ldc, 0, bias, 0);
        if (act == CK_ACT_LEAKY_RELU)
            for (long i = 0; i < M; i++)
                for (long j = 0; j < N; j++) C[i * ldc + j] = epilogue1(&e, C[i * ldc + j], 0);
        return;   // tanh is applied by the caller
    }
    f(0, 0, M, N, K, A, lda, B, ldb, C, ldc, 0, bias, &e);
}

static void gemm_nt_masked(gemm_fn f, long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                           double *C, long ldc, int act, const double *y, long ldy, double slope, double *colsum) {
    epilogue_t e = {act == CK_ACT_IDENTITY ? 0 : 2, act, slope, y, ldy, colsum};
    f(0, 1, M, N, K, A, lda, B, ldb, C, ldc, 0, 0, (e.mode || colsum) ? &e : 0);
}

void ck_dgemm(int transA, int transB, long M, long N, long K,
              const double *A, long lda, const double *B, long ldb,
              double *C, long ldc, int accumulate, const double *bias) {
    current_gemm()(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, 0);
}

void ck_dgemm_activation(long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                         double *C, long ldc, const double *bias, int act, double slope) {
    gemm_activation(current_gemm(), M, N, K, A, lda, B, ldb, C, ldc, bias, act, slope);
}

void ck_dgemm_nt_masked(long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                        double *C, long ldc, int act, const double *y, long ldy, double slope, double *colsum) {
    gemm_nt_masked(current_gemm(), M, N, K, A, lda, B, ldb, C, ldc, act, y, ldy, slope, colsum);
}

int ck_dgemm_with(int kernel, int transA, int transB, long M, long N, long K,
                  const double *A, long lda, const double *B, long ldb,
                  double *C, long ldc, int accumulate, const double *bias) {
    gemm_fn f = kernel_fn(kernel);
    if (!f) return -1;
    f(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias, 0);
    return 0;
}

int ck_dgemm_activation_with(int kernel, long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                             double *C, long ldc, const double *bias, int act, double slope) {
    gemm_fn f = kernel_fn(kernel);
    if (!f) return -1;
    gemm_activation(f, M, N, K, A, lda, B, ldb, C, ldc, bias, act, slope);
    return 0;
}

int ck_dgemm_nt_masked_with(int kernel, long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                            double *C, long ldc, int act, const double *y, long ldy, double slope, double *colsum) {
    gemm_fn f = kernel_fn(kernel);
    if (!f) return -1;
    gemm_nt_masked(f, M, N, K, A, lda, B, ldb, C, ldc, act, y, ldy, slope, colsum);
    return 0;
}

const char *ck_dgemm_kernel_name(void) {
    return ck_kernel_name(ck_selected_kernel());
}
