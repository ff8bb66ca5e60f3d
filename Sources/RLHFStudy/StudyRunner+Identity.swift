#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RLHF

extension StudyRunner {
    /// The file that records which study a folder belongs to.
    static let identityFileName = "study-id"

    /// A study's identity: what its runs compute, independent of how the file is written.
    ///
    /// The hash covers every run's id and full configuration (the thread count aside: it does not
    /// change the numbers), so two study files that differ in comments, key order, spelling of
    /// numbers (`1e5` or `100000`) or report text (title, question, notes) are the same study, and
    /// any difference in a run (an algorithm, a setting, a seed, a budget) makes another one.
    struct Identity: Equatable {
        var name: String
        var runs: Int
        var hash: String

        /// The identity of a training study's plan.
        init(_ plan: StudyPlan) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var text = "training\n"
            for cell in plan.cells.sorted(by: { $0.id < $1.id }) {
                var c = cell.configuration
                c.threads = 1
                let json = (try? encoder.encode(c)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                text += cell.id + "\n" + json + "\n"
            }
            self.init(name: plan.study.name, runs: plan.cells.count, text: text)
        }

        /// The identity of a measurement study (its kind, seeds and quick flag).
        init(measurement study: Study) {
            self.init(name: study.name, runs: 1,
                      text: "\(study.kind.rawValue)\nseeds \(study.seeds.map(String.init).joined(separator: ","))\nquick \(study.quick)\n")
        }

        private init(name: String, runs: Int, text: String) {
            self.name = name
            self.runs = runs
            // Two FNV-1a passes (the second over the text and the first hash) give 128 bits.
            let a = StudyReport.stableSeed(text)
            let b = StudyReport.stableSeed(text, String(a))
            self.hash = String(format: "%016llx%016llx", a, b)
        }

        init(name: String, runs: Int, hash: String) {
            self.name = name; self.runs = runs; self.hash = hash
        }

        /// The file's content.
        var text: String {
            """
            # The study whose runs this folder holds (written by rlhf study). Another study into this
            # folder is refused; delete this file to let one in (its runs with identical settings are reused).
            name: \(name)
            runs: \(runs)
            hash: \(hash)

            """
        }

        /// Reads the file's content (nil if it is not one).
        init?(file text: String) {
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            guard let hash = fields["hash"], !hash.isEmpty else { return nil }
            self.init(name: fields["name"] ?? "?", runs: fields["runs"].flatMap(Int.init) ?? 0, hash: hash)
        }
    }

    /// Records `identity` in the folder, or checks it against the one recorded there.
    ///
    /// Created with `link(2)` from a complete temporary file, so that processes starting at the
    /// same moment on an empty folder agree on one identity (NFS included).
    ///
    /// - Throws: ``StudyError`` if the folder belongs to another study, or its `study-id` is damaged.
    func checkIdentity(_ identity: Identity) throws {
        try RunOutput.prepare(directory: directory)
        let path = directory + "/" + Self.identityFileName
        if FileManager.default.fileExists(atPath: path) { return try compareIdentity(identity, path) }
        let temporary = directory + "/.study-id-\(RunClaim.Owner.current.host)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(identity.text.utf8)) else {
            throw StudyError("cannot write \(path) (\(String(cString: strerror(errno))))")
        }
        defer { unlink(temporary) }
        if link(temporary, path) == 0 { return }
        let reason = errno
        guard reason == EEXIST else {
            var s = stat()
            if stat(temporary, &s) == 0 && s.st_nlink == 2 { return }
            throw StudyError("cannot create \(path) (\(String(cString: strerror(reason))))")
        }
        try compareIdentity(identity, path)
    }

    /// Records the plan's identity in the folder (created if needed), or checks it against the
    /// one there, before anything runs (as `--slurm` does before submitting).
    ///
    /// - Throws: ``StudyError`` if the folder belongs to another study.
    public func claimFolder(_ plan: StudyPlan) throws {
        try checkIdentity(Identity(plan))
    }

    /// Checks the plan's identity against the folder's, if it has one; writes nothing.
    func verifyIdentity(_ plan: StudyPlan) throws {
        let path = directory + "/" + Self.identityFileName
        if FileManager.default.fileExists(atPath: path) { try compareIdentity(Identity(plan), path) }
    }

    private func compareIdentity(_ identity: Identity, _ path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let saved = Identity(file: String(decoding: data, as: UTF8.self)) else {
            throw StudyError("\(path) is damaged (no 'hash:' line); delete it if this folder's runs belong to the study you are running")
        }
        guard saved.hash == identity.hash else {
            throw StudyError("\(directory) holds another study ('\(saved.name)', \(saved.runs) runs, id \(saved.hash)); this one is '\(identity.name)', \(identity.runs) runs, id \(identity.hash). Use another --out; or, to let this study into the folder and reuse its runs with identical settings, delete \(path)")
        }
    }
}
