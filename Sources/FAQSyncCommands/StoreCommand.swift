import ArgumentParser
import Foundation
import PostgresClient
import TemplateStore

extension FAQSyncCommand {
    struct Store: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Work on stores as a whole.", subcommands: [Copy.self])

        struct Copy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy every version, template and vector into an empty store, without embedding anything.",
                discussion: """
                    A store is sqlite:PATH, postgres (the database DATABASE_URL or POSTGRES_* configure) or a \
                    postgres://user@host:port/database URL. For example, to move to PostgreSQL: \
                    faqsync store copy --from sqlite:data/faqsync.db --to postgres
                    """)

            @Option(help: ArgumentHelp("The store to read.", valueName: "store")) var from: String
            @Option(help: ArgumentHelp("The empty store to fill.", valueName: "store")) var to: String
            @Flag(help: "Print one JSON object instead of text.") var json = false

            func run() async throws {
                try await withFailureHandling(json: json) {
                    let source = try Self.store(from, option: "--from")
                    let target = try Self.store(to, option: "--to")
                    let started = Date()
                    let report = try await StoreCopy.copy(from: source, to: target)
                    if json {
                        try JSONOutput.print(report)
                    } else {
                        print("Copied \(report.versions.count) version(s), \(report.templates) templates, from \(source.location) to \(target.location) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s; no embedding calls.")
                        for version in report.versions {
                            print("  version \(version.sourceID) → \(version.targetID)  \(version.model)  \(version.templates) templates\(version.isCurrent ? "  (current)" : "")")
                        }
                    }
                }
            }

            static func store(_ text: String, option: String) throws -> any TemplateStore {
                if text.hasPrefix("sqlite:") {
                    let path = String(text.dropFirst("sqlite:".count))
                    guard !path.isEmpty else { throw ConfigurationError(key: option, message: "needs a path after sqlite:") }
                    return SQLiteTemplateStore(path: path)
                }
                if text == "postgres" {
                    return PostgresTemplateStore(settings: try FAQSyncConfiguration.postgresSettingsFromEnvironment())
                }
                if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
                    do { return PostgresTemplateStore(settings: try PostgresSettings(url: text)) } catch let error as PostgresSettingsError {
                        throw ConfigurationError(key: option, message: error.message)
                    }
                }
                throw ConfigurationError(key: option, message: "must be sqlite:PATH, postgres or a postgres:// URL, not '\(text)'")
            }
        }
    }
}
