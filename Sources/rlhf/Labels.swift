import ArgumentParser
import Foundation
import RLHFService

/// `rlhf labels`: the answers stored by the labeling service.
struct Labels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labels",
        abstract: "Read the answers stored by the labeling service (`rlhf serve`).",
        subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a project's answers as JSON Lines, one answer a line.",
            discussion: """
                The same rows as the service's GET /api/projects/{project}/export, read from the \
                store directly (the service need not run): project, key, comparison_id, slot, \
                annotator, choice, issued_at, answered_at, time_to_answer_ms, the two \
                trajectories and their returns. Ordered by comparison, then slot.

                Examples:
                  rlhf labels export --db labels.db --project classic-zpg --out answers.jsonl
                  rlhf labels export --db postgres://rlhf@db.lab/labels --project classic-zpg | head
                """)

        @OptionGroup var database: DatabaseOption

        @Option(help: "The project's name.")
        var project: String

        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "FILE"))
        var out: String?

        func run() async throws {
            let store = try await database.open()
            let data: Data
            do {
                data = try await LabelExport.jsonLines(project: project, store: store)
                try await store.close()
            } catch {
                try? await store.close()
                throw ServeError("cannot export project '\(project)' from \(database.displayName): \(error)")
            }
            guard let out else {
                FileHandle.standardOutput.write(data)
                return
            }
            do {
                try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ServeError("cannot write the export to \(out): \(error.localizedDescription)")
            }
            printError("Wrote \(data.filter { $0 == 0x0A }.count) answers of project '\(project)' to \(out).")
        }
    }
}
