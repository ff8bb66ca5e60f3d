/// Preallocated buffers for an ``MLP``'s forward and backward passes: a copy of the input batch,
/// every layer's output, and two gradient buffers. One workspace per thread; it is not Sendable.
///
/// Buffers are 64-byte aligned and sized for ``capacity`` rows; a larger batch grows them once
/// (the only allocation), so a steady-state training loop allocates nothing.
public final class MLPWorkspace {
    /// The widths of the networks this workspace serves (input, hidden…, output).
    public let widths: [Int]
    /// Rows the buffers hold.
    public private(set) var capacity: Int
    /// Rows of the last forward pass.
    public internal(set) var batch: Int = 0
    @usableFromInline var storage: UnsafeMutableRawPointer
    /// Offsets (in doubles) of the input copy and of each layer's output, then the two gradient buffers.
    @usableFromInline var offsets: [Int] = []
    @usableFromInline var maxWidth: Int

    /// Creates a workspace for networks with `widths` and batches of up to `capacity` rows.
    public init(widths: [Int], capacity: Int = 256) {
        precondition(widths.count >= 2, "a workspace needs at least input and output widths")
        self.widths = widths
        self.capacity = max(capacity, 1)
        self.maxWidth = widths.max()!
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 64)
        allocate()
    }

    /// Creates a workspace for `network`.
    public convenience init(for network: MLP, capacity: Int = 256) {
        self.init(widths: network.widths, capacity: capacity)
    }

    deinit { storage.deallocate() }

    private func allocate() {
        storage.deallocate()
        // Round each buffer up to 8 doubles so every one starts 64-byte aligned.
        func rounded(_ n: Int) -> Int { (n + 7) & ~7 }
        var offsets: [Int] = []
        var total = 0
        for w in widths {
            offsets.append(total)
            total += rounded(capacity * w)
        }
        offsets.append(total); total += rounded(capacity * maxWidth)
        offsets.append(total); total += rounded(capacity * maxWidth)
        self.offsets = offsets
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1) * 8, alignment: 64)
        storage.initializeMemory(as: Double.self, repeating: 0, count: max(total, 1))
    }

    /// Grows the buffers to hold `rows` rows (contents are lost). No-op when they already do.
    public func reserve(_ rows: Int) {
        if rows > capacity {
            capacity = max(rows, capacity * 2)
            allocate()
        }
    }

    @inlinable
    func pointer(_ index: Int) -> UnsafeMutablePointer<Double> {
        storage.assumingMemoryBound(to: Double.self) + offsets[index]
    }

    /// The activations of layer `l` of the last forward pass (l = 0: the input copy; l = L: the
    /// network's output), ``batch`` rows of widths[l].
    @inlinable
    public func activations(_ l: Int) -> UnsafeMutableBufferPointer<Double> {
        UnsafeMutableBufferPointer(start: pointer(l), count: batch * widths[l])
    }

    /// The network's output of the last forward pass (``batch`` rows of the output width).
    @inlinable
    public var output: UnsafeMutableBufferPointer<Double> { activations(widths.count - 1) }

    /// Scratch gradient buffer 0 or 1 (capacity × max width), used by backward passes.
    @inlinable
    func gradientBuffer(_ i: Int) -> UnsafeMutablePointer<Double> { pointer(widths.count + i) }
}
