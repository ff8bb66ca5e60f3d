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

    /// Rescales `g` in place so that ‖g‖₂ ≤ maxNorm (no change when already within), and returns
    /// the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ g: UnsafeMutableBufferPointer<Double>, maxNorm: Double) -> Double {
        precondition(maxNorm > 0, "clipGlobalNorm: maxNorm must be positive")
        let n = norm(UnsafeBufferPointer(g))
        if n > maxNorm && n.isFinite {
            let f = maxNorm / n
            for i in g.indices { g[i] *= f }
        }
        return n
    }

    /// Array form of ``clipGlobalNorm(_:maxNorm:)``.
    @discardableResult
    public static func clipGlobalNorm(_ g: inout [Double], maxNorm: Double) -> Double {
        g.withUnsafeMutableBufferPointer { clipGlobalNorm($0, maxNorm: maxNorm) }
    }
}
