import ArgumentParser
import Foundation
import Logging
import Settings
import SyncEngine
import TemplateStore

extension FAQSyncCommand {
    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, switch and clean embedding-model versions.",
            subcommands: [List.self, Set.self, Clean.self], defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the versions; * marks the current one.")
            @OptionGroup var common: CommonOptions

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let store = try common.configuration().makeStore()
                    let versions = store.exists() ? try await store.versions() : []
                    if common.json { try JSONOutput.print(versions.map(VersionOutput.init)) }
                    else if versions.isEmpty { print("No versions yet: run `faqsync sync`.") }
                    else { print(versions.map { VersionOutput($0).line }.joined(separator: "\n")) }
                }
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a version current (no embedding; readers switch at once).")
            @OptionGroup var common: CommonOptions
            @Argument(help: "The version id, from `faqsync versions list`.") var id: Int64
            @Flag(help: "Make it current even if the FAQ team's checks find it worse than the current version.") var force = false

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let configuration = try common.configuration()
                    let store = configuration.makeStore()
                    guard store.exists() else {
                        throw StoreError(code: .versionNotFound, location: store.location, message: "there is no store yet")
                    }
                    // As the only writer (a sync in flight finishes first); readers switch with the
                    // snapshot published right after, not at the next sync.
                    let logger = Logger(label: "faqsync.versions")
                    // The checks (the cut-over gate) embed their questions with each version's model.
                    let configured = force ? nil : try? await configuration.makeEmbedder(logger: logger)
                    let coordinator = configuration.makeCoordinator(store: store, embedder: configured, logger: logger)
                    let (version, publication) = try await coordinator.setCurrentVersion(id, force: force)
                    if common.json { try JSONOutput.print(VersionOutput(version)) }
                    else {
                        print("Version \(version.id) (\(version.model)) is now current.")
                        if let publication { print("Snapshot generation \(publication.generation) published to \(publication.path).") }
                    }
                }
            }
        }

        struct Clean: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Delete every version except the current one, with its templates and cached vectors.")
            @OptionGroup var common: CommonOptions

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let store = try common.configuration().makeStore()
                    guard store.exists() else { print("No store yet: nothing to clean."); return }
                    // Never while a sync fills a new (not yet current) version: that version would go.
                    let report = try await store.exclusively { try await store.removeNonCurrentVersions() }
                    if common.json {
                        try JSONOutput.print(CleanOutput(removedVersions: report.removedVersions.map(VersionOutput.init),
                                                         removedTemplates: report.removedTemplates,
                                                         removedCacheEntries: report.removedCacheEntries))
                    } else if report.removedVersions.isEmpty {
                        print("Nothing to clean: only the current version is stored.")
                    } else {
                        print("Removed \(report.removedVersions.count) version(s) (\(report.removedVersions.map { "\($0.id)" }.joined(separator: ", "))), \(report.removedTemplates) templates, \(report.removedCacheEntries) cached vectors.")
                    }
                }
            }
        }
    }
}

struct CleanOutput: Encodable {
    let removedVersions: [VersionOutput]
    let removedTemplates: Int
    let removedCacheEntries: Int

    enum CodingKeys: String, CodingKey {
        case removedVersions = "removed_versions", removedTemplates = "removed_templates", removedCacheEntries = "removed_cache_entries"
    }
}
