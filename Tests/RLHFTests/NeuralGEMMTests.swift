import Testing
import RLHF
import RLHFTestSupport

@Suite("Neural: matrix kernels")
struct NeuralGEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (3, 7, 5), (65, 130, 7), (6, 8, 64), (7, 9, 257), (13, 17, 300), (64, 64, 256), (2, 3, 0),
    ]

    @Test("every transpose form, with and without accumulation and bias, matches the naive triple loop",
          arguments: [false, true])
    func matchesNaive(portable: Bool) {
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
                                                adding: acc ? c : nil, bias: useBias ? bias : nil, portable: portable)
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

    @Test("the kernel in use is named")
    func kernelName() {
        #expect(["avx2+fma", "portable", "openblas"].contains(GEMM.kernelName))
    }
}
