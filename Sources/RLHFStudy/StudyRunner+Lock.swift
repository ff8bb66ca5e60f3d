#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension StudyRunner {
    /// The lock file of an output folder.
    static let lockFileName = ".lock"

    /// An exclusive `flock` on `DIR/.lock`, held while a measurement study runs into DIR (training
    /// studies claim each run instead: see ``RunClaim``), so that a second
    /// `rlhf study` into the same folder stops at once instead of computing the same runs and
    /// racing on the same files. The kernel drops the lock when the process ends, however it ends
    /// (Ctrl-C, `kill -9`), so a stopped study never leaves a stale lock behind.
    final class FolderLock {
        private var descriptor: Int32

        /// Takes the lock of `directory` (which must exist).
        ///
        /// - Throws: ``StudyError`` if another process holds it, or if the lock file cannot be opened.
        init(directory: String) throws {
            let path = directory + "/" + StudyRunner.lockFileName
            descriptor = open(path, O_RDWR | O_CREAT, 0o644)
            guard descriptor >= 0 else {
                throw StudyError("cannot open the lock file \(path) (\(String(cString: strerror(errno))))")
            }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let busy = errno == EWOULDBLOCK
                let reason = String(cString: strerror(errno))
                close(descriptor)
                descriptor = -1
                throw StudyError(busy
                    ? "another rlhf study is running into \(directory) (it holds \(path)); wait for it to finish, or use another --out"
                    : "cannot lock \(path) (\(reason))")
            }
        }

        /// Releases the lock (also released when the process ends).
        func release() {
            guard descriptor >= 0 else { return }
            flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }

        deinit { release() }
    }
}
