import ArgumentParser
import Foundation
import Settings
import SQLiteStore
import TemplateStore

extension FAQSyncCommand {
    struct Store: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Work on stores as a whole.", subcommands: [Copy.self, Backup.self])

        struct Backup: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a consistent copy of the SQLite store, while the daemon keeps running.",
                discussion: """
                    Uses SQLite's online backup: syncs may go on meanwhile. The copy is one self-contained file \
                    (mode 0600), checked with quick_check before it is renamed into place; an existing file is never \
                    overwritten. To restore: stop faqsync, put the copy at the store's path (owned by the faqsync user), \
                    delete any faqsync.db-wal and faqsync.db-shm beside it, start faqsync. A PostgreSQL store is backed \
                    up with pg_dump (docs/operating.md, "Back up and restore").
                    """)

            @OptionGroup var common: CommonOptions
            @Argument(help: "Where to write the copy (a new file).") var path: String

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let configuration = try common.configuration()
                    guard configuration.backend == .sqlite else {
                        throw ConfigurationError(key: "STORAGE_BACKEND", message: "is postgres: back up a PostgreSQL store with pg_dump, e.g. pg_dump --format=custom --table='embedding_*' --table=templates --table='template_*' --table=quarantined_templates --table=sync_runs --table=snapshot_publications --table=store_state --table=faqsync_migrations DATABASE > faqsync.dump")
                    }
                    let started = Date()
                    let backup = try await SQLiteTemplateStore(path: configuration.sqlitePath).backup(to: path)
                    if common.json { try JSONOutput.print(backup) } else {
                        print("Backed up \(backup.source) to \(backup.path): \(backup.templates) templates in \(backup.versions) version(s), \(backup.bytes / 1024) KiB, in \(String(format: "%.2f", Date().timeIntervalSince(started))) s.")
                    }
                }
            }
        }

        struct Copy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy every version, template and vector into an empty store, without embedding anything.",
                discussion: """
                    A store is sqlite:PATH, postgres (the database DATABASE_URL or POSTGRES_* configure) or a \
                    postgres://user@host:port/database URL, whose password comes from POSTGRES_PASSWORD_FILE or \
                    POSTGRES_PASSWORD (a password on the command line is visible in ps). For example, to move to \
                    PostgreSQL: faqsync store copy --from sqlite:data/faqsync.db --to postgres
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
                if URLComponents(string: text)?.password != nil {
                    Terminal.writeError("faqsync: warning: the password in \(option) is visible to every user of this machine (ps) and stays in the shell's history; give the URL without it and the password in POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD)\n")
                }
                return try StoreLocation(text, option: option).makeStore()
            }
        }
    }
}
