import CKernels

/// The vectorized tanh of the C kernels (`ck_tanh`): what the batched acting path applies to
/// a whole layer at once, instead of libm's `tanh` one value at a time.
///
/// Within about 1.5 ulp of the exact value for every double (libm's own `tanh` is within about
/// 2 ulp), ±1 for large |x| and ±∞, x itself for tiny |x| (signed zeros kept), NaN for NaN. The
/// AVX-512F, AVX2+FMA and portable variants (one chosen at run time) give the same bits.
public enum VectorTanh {
    /// The variant this CPU runs: `"avx512f"`, `"avx2+fma"` or `"portable"`.
    public static var kernelName: String { String(cString: ck_tanh_kernel_name()) }

    /// y[i] = tanh(x[i]) for i < count; `y` may be `x` itself.
    @inlinable
    public static func apply(_ x: UnsafePointer<Double>, count: Int, into y: UnsafeMutablePointer<Double>) {
        ck_tanh(count, x, y)
    }

    /// The same values from the portable variant whatever the CPU (for tests of the dispatch).
    public static func applyPortable(_ x: UnsafePointer<Double>, count: Int, into y: UnsafeMutablePointer<Double>) {
        ck_tanh_portable(count, x, y)
    }

    /// Array convenience: tanh of every value (dispatched, or the portable variant).
    public static func values(_ x: [Double], portable: Bool = false) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        guard !x.isEmpty else { return y }
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                if portable {
                    applyPortable(px.baseAddress!, count: x.count, into: py.baseAddress!)
                } else {
                    apply(px.baseAddress!, count: x.count, into: py.baseAddress!)
                }
            }
        }
        return y
    }
}
