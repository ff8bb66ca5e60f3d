import Foundation

/// Opens and migrates the label store at `location`: a `postgres://` or `postgresql://` URL
/// opens a `PostgresLabelStore` (see its `init(url:)` for the URL's parameters), anything else
/// is the path of a SQLite file (`SQLiteLabelStore`), created if missing.
///
/// Throws `LabelStoreError.cannotOpen` naming the location (without a password) when it cannot
/// be opened: a folder that does not exist, a file that is not a database, a PostgreSQL server
/// that refuses the connection or does not answer within `timeout` seconds.
public func openLabelStore(_ location: String, timeout: TimeInterval = 15) async throws -> any LabelStore {
    let lowered = location.lowercased()
    if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
        let store = try PostgresLabelStore(url: location)
        do {
            // The timeout is the connection's own (NIO's, on its event loop), not a race against
            // a sleeping task: when other work holds every thread of the concurrency pool, a
            // sleeping task and the connection's answer wake up together, and the race would
            // report a server that did answer as silent.
            try await store.checkConnection(timeout: timeout)
            try await store.migrate()
        } catch {
            try? await store.close()
            if let error = error as? LabelStoreError { throw error }
            throw LabelStoreError.cannotOpen(location: store.location, reason: String(reflecting: error))
        }
        return store
    }
    if location.isEmpty {
        throw LabelStoreError.cannotOpen(location: location, reason: "an empty path")
    }
    var isDirectory: ObjCBool = false
    let folder = URL(fileURLWithPath: location).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw LabelStoreError.cannotOpen(location: location, reason: "the folder \(folder) does not exist")
    }
    if FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory), isDirectory.boolValue {
        throw LabelStoreError.cannotOpen(location: location, reason: "it is a folder, not a database file")
    }
    let store = try SQLiteLabelStore(path: location)
    do {
        try await store.migrate()
    } catch {
        try? await store.close()
        throw LabelStoreError.cannotOpen(location: location, reason: "\(error)")
    }
    return store
}
