import ArgumentParser
import Foundation
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import SyncEngine
import SnapshotFollowing
import Logging
import ServiceLifecycle
import Settings
import TemplateStore

extension FAQSyncCommand {
    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish or inspect the memory-mapped snapshot retrieval processes read.",
            subcommands: [Publish.self, Show.self, Install.self, Follow.self], defaultSubcommand: Show.self)

        struct Install: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Put a snapshot file (a backup, another host's copy) in place at the snapshot path, safely.",
                discussion: """
                    Never copy a file over the live snapshot with cp: readers map it, and a file changed in place \
                    under them tears their answers. This validates FILE (checksum included) and publishes its \
                    templates atomically under the next generation, so readers switch to it as to any new snapshot. \
                    The writer's next sync publishes from its store again.
                    """)
            @OptionGroup var common: CommonOptions
            @Argument(help: "The snapshot file to install.") var file: String

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let configuration = try common.configuration()
                    let installed = try SnapshotFileWriter(path: configuration.snapshotPath).install(from: file)
                    if common.json { try JSONOutput.print(installed) }
                    else {
                        print("Installed \(file) (generation \(installed.sourceGeneration), \(installed.templates) templates, \(installed.model)) as generation \(installed.generation) at \(configuration.snapshotPath).")
                    }
                }
            }
        }

        struct Publish: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Publish the current version as a new snapshot generation.")
            @OptionGroup var common: CommonOptions

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let configuration = try common.configuration()
                    let store = configuration.makeStore()
                    let coordinator = configuration.makeCoordinator(store: store, embedder: nil, logger: Logger(label: "faqsync.snapshot"))
                    guard let record = try await coordinator.publishNow() else {
                        throw SnapshotError(code: .missing, path: configuration.snapshotPath,
                                            message: "the store \(store.location) has no current version to publish; run `faqsync sync` first")
                    }
                    if common.json { try JSONOutput.print(SnapshotOutput(path: record.path, published: record)) }
                    else { print("Snapshot generation \(record.generation) (\(record.templateCount) templates) published to \(record.path).") }
                }
            }
        }

        struct Follow: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Keep a local snapshot built from the PostgreSQL store, updated on every committed change.",
                discussion: """
                    For retrieval hosts other than the writer's: LISTENs for faqsync_changed and rebuilds the snapshot \
                    at --snapshot from only the rows changed since its last generation. Prints one line per rebuild \
                    (one JSON object with --json). Needs STORAGE_BACKEND=postgres or --store postgres.
                    """)
            @OptionGroup var common: CommonOptions

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let configuration = try common.configuration()
                    let logger = Logger(label: "faqsync.follow")
                    let follower = try Self.follower(configuration, logger: logger, json: common.json)
                    let group = ServiceGroup(configuration: .init(services: [follower], gracefulShutdownSignals: [.sigterm, .sigint],
                                                                  logger: logger))
                    try await group.run()
                }
            }

            static func follower(_ configuration: FAQSyncConfiguration, logger: Logger, json: Bool?) throws -> SnapshotFollower {
                return SnapshotFollower(store: try configuration.makeChangeFeed(), snapshotPath: configuration.snapshotPath, logger: logger) { rebuild in
                    guard let json else { return }
                    if json {
                        let encoder = JSONEncoder()
                        encoder.outputFormatting = [.sortedKeys]
                        if let line = try? encoder.encode(rebuild) { Terminal.writeLine(String(decoding: line, as: UTF8.self)) }
                    } else {
                        Terminal.writeLine("snapshot generation \(rebuild.snapshotGeneration) from store generation \(rebuild.storeGeneration) (version \(rebuild.versionID)): \(rebuild.templates) templates, \(rebuild.changedRows) rows changed, \(rebuild.deletedRows) deleted, \(rebuild.complete ? "complete load" : "incremental") in \(String(format: "%.3f", rebuild.seconds)) s")
                    }
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Validate the snapshot file and print its header.")
            @OptionGroup var common: CommonOptions

            func run() async throws {
                try await withFailureHandling(json: common.json) {
                    let configuration = try common.configuration()
                    let snapshot = try MappedSnapshot.opening(configuration.snapshotPath)
                    let info = SnapshotInfo(snapshot)
                    if common.json { try JSONOutput.print(info) } else { print(info.text) }
                }
            }
        }
    }
}

struct SnapshotInfo: Encodable {
    let path: String
    let generation: UInt64
    let createdAt: Date
    let modelName: String
    let modelVersion: String
    let dimension: Int
    let templates: Int
    let bytes: Int
    let formatVersion: UInt32
    /// Distinct terms in the lexical index (of the base, for a delta); nil for a version 1 file.
    let lexicalTerms: Int?
    /// For a delta (format version 3): its base and what it changes there; nil for a whole file.
    let delta: Delta?

    struct Delta: Encodable {
        let baseGeneration: UInt64
        let basePath: String
        let baseTemplates: Int
        let baseBytes: Int
        /// The base's templates the delta removes (changed or deleted since the base).
        let removed: Int
        /// The templates the delta holds itself (new or changed since the base).
        let ownTemplates: Int

        enum CodingKeys: String, CodingKey {
            case baseGeneration = "base_generation", basePath = "base_path", baseTemplates = "base_templates"
            case baseBytes = "base_bytes", removed, ownTemplates = "own_templates"
        }
    }
    /// Hybrid search's dense weight recorded for the model version; nil when the file records
    /// none (hybrid search then uses 0.5).
    let hybridDenseWeight: Float?

    init(_ snapshot: MappedSnapshot) {
        let header = snapshot.header
        path = snapshot.path
        generation = header.generation
        createdAt = Date(timeIntervalSince1970: Double(header.createdMillis) / 1000)
        modelName = header.modelName
        modelVersion = header.modelVersion
        dimension = header.dimension
        let contents = snapshot.contents
        templates = contents.count
        bytes = header.fileSize
        formatVersion = header.formatVersion
        lexicalTerms = contents.lexical?.segments.first?.view.termCount
        delta = contents.base.map { base in
            Delta(baseGeneration: base.header.generation,
                  basePath: SnapshotLayout.basePath(of: snapshot.path, generation: base.header.generation),
                  baseTemplates: base.count, baseBytes: base.header.fileSize, removed: base.count - (contents.count - contents.top.count),
                  ownTemplates: contents.top.count)
        }
        hybridDenseWeight = header.hybridDenseWeight
    }

    enum CodingKeys: String, CodingKey {
        case path, generation, createdAt = "created_at", modelName = "model_name", modelVersion = "model_version"
        case dimension, templates, bytes, formatVersion = "format_version", lexicalTerms = "lexical_terms"
        case hybridDenseWeight = "hybrid_dense_weight", delta
    }

    var text: String {
        "\(path): format version \(formatVersion), generation \(generation), \(templates) templates, \(modelName) \(modelVersion) (\(dimension) dimensions), "
            + (lexicalTerms.map { "lexical index of \($0) terms\(delta == nil ? "" : " in its base"), " } ?? "no lexical index (dense search only), ")
            + (hybridDenseWeight.map { String(format: "hybrid fusion %.2f × dense + %.2f × lexical, ", $0, 1 - $0) }
                ?? "no hybrid weight recorded (0.5 × dense + 0.5 × lexical), ")
            + "\(bytes) bytes, created \(createdAt.formatted(.iso8601)); checksum verified"
            + (delta.map { ". A delta over generation \($0.baseGeneration) (\($0.basePath), \($0.baseTemplates) templates, \($0.baseBytes) bytes, checksum verified): \($0.removed) of its templates removed, \($0.ownTemplates) of its own" } ?? "")
    }
}

extension SearchMode: ExpressibleByArgument {}
