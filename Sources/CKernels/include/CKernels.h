#ifndef CKERNELS_H
#define CKERNELS_H

/// Dense double-precision matrix kernels for the RLHF toolkit's neural layer.
///
/// All matrices are row-major. With `op(X) = X` when the transpose flag is 0 and `X^T` when it
/// is 1, `ck_dgemm` computes
///
///     C[M×N] = (accumulate ? C : 0) + bias (broadcast over rows, may be NULL) + op(A)[M×K] · op(B)[K×N]
///
/// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored. The kernel is chosen once at
/// run time: an AVX2+FMA variant where the CPU has it, a portable variant otherwise.

#ifdef __cplusplus
extern "C" {
#endif

/// General matrix product with optional accumulation and row bias (see the file comment).
void ck_dgemm(int transA, int transB, long M, long N, long K,
              const double *A, long lda, const double *B, long ldb,
              double *C, long ldc, int accumulate, const double *bias);

/// The same product computed by the portable kernel, whatever the CPU supports (for tests).
void ck_dgemm_portable(int transA, int transB, long M, long N, long K,
                       const double *A, long lda, const double *B, long ldb,
                       double *C, long ldc, int accumulate, const double *bias);

/// The name of the kernel `ck_dgemm` uses on this CPU: "avx2+fma" or "portable".
const char *ck_dgemm_kernel_name(void);

/// Activation codes of the elementwise kernels.
enum { CK_ACT_IDENTITY = 0, CK_ACT_RELU = 1, CK_ACT_LEAKY_RELU = 2, CK_ACT_TANH = 3 };

/// Applies ReLU (max(0,x)) or leaky ReLU (x > 0 ? x : slope·x) in place to n values; identity and
/// tanh are left to the caller (no-op here).
void ck_activation_forward(int kind, double slope, long n, double *x);

/// out[i] = g[i]·f'(x_i), f' read from the activation's output y (ReLU/leaky: y > 0; tanh: 1 − y²;
/// identity: 1). `out` may equal `g`; neither may overlap `y`.
void ck_activation_backward(int kind, double slope, long n, const double *y, const double *g, double *out);

/// out[j] += Σ_r x[r·ldx + j] for j < cols (column sums of a rows × cols block: bias gradients).
void ck_column_sums_add(long rows, long cols, const double *x, long ldx, double *out);

/// Forward pass of a dense layer in one sweep: C = act(bias + A·B) (no transposes, no
/// accumulation), with act = CK_ACT_RELU or CK_ACT_LEAKY_RELU applied to each finished tile while
/// it is still in registers. CK_ACT_IDENTITY and CK_ACT_TANH leave C = bias + A·B (tanh is the
/// caller's). `bias` may be NULL.
void ck_dgemm_activation(long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                         double *C, long ldc, const double *bias, int act, double slope);

/// Input gradient of a dense layer fused with the previous layer's activation derivative:
/// C = (A·B^T) ⊙ f'(y), f' of activation `act` read from its outputs y (row stride ldy, M × N).
/// With CK_ACT_IDENTITY it is C = A·B^T. When `colsum` is not NULL, the column sums of the result
/// (the previous layer's bias gradient) are ADDED to colsum[0..N) in the same sweep.
void ck_dgemm_nt_masked(long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                        double *C, long ldc, int act, const double *y, long ldy, double slope, double *colsum);

/// dst[i] = src[i] for i < n (non-overlapping). A plain vector loop: for the L1/L2-sized buffers
/// of a batch it beats glibc's memmove, whose `rep movsb` path is slow on some CPUs.
void ck_copy(long n, const double *src, double *dst);

/// y[i] = tanh(x[i]) for i < n; `y` may equal `x` (in place), otherwise they must not overlap.
/// Within about 1.5 ulp of the exact value for every double (±1 for large |x|, x itself for tiny
/// |x| and ±0, NaN for NaN), and the same bits on every CPU: the AVX-512F, AVX2+FMA and portable
/// variants (chosen once at run time) compute one sequence of fused operations.
void ck_tanh(long n, const double *x, double *y);

/// The same values as `ck_tanh` from the portable variant, whatever the CPU supports (for tests).
void ck_tanh_portable(long n, const double *x, double *y);

/// The variant `ck_tanh` runs on this CPU: "avx512f", "avx2+fma" or "portable".
const char *ck_tanh_kernel_name(void);

#ifdef __cplusplus
}
#endif

#endif
