#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing a file so that readers see either the old content or the new, never a part.
public enum AtomicFile {
    /// Writes `bytes` to `path` through `path.tmp` (written, flushed to disk, then renamed into
    /// place). A process killed mid-write leaves the previous file intact and at most a
    /// `path.tmp` that the next write replaces; an error removes the temporary file and says
    /// why, with the system's reason (`No space left on device`, `Read-only file system`…).
    public static func write<C: Collection>(_ bytes: C, to path: String) throws where C.Element == UInt8 {
        let tmp = path + ".tmp"
        func failure(_ what: String) -> RLHFError {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            return .io(path: path, message: "\(what): \(reason)")
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create the file") }
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { close(fd); throw failure("cannot write the file") }
            offset += n
        }
        guard fsync(fd) == 0 else { close(fd); throw failure("cannot write the file to disk") }
        guard close(fd) == 0 else { throw failure("cannot write the file") }
        guard rename(tmp, path) == 0 else { throw failure("cannot move the temporary file into place") }
    }
}
