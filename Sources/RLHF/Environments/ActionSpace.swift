/// The set an environment's actions come from (spec §1 has finite sets; continuous control has
/// boxes of reals).
public enum ActionSpace: Sendable, Equatable, Codable {
    /// Actions 0..<count.
    case finite(Int)
    /// Vectors a with low[i] ≤ a[i] ≤ high[i] (low and high of the same length, the dimension).
    case box(low: [Double], high: [Double])

    /// Number of actions of a finite space, nil for a box.
    @inlinable public var count: Int? {
        if case let .finite(n) = self { return n }
        return nil
    }

    /// Length of an action vector of a box, nil for a finite space.
    @inlinable public var dimension: Int? {
        if case let .box(low, _) = self { return low.count }
        return nil
    }

    /// Whether the space is finite.
    @inlinable public var isFinite: Bool { count != nil }

    /// Clips `action` into the box [low, high] elementwise, in place (the one clipping of box
    /// actions: the Gaussian policies, ``ActionClipping`` and recorded trajectories use it).
    @inlinable
    public static func clip(_ action: UnsafeMutableBufferPointer<Double>, low: [Double], high: [Double]) {
        for i in 0..<action.count { action[i] = min(max(action[i], low[i]), high[i]) }
    }

    /// `action` clipped into the box [low, high] elementwise.
    @inlinable
    public static func clip(_ action: [Double], low: [Double], high: [Double]) -> [Double] {
        var a = action
        a.withUnsafeMutableBufferPointer { clip($0, low: low, high: high) }
        return a
    }
}
