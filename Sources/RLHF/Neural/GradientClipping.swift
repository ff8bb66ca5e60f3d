/// Global gradient-norm clipping on a flat gradient buffer.
public enum GradientClipping {
    /// The Euclidean norm ‖g‖₂ (scaled to avoid overflow and underflow).
    public static func norm(_ g: UnsafeBufferPointer<Double>) -> Double {
        var scale = 0.0
        for x in g { scale = max(scale, abs(x)) }
        guard scale > 0, scale.isFinite else { return scale }
        let inv = 1 / scale
        var s = 0.0
        for x in g { let y = x * inv; s += y * y }
        return scale * s.squareRoot()
    }

    /// The factor that brings a vector of norm `norm` within `maxNorm`: maxNorm/norm when the
    /// norm is larger (and finite), else 1; always 1 without a limit. The one clipping rule of
    /// the toolkit: the flat-buffer forms below, PPO's joint clip over its two networks, and the
    /// zeroth-order steps (whose gradient norm is known without a buffer) all use it.
    @inlinable
    public static func factor(norm: Double, maxNorm: Double?) -> Double {
        guard let maxNorm else { return 1 }
        precondition(maxNorm > 0, "gradient clipping: maxNorm must be positive")
        return norm > maxNorm && norm.isFinite ? maxNorm / norm : 1
    }

    /// Rescales `g` in place so that ‖g‖₂ ≤ maxNorm (no change when already within), and returns
    /// the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ g: UnsafeMutableBufferPointer<Double>, maxNorm: Double) -> Double {
        let n = norm(UnsafeBufferPointer(g))
        let f = factor(norm: n, maxNorm: maxNorm)
        if f != 1 { for i in g.indices { g[i] *= f } }
        return n
    }

    /// Rescales `a` and `b` together so that the norm of their concatenation is at most
    /// `maxNorm` (PPO clips its policy and value gradients jointly, as CleanRL does); returns
    /// that norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ a: inout [Double], _ b: inout [Double], maxNorm: Double) -> Double {
        let na = a.withUnsafeBufferPointer { norm($0) }, nb = b.withUnsafeBufferPointer { norm($0) }
        let n = (na * na + nb * nb).squareRoot()
        let f = factor(norm: n, maxNorm: maxNorm)
        if f != 1 {
            for i in a.indices { a[i] *= f }
            for i in b.indices { b[i] *= f }
        }
        return n
    }

    /// Array form of ``clipGlobalNorm(_:maxNorm:)``.
    @discardableResult
    public static func clipGlobalNorm(_ g: inout [Double], maxNorm: Double) -> Double {
        g.withUnsafeMutableBufferPointer { clipGlobalNorm($0, maxNorm: maxNorm) }
    }
}
