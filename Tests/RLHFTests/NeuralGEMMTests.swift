import Testing
import RLHF
import RLHFTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Neural: matrix kernels")
struct NeuralGEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (3, 7, 5), (65, 130, 7), (6, 8, 64), (7, 9, 257), (13, 17, 300), (64, 64, 256), (2, 3, 0),
    ]

    @Test("every transpose form, with and without accumulation and bias, matches the naive triple loop",
          arguments: GEMM.runnableKernels)
    func matchesNaive(kernel: GEMM.Kernel) {
        var rng = Xoshiro256(seed: 11)
        for (m, n, k) in Self.shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = NeuralTestSupport.randomArray(m * k, &rng)
                    let b = NeuralTestSupport.randomArray(k * n, &rng)
                    let c = NeuralTestSupport.randomArray(m * n, &rng)
                    let bias = NeuralTestSupport.randomArray(n, &rng)
                    for (acc, useBias) in [(false, false), (true, false), (false, true), (true, true)] {
                        let got = GEMM.multiply(a, b, m: m, n: n, k: k, transposeA: ta, transposeB: tb,
                                                adding: acc ? c : nil, bias: useBias ? bias : nil, kernel: kernel)
                        let want = NeuralTestSupport.naiveMultiply(a, b, m: m, n: n, k: k, transposeA: ta, transposeB: tb,
                                                                   adding: acc ? c : nil, bias: useBias ? bias : nil)
                        // Sums of k products of N(0,1) values: rounding error ≲ k·ε·√k ≪ 1e-10.
                        let err = NeuralTestSupport.maxError(got, want)
                        #expect(err < 1e-10, "m=\(m) n=\(n) k=\(k) tA=\(ta) tB=\(tb) acc=\(acc) bias=\(useBias): error \(err)")
                    }
                }
            }
        }
    }

    @Test("strided operands (leading dimensions larger than the column count) are honoured")
    func leadingDimensions() {
        var rng = Xoshiro256(seed: 12)
        let (m, n, k) = (9, 11, 13)
        let lda = k + 3, ldb = n + 5, ldc = n + 2
        let a = NeuralTestSupport.randomArray(m * lda, &rng)
        let b = NeuralTestSupport.randomArray(k * ldb, &rng)
        var c = [Double](repeating: -7, count: m * ldc)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    GEMM.multiply(transposeA: false, transposeB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                  b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<ldc {
                if j >= n { #expect(c[i * ldc + j] == -7); continue }
                var s = 0.0
                for p in 0..<k { s += a[i * lda + p] * b[p * ldb + j] }
                #expect(abs(c[i * ldc + j] - s) < 1e-12)
            }
        }
    }

    @Test("the kernel in use is named, available, and the best one unless RLHF_KERNEL asks for another")
    func kernelName() {
        #expect(["avx512f", "avx2+fma", "portable", "openblas"].contains(GEMM.kernelName))
        #expect(GEMM.availableKernels.contains(GEMM.kernel))
        #expect(GEMM.availableKernels.last == .portable)
        #expect(!GEMM.availableKernels.contains(.avx512TilesOnAVX2))
        if getenv("RLHF_KERNEL") == nil { #expect(GEMM.kernel == GEMM.availableKernels.first) }
        // The test-only variant runs exactly where AVX2 does.
        #expect(GEMM.Kernel.avx512TilesOnAVX2.isAvailable == GEMM.Kernel.avx2.isAvailable)
    }
}

/// Every kernel this machine can run (AVX-512F, AVX2+FMA, the AVX-512 tiles compiled for AVX2)
/// against the portable one, on sizes that are not multiples of any tile (edge rows and columns,
/// packed and in-place B, one and several K blocks) and through the fused forms.
@Suite("Neural: every matrix kernel against the portable one")
struct NeuralKernelComparisonTests {
    /// Odd sizes: 1 below, at and above the tile widths (4, 6, 8, 16) and the panel width 64.
    static let sizes = [1, 3, 7, 13, 17, 31, 65, 129]
    /// Kernels to compare with ``GEMM/Kernel/portable``.
    static let kernels = GEMM.runnableKernels.filter { $0 != .portable }

    /// Every (m, n) pair of ``sizes``, k cycling through them too, plus k beyond one K block (256).
    static func shapes() -> [(m: Int, n: Int, k: Int)] {
        var out: [(m: Int, n: Int, k: Int)] = []
        for (i, m) in sizes.enumerated() {
            for (j, n) in sizes.enumerated() { out.append((m, n, sizes[(i + 2 * j) % sizes.count])) }
        }
        out += [(17, 31, 300), (65, 13, 513), (8, 16, 257), (129, 65, 1)]
        return out
    }

    /// Mixed absolute/relative tolerance: both kernels sum the same k products in different orders.
    static let tolerance = 1e-10

    @Test("plain products: every transpose form, with and without accumulation and bias", arguments: kernels)
    func products(kernel: GEMM.Kernel) {
        var rng = Xoshiro256(seed: 21)
        var worst = 0.0
        for (m, n, k) in Self.shapes() {
            let a = NeuralTestSupport.randomArray(m * k, &rng)
            let b = NeuralTestSupport.randomArray(k * n, &rng)
            let c = NeuralTestSupport.randomArray(m * n, &rng)
            let bias = NeuralTestSupport.randomArray(n, &rng)
            for ta in [false, true] {
                for tb in [false, true] {
                    for (acc, useBias) in [(false, false), (true, false), (false, true), (true, true)] {
                        func run(_ kernel: GEMM.Kernel) -> [Double] {
                            GEMM.multiply(a, b, m: m, n: n, k: k, transposeA: ta, transposeB: tb,
                                          adding: acc ? c : nil, bias: useBias ? bias : nil, kernel: kernel)
                        }
                        let err = NeuralTestSupport.maxError(run(kernel), run(.portable))
                        worst = max(worst, err)
                        #expect(err < Self.tolerance, "\(kernel) m=\(m) n=\(n) k=\(k) tA=\(ta) tB=\(tb) acc=\(acc) bias=\(useBias): error \(err)")
                    }
                }
            }
        }
        #expect(worst < Self.tolerance)
    }

    @Test("fused forward: act(bias + A·B) for every activation, with and without bias", arguments: kernels)
    func fusedForward(kernel: GEMM.Kernel) {
        var rng = Xoshiro256(seed: 22)
        // Leaky slope 1.5 is outside [0, 1]: the unfused path.
        let activations: [Activation] = [.identity, .relu, .leakyReLU(slope: 0.1), .leakyReLU(slope: 1.5), .tanh]
        for (m, n, k) in Self.shapes() {
            let a = NeuralTestSupport.randomArray(m * k, &rng)
            let b = NeuralTestSupport.randomArray(k * n, &rng)
            let bias = NeuralTestSupport.randomArray(n, &rng)
            for activation in activations {
                for useBias in [false, true] {
                    let got = GEMM.multiplyActivation(a, b, m: m, n: n, k: k, bias: useBias ? bias : nil,
                                                      activation: activation, kernel: kernel)
                    let want = GEMM.multiplyActivation(a, b, m: m, n: n, k: k, bias: useBias ? bias : nil,
                                                       activation: activation, kernel: .portable)
                    let err = NeuralTestSupport.maxError(got, want)
                    #expect(err < Self.tolerance, "\(kernel) \(activation) m=\(m) n=\(n) k=\(k) bias=\(useBias): error \(err)")
                }
            }
        }
    }

    @Test("fused backward: (A·Bᵀ) ⊙ f′(y) and its column sums for every activation", arguments: kernels)
    func fusedBackward(kernel: GEMM.Kernel) {
        var rng = Xoshiro256(seed: 23)
        let activations: [Activation] = [.identity, .relu, .leakyReLU(slope: 0.1), .tanh]
        for (m, n, k) in Self.shapes() {
            let a = NeuralTestSupport.randomArray(m * k, &rng)
            let b = NeuralTestSupport.randomArray(n * k, &rng)
            for activation in activations {
                // y: outputs of the activation (ReLU: about half zero; tanh: in (−1, 1)).
                var y = NeuralTestSupport.randomArray(m * n, &rng)
                y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: m * n) }
                for sums in [false, true] {
                    let got = GEMM.multiplyTransposedMasked(a, b, m: m, n: n, k: k, y: y, activation: activation,
                                                            columnSums: sums, kernel: kernel)
                    let want = GEMM.multiplyTransposedMasked(a, b, m: m, n: n, k: k, y: y, activation: activation,
                                                             columnSums: sums, kernel: .portable)
                    let err = NeuralTestSupport.maxError(got.product, want.product)
                    let sumErr = NeuralTestSupport.maxError(got.columnSums, want.columnSums)
                    #expect(err < Self.tolerance && sumErr < Self.tolerance,
                            "\(kernel) \(activation) m=\(m) n=\(n) k=\(k) sums=\(sums): error \(err), column sums \(sumErr)")
                }
            }
        }
    }

    @Test("the portable fused forms match the naive triple loop with the activation applied after")
    func portableFusedMatchesNaive() {
        var rng = Xoshiro256(seed: 24)
        let (m, n, k) = (13, 17, 31)
        let a = NeuralTestSupport.randomArray(m * k, &rng)
        let b = NeuralTestSupport.randomArray(k * n, &rng)
        let bias = NeuralTestSupport.randomArray(n, &rng)
        var want = NeuralTestSupport.naiveMultiply(a, b, m: m, n: n, k: k, transposeA: false, transposeB: false, bias: bias)
        want.withUnsafeMutableBufferPointer { Activation.leakyReLU(slope: 0.1).apply($0.baseAddress!, count: m * n) }
        let got = GEMM.multiplyActivation(a, b, m: m, n: n, k: k, bias: bias, activation: .leakyReLU(slope: 0.1), kernel: .portable)
        #expect(NeuralTestSupport.maxError(got, want) < 1e-12)

        // b read as n×k (transposed), y the ReLU outputs: C = (A·Bᵀ) masked where y ≤ 0.
        let y = NeuralTestSupport.randomArray(m * n, &rng).map { max($0, 0) }
        let product = NeuralTestSupport.naiveMultiply(a, b, m: m, n: n, k: k, transposeA: false, transposeB: true)
        let masked = zip(product, y).map { $1 > 0 ? $0 : 0 }
        let fused = GEMM.multiplyTransposedMasked(a, b, m: m, n: n, k: k, y: y, activation: .relu, columnSums: true, kernel: .portable)
        #expect(NeuralTestSupport.maxError(fused.product, masked) < 1e-12)
        let sums = (0..<n).map { j in (0..<m).reduce(0.0) { $0 + masked[$1 * n + j] } }
        #expect(NeuralTestSupport.maxError(fused.columnSums, sums) < 1e-12)
    }
}
