import CKernels

extension GEMM {
    /// The fused forward product of a dense layer, C = act(bias + A·B) for an m×k `a` and a k×n `b`
    /// (tanh: C = bias + A·B, tanh being applied by the caller), computed by `kernel` (default: the
    /// one in use), which must be available. The layers call the C kernel directly; this array
    /// form is for tests that compare the kernels.
    public static func multiplyActivation(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, bias: [Double]?,
                                          activation: Activation, kernel: Kernel? = nil) -> [Double] {
        precondition(a.count >= m * k && b.count >= k * n && (bias?.count ?? n) >= n, "GEMM.multiplyActivation: operand too small")
        var out = [Double](repeating: .nan, count: m * n)
        let code = activation.kernelCode
        let biasArray = bias ?? []
        var status: Int32 = 0
        withValidPointers(a, b, biasArray, &out) { ap, bp, biasPointer, cp in
            status = ck_dgemm_activation_with(kernel?.rawValue ?? Int32(CK_KERNEL_DEFAULT), m, n, k, ap, max(k, 1),
                                              bp, max(n, 1), cp, max(n, 1), bias == nil ? nil : biasPointer,
                                              code.kind, code.slope)
        }
        precondition(status == 0, "GEMM.multiplyActivation: kernel \(kernel.map(\.description) ?? "") is not available")
        return out
    }

    /// The fused input gradient of a dense layer, C = (A·Bᵀ) ⊙ f′(y) for an m×k `a`, an n×k `b` and
    /// m×n activation outputs `y` of `activation` (identity: C = A·Bᵀ), computed by `kernel`
    /// (default: the one in use), which must be available. Returns C and, when `columnSums`,
    /// its column sums (the previous layer's bias gradient; otherwise empty).
    public static func multiplyTransposedMasked(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, y: [Double],
                                                activation: Activation, columnSums: Bool,
                                                kernel: Kernel? = nil) -> (product: [Double], columnSums: [Double]) {
        precondition(a.count >= m * k && b.count >= n * k && y.count >= m * n, "GEMM.multiplyTransposedMasked: operand too small")
        var out = [Double](repeating: .nan, count: m * n)
        var sums = [Double](repeating: 0, count: columnSums ? n : 0)
        let code = activation.kernelCode
        var status: Int32 = 0
        sums.withUnsafeMutableBufferPointer { ps in
            withValidPointers(a, b, y, &out) { ap, bp, yp, cp in
                status = ck_dgemm_nt_masked_with(kernel?.rawValue ?? Int32(CK_KERNEL_DEFAULT), m, n, k, ap, max(k, 1),
                                                 bp, max(k, 1), cp, max(n, 1), code.kind, yp, max(n, 1), code.slope,
                                                 columnSums ? ps.baseAddress : nil)
            }
        }
        precondition(status == 0, "GEMM.multiplyTransposedMasked: kernel \(kernel.map(\.description) ?? "") is not available")
        return (out, sums)
    }

    /// Calls `body` with base addresses of three inputs and one output, a valid dummy address
    /// standing in for an empty array's (possibly nil) one.
    private static func withValidPointers(_ x: [Double], _ y: [Double], _ z: [Double], _ out: inout [Double],
                                          _ body: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>,
                                                   UnsafeMutablePointer<Double>) -> Void) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 1) { dummy in
            let d = dummy.baseAddress!
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    z.withUnsafeBufferPointer { pz in
                        out.withUnsafeMutableBufferPointer { po in
                            body(px.baseAddress ?? UnsafePointer(d), py.baseAddress ?? UnsafePointer(d),
                                 pz.baseAddress ?? UnsafePointer(d), po.baseAddress ?? d)
                        }
                    }
                }
            }
        }
    }
}
