import RLHF

/// Helpers of the neural-layer tests: random arrays, errors, finite differences, a naive GEMM.
public enum NeuralTestSupport {
    public static func randomArray(_ n: Int, _ rng: inout Xoshiro256, scale: Double = 1) -> [Double] {
        (0..<n).map { _ in scale * rng.normal() }
    }

    /// max over i of |a_i − b_i| / max(1, |b_i|): a mixed absolute/relative error.
    public static func maxError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var e = 0.0
        for i in a.indices { e = max(e, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
        return e
    }

    /// Central-difference gradient of `f` at `x`: (f(x + h e_i) − f(x − h e_i)) / 2h.
    /// Truncation error O(h²·f‴) ≈ 1e-10 and rounding error O(ε·|f|/h) ≈ 1e-11 for h = 1e-5 and
    /// O(1) values, so analytic gradients must agree to ~1e-7; tests allow 1e-6.
    public static func numericalGradient(_ x: [Double], h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
        var x = x
        var g = [Double](repeating: 0, count: x.count)
        for i in x.indices {
            let old = x[i]
            x[i] = old + h
            let fp = f(x)
            x[i] = old - h
            let fm = f(x)
            x[i] = old
            g[i] = (fp - fm) / (2 * h)
        }
        return g
    }

    /// Naive triple loop for op(A)·op(B) (+ c) (+ bias), row-major.
    public static func naiveMultiply(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
                              adding c: [Double]? = nil, bias: [Double]? = nil) -> [Double] {
        var out = c ?? [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transposeA ? a[p * m + i] : a[i * k + p]
                    let bv = transposeB ? b[j * k + p] : b[p * n + j]
                    s += av * bv
                }
                out[i * n + j] += s + (bias?[j] ?? 0)
            }
        }
        return out
    }
}
