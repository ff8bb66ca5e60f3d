import CKernels
#if BLAS
import COpenBLAS
#endif

/// Dense double-precision matrix products on row-major buffers: the one kernel behind every
/// layer's forward pass, input gradient and weight gradient.
///
/// The default build calls the C kernels of `CKernels` (an AVX-512F, AVX2+FMA or portable variant
/// chosen at run time, see ``Kernel``); with the package trait `BLAS` it calls OpenBLAS's `cblas_dgemm`.
public enum GEMM {
    /// Which implementation ``multiply(transposeA:transposeB:m:n:k:a:lda:b:ldb:c:ldc:accumulate:bias:)`` runs:
    /// `"openblas"` with the BLAS trait, otherwise the name of ``kernel`` (`"avx512f"`, `"avx2+fma"`
    /// or `"portable"`).
    public static var kernelName: String {
        #if BLAS
        return "openblas"
        #else
        return kernel.description
        #endif
    }

    /// C[m×n] = (accumulate ? C : 0) + bias (one row of n, added to every row; may be nil) + op(A)·op(B),
    /// where op(A) is m×k (A stored k×m when `transposeA`), op(B) is k×n (B stored n×k when
    /// `transposeB`), and `lda`, `ldb`, `ldc` are the row strides of the matrices as stored.
    ///
    /// The three shapes a dense layer needs are A·B (forward), A·Bᵀ (input gradient) and
    /// Aᵀ·B with accumulation (weight gradient). C must not overlap A, B or bias.
    @inline(__always)
    public static func multiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                                c: UnsafeMutablePointer<Double>, ldc: Int,
                                accumulate: Bool = false, bias: UnsafePointer<Double>? = nil) {
        #if BLAS
        blasMultiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                     b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, bias: bias)
        #else
        ck_dgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate ? 1 : 0, bias)
        #endif
    }

    /// The same product computed by a given CKernels kernel, whatever the build (for tests that
    /// compare the kernels). The kernel must be available (``Kernel/isAvailable``).
    public static func multiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                                c: UnsafeMutablePointer<Double>, ldc: Int,
                                accumulate: Bool = false, bias: UnsafePointer<Double>? = nil, kernel: Kernel) {
        let status = ck_dgemm_with(kernel.rawValue, transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb,
                                   c, ldc, accumulate ? 1 : 0, bias)
        precondition(status == 0, "GEMM.multiply: kernel \(kernel) is not available on this CPU")
    }

    /// Array convenience: returns op(A)·op(B) (+ `c` when given, + bias) as a new m×n array, with
    /// tightly packed operands (lda, ldb = their stored column counts), computed by `kernel` when
    /// given (which must be available), else as ``multiply(transposeA:transposeB:m:n:k:a:lda:b:ldb:c:ldc:accumulate:bias:)`` does.
    public static func multiply(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int,
                                transposeA: Bool = false, transposeB: Bool = false,
                                adding c: [Double]? = nil, bias: [Double]? = nil, kernel: Kernel? = nil) -> [Double] {
        precondition(a.count >= m * k && b.count >= k * n, "GEMM.multiply: operand too small")
        var out = c ?? [Double](repeating: 0, count: m * n)
        precondition(out.count >= m * n, "GEMM.multiply: accumulator too small")
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        let biasArray = bias ?? []
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                biasArray.withUnsafeBufferPointer { pbias in
                    out.withUnsafeMutableBufferPointer { pc in
                        // Empty arrays may have a nil base address; hand the kernels a valid dummy.
                        withUnsafeTemporaryAllocation(of: Double.self, capacity: 1) { dummy in
                            let ap = pa.baseAddress ?? UnsafePointer(dummy.baseAddress!)
                            let bp = pb.baseAddress ?? UnsafePointer(dummy.baseAddress!)
                            let cp = pc.baseAddress ?? dummy.baseAddress!
                            let biasPointer = bias == nil ? nil : pbias.baseAddress
                            if let kernel {
                                multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                         a: ap, lda: max(lda, 1), b: bp, ldb: max(ldb, 1), c: cp, ldc: max(n, 1),
                                         accumulate: c != nil, bias: biasPointer, kernel: kernel)
                            } else {
                                multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                         a: ap, lda: max(lda, 1), b: bp, ldb: max(ldb, 1), c: cp, ldc: max(n, 1),
                                         accumulate: c != nil, bias: biasPointer)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    #if BLAS
    @usableFromInline
    static func blasMultiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                             c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, bias: UnsafePointer<Double>?) {
        guard m > 0 && n > 0 else { return }
        var beta = accumulate ? 1.0 : 0.0
        if let bias {
            for i in 0..<m {
                let row = c + i * ldc
                if accumulate {
                    for j in 0..<n { row[j] += bias[j] }
                } else {
                    for j in 0..<n { row[j] = bias[j] }
                }
            }
            beta = 1
        }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1.0, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    #endif
}
