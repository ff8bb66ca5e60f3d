import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parallel loops whose results do not depend on the number of threads.
///
/// Work is split into items by the caller; each item draws its random numbers from its own
/// generator (seeded by the item's coordinates) and writes only its own output slot, and
/// results are combined in item order. So the same seed gives the same numbers on 1 or 64 cores.
public enum Parallel {
    /// Number of active processors on this machine.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs `body(i)` for i in 0..<count on up to `threads` threads and returns the results in
    /// index order. With threads ≤ 1 (or one item) it runs inline on the calling thread.
    ///
    /// Built on `DispatchQueue.concurrentPerform`: a few microseconds of overhead, small enough
    /// to parallelize the blocks of one ZBCPG iteration.
    public static func map<T>(_ count: Int, threads: Int, _ body: (Int) -> T) -> [T] {
        if threads <= 1 || count <= 1 {
            return (0..<count).map(body)
        }
        return withoutActuallyEscaping(body) { body in
            let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
            results.initialize(repeating: nil)
            defer { results.deinitialize(); results.deallocate() }
            nonisolated(unsafe) let out = results
            nonisolated(unsafe) let work = body
            let workers = min(threads, count)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < count {
                    out[i] = work(i)
                    i += workers
                }
            }
            return results.map { $0! }
        }
    }
}
