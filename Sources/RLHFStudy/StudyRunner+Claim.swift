#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RLHF

/// A claim on one run of a study folder: whoever holds it computes the run; nobody else does.
///
/// Any number of processes, on any number of machines sharing the folder (NFS included), may run
/// the same study into it: before computing a run, a process claims it by creating
/// `runs/<id>/claim.<k>` with `link(2)`, which is atomic and exclusive on every POSIX filesystem
/// and on NFS (where `flock` and `O_EXCL` have not always been). The file holds the owner's host,
/// process id and start time; the owner refreshes its modification time every ``heartbeat``
/// seconds while it computes. A claim is *stale*, and may be taken over, when its process is dead
/// on this host, or when it has not been refreshed for ``staleAfter`` seconds (a machine that
/// crashed or lost the folder). Taking over never deletes the old claim: it creates the next one,
/// `claim.<k+1>`, with the same exclusive `link`, so two processes that find the same stale claim
/// cannot both win. Claims go once the run is finished (`run.json`, renamed into place) or has
/// failed (`error.txt`).
struct RunClaim: Sendable {
    /// The claim file held.
    let path: String
    /// Its generation (`k` in `claim.<k>`).
    let generation: Int

    /// File name prefix of claims in a run's folder.
    static let prefix = "claim."

    /// Who we are, as written into claims: `host pid start-time token`.
    struct Owner: Sendable, Equatable {
        var host: String
        var pid: Int32
        var started: Double
        var token: UInt64

        static let current = Owner(host: RunClaim.hostName(), pid: getpid(), started: Date().timeIntervalSince1970,
                                   token: UInt64.random(in: 0...UInt64.max))

        var line: String { "host=\(host) pid=\(pid) started=\(started) token=\(token)" }

        /// Parses a claim's content (nil if it is not one).
        init?(line: String) {
            var fields: [String: String] = [:]
            for part in line.split(whereSeparator: \.isWhitespace) {
                guard let eq = part.firstIndex(of: "=") else { continue }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            guard let host = fields["host"], let pid = fields["pid"].flatMap(Int32.init) else { return nil }
            self.init(host: host, pid: pid, started: fields["started"].flatMap(Double.init) ?? 0,
                      token: fields["token"].flatMap(UInt64.init) ?? 0)
        }

        init(host: String, pid: Int32, started: Double, token: UInt64) {
            self.host = host; self.pid = pid; self.started = started; self.token = token
        }

        /// A short description for messages: `host:pid`.
        var brief: String { "\(host):\(pid)" }
    }

    /// This machine's host name.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer)
        return name.isEmpty ? "localhost" : name.replacingOccurrences(of: " ", with: "_")
    }

    /// What a claim file says about its owner, and whether it is still alive.
    struct Holder: Sendable {
        var owner: Owner?
        var live: Bool
        var age: Double
    }

    /// The generations of the claims in `runDirectory` (sorted).
    static func generations(in runDirectory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return names.compactMap { $0.hasPrefix(prefix) ? Int($0.dropFirst(prefix.count)) : nil }.sorted()
    }

    /// Whether the claim at `path` is held by a live process (see the type's discussion).
    static func holder(_ path: String, staleAfter: Double) -> Holder? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        let mtime = Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) / 1e9
        let age = Date().timeIntervalSince1970 - mtime
        let text = (FileManager.default.contents(atPath: path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let owner = Owner(line: text)
        if let o = owner, o.host == Owner.current.host {
            // On this host the process table decides at once (a process killed with -9 leaves its claim).
            if o.pid == Owner.current.pid { return Holder(owner: o, live: o.token == Owner.current.token, age: age) }
            if kill(o.pid, 0) != 0 && errno == ESRCH { return Holder(owner: o, live: false, age: age) }
        }
        return Holder(owner: owner, live: age <= staleAfter, age: age)
    }

    /// The live claim of a run, if any.
    static func liveHolder(of runDirectory: String, staleAfter: Double) -> Owner?? {
        guard let k = generations(in: runDirectory).last,
              let h = holder(runDirectory + "/" + prefix + "\(k)", staleAfter: staleAfter), h.live else { return nil }
        return .some(h.owner)
    }

    /// Claims the run whose folder is `runDirectory` (created if needed); nil if a live process holds it.
    static func acquire(_ runDirectory: String, staleAfter: Double) throws -> RunClaim? {
        try RunOutput.prepare(directory: runDirectory)
        let me = Owner.current
        // A name of this call's own: the link count below tells whether *this* file was linked.
        let temporary = runDirectory + "/.claim-\(me.host)-\(me.pid)-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((me.line + "\n").utf8)) else {
            throw StudyError("cannot write a claim in \(runDirectory) (\(String(cString: strerror(errno))))")
        }
        defer { unlink(temporary) }
        var k = generations(in: runDirectory).last ?? 0
        if k > 0, let h = holder(runDirectory + "/" + prefix + "\(k)", staleAfter: staleAfter), h.live { return nil }
        // Bounded: every failed attempt means another claim appeared since the listing.
        for _ in 0..<1000 {
            let path = runDirectory + "/" + prefix + "\(k + 1)"
            let linked = link(temporary, path) == 0
            let reason = errno
            // On NFS a link can succeed although the reply was lost: two names on our file mean it did.
            var s = stat()
            if linked || (stat(temporary, &s) == 0 && s.st_nlink == 2) {
                return RunClaim(path: path, generation: k + 1)
            }
            guard reason == EEXIST else {
                throw StudyError("cannot create the claim \(path) (\(String(cString: strerror(reason))))")
            }
            k += 1
            if let h = holder(path, staleAfter: staleAfter), h.live { return nil }
        }
        throw StudyError("cannot claim \(runDirectory): more than 1000 claims")
    }

    /// Refreshes the claim's modification time (the heartbeat).
    func touch() {
        utimes(path, nil)
    }

    /// Removes this claim and the older (stale) ones; a newer claim (a process that took the run
    /// over from us) stays.
    func release() {
        let directory = (path as NSString).deletingLastPathComponent
        for k in Self.generations(in: directory) where k <= generation {
            unlink(directory + "/" + Self.prefix + "\(k)")
        }
    }
}

/// Refreshes the claims a process holds every `interval` seconds, on a background thread.
final class ClaimHeartbeat: @unchecked Sendable {
    private let lock = NSLock()
    private var claims: [String: RunClaim] = [:]
    private let ticker: Ticker

    /// Every heartbeat's claims, for ``StudyRunner/releaseClaimsOnTermination()``.
    nonisolated(unsafe) static var all: [ObjectIdentifier: ClaimHeartbeat] = [:]
    static let allLock = NSLock()

    /// The claims held now by every heartbeat of this process.
    static func held() -> [RunClaim] {
        allLock.lock(); let beats = Array(all.values); allLock.unlock()
        return beats.flatMap { b in b.lock.lock(); defer { b.lock.unlock() }; return Array(b.claims.values) }
    }

    init(interval: Double) {
        let box = Box()
        ticker = Ticker(interval: interval) { box.heartbeat?.beat() }
        box.heartbeat = self
        ticker.start()
        Self.allLock.lock(); Self.all[ObjectIdentifier(self)] = self; Self.allLock.unlock()
    }

    private final class Box: @unchecked Sendable { weak var heartbeat: ClaimHeartbeat? }

    func add(_ c: RunClaim) { lock.lock(); claims[c.path] = c; lock.unlock() }
    func remove(_ c: RunClaim) { lock.lock(); claims[c.path] = nil; lock.unlock() }

    private func beat() {
        lock.lock(); let all = Array(claims.values); lock.unlock()
        for c in all { c.touch() }
    }

    func stop() {
        ticker.stop()
        Self.allLock.lock(); Self.all[ObjectIdentifier(self)] = nil; Self.allLock.unlock()
    }
}

/// The write end of the pipe that SIGTERM and SIGINT are forwarded through (-1: not set up).
nonisolated(unsafe) private var terminationPipe: Int32 = -1

/// The signal handler: the signal's number into the pipe.
private func forwardTermination(_ sig: Int32) {
    var number = UInt8(truncatingIfNeeded: sig)
    _ = write(terminationPipe, &number, 1)
}

extension StudyRunner {
    /// Makes SIGTERM and SIGINT (Slurm's `scancel` and time limit, Ctrl-C) release the claims
    /// this process holds before it ends, so that another machine can take those runs over at
    /// once instead of after ``staleAfter``. The process then ends by the same signal. Call once,
    /// from a program (not a library): it replaces those signals' handling.
    ///
    /// The handler only writes the signal's number to a pipe (what a signal handler may do);
    /// a thread waiting on the pipe releases the claims and ends the process.
    public static func releaseClaimsOnTermination() {
        guard terminationPipe < 0 else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        terminationPipe = fds[1]
        let reader = fds[0]
        Thread.detachNewThread {
            var number: UInt8 = 0
            while read(reader, &number, 1) != 1 {}
            for claim in ClaimHeartbeat.held() { claim.release() }
            let sig = Int32(number)
            signal(sig, SIG_DFL)
            // To the process (this thread may block the signal): ends it as the signal would.
            kill(getpid(), sig)
            Thread.sleep(forTimeInterval: 1)
            _exit(128 + sig)
        }
        for sig in [SIGTERM, SIGINT] { signal(sig, forwardTermination) }
        // A process started with these signals blocked (the mask is inherited: Foundation's
        // Process passes its thread's on) would never see them; threads made from here on
        // inherit this thread's mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
