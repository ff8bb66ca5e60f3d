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
/// run time, the first time any matrix function runs: the AVX-512F variant where the CPU has
/// AVX-512F and the OS enabled ZMM state (XCR0 bits 5–7), else the AVX2+FMA variant where the CPU
/// has AVX2 and FMA and the OS enabled YMM state (XCR0 bits 1–2), else the portable variant.
///
/// The environment variable RLHF_KERNEL (`avx512`, `avx2`, `portable`, or `auto`/empty for the
/// best) forces an available kernel. An unknown name, or a kernel this CPU cannot run, falls back
/// to the best available one, with one line on standard error saying which is used.

#ifdef __cplusplus
extern "C" {
#endif

/// General matrix product with optional accumulation and row bias (see the file comment).
void ck_dgemm(int transA, int transB, long M, long N, long K,
              const double *A, long lda, const double *B, long ldb,
              double *C, long ldc, int accumulate, const double *bias);

/// Kernel identifiers.
///
/// CK_KERNEL_AVX512_TILES_ON_AVX2 is the AVX-512 variant's blocking (8×16 register tiles)
/// compiled for AVX2: a test-only kernel, so that machines without AVX-512 run that variant's
/// tile, edge and packing code. It is available wherever AVX2 is, and never selected.
enum {
    CK_KERNEL_PORTABLE = 0,
    CK_KERNEL_AVX2 = 1,
    CK_KERNEL_AVX512 = 2,
    CK_KERNEL_AVX512_TILES_ON_AVX2 = 3,
    CK_KERNEL_COUNT = 4,
};

/// Passed as `kernel` to the `_with` functions: the kernel in use (ck_selected_kernel()).
#define CK_KERNEL_DEFAULT (-1)

/// Bit i set: kernel i can run on this CPU and OS (the portable bit is always set).
unsigned ck_available_kernels(void);

/// The kernel mask that CPUID leaf 1 ECX, leaf 7 (sub-leaf 0) EBX and XCR0 (XGETBV 0) describe:
/// the decision of ck_available_kernels() as a pure function, for tests. Pass xcr0 = 0 when
/// OSXSAVE (ECX bit 27) is clear.
unsigned ck_kernel_mask_from_cpuid(unsigned cpuid1_ecx, unsigned cpuid7_ebx, unsigned long long xcr0);

/// Outcomes of ck_kernel_choose().
enum { CK_KERNEL_REQUEST_OK = 0, CK_KERNEL_REQUEST_UNKNOWN = 1, CK_KERNEL_REQUEST_UNAVAILABLE = 2 };

/// The kernel that an RLHF_KERNEL value `request` (may be NULL) selects among `mask`: the named
/// one (`avx512`/`avx512f`, `avx2`/`avx2+fma`, `portable`) when it is in the mask, the best in the
/// mask for NULL, "" or "auto", and otherwise also the best, with *status (may be NULL) set to
/// CK_KERNEL_REQUEST_UNKNOWN or CK_KERNEL_REQUEST_UNAVAILABLE.
int ck_kernel_choose(unsigned mask, const char *request, int *status);

/// The kernel that ck_dgemm and the fused forms use (chosen once; see the file comment).
int ck_selected_kernel(void);

/// A kernel's name: "portable", "avx2+fma", "avx512f", "avx512-tiles-on-avx2", or "unknown".
const char *ck_kernel_name(int kernel);

/// The name of the kernel `ck_dgemm` uses: ck_kernel_name(ck_selected_kernel()).
const char *ck_dgemm_kernel_name(void);

/// ck_dgemm computed by kernel `kernel` (a CK_KERNEL_* id or CK_KERNEL_DEFAULT). Returns 0, or
/// −1 without touching C when this CPU cannot run that kernel.
int ck_dgemm_with(int kernel, int transA, int transB, long M, long N, long K,
                  const double *A, long lda, const double *B, long ldb,
                  double *C, long ldc, int accumulate, const double *bias);

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

/// ck_dgemm_activation computed by kernel `kernel`; 0, or −1 (nothing done) when unavailable.
int ck_dgemm_activation_with(int kernel, long M, long N, long K, const double *A, long lda, const double *B, long ldb,
                             double *C, long ldc, const double *bias, int act, double slope);

/// ck_dgemm_nt_masked computed by kernel `kernel`; 0, or −1 (nothing done) when unavailable.
int ck_dgemm_nt_masked_with(int kernel, long M, long N, long K, const double *A, long lda, const double *B, long ldb,
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
