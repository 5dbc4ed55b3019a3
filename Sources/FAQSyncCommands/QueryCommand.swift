import ArgumentParser
import Foundation
import Settings
import SnapshotFormat
import SnapshotReader

extension FAQSyncCommand {
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the templates closest to a question, from the snapshot.")

        @OptionGroup var common: CommonOptions
        @Argument(help: "The customer's question.") var text: String
        @Option(name: .short, help: "How many templates to return (1-\(MappedSnapshot.maximumK)).") var k = 5
        @Option(help: "Only templates of this category.") var category: String?
        @Option(help: "Only templates of this subcategory.") var subcategory: String?
        @Option(help: "Leave out templates scoring below this (the mode's score: fused, cosine or BM25).") var minScore: Float?
        @Option(help: "hybrid (default: the model and the lexical index, fused), dense (the model alone) or lexical (BM25, no model).")
        var mode: SearchMode = .hybrid

        func run() async throws {
            try await withFailureHandling(json: common.json) {
                let configuration = try common.configuration()
                let snapshot = try MappedSnapshot.opening(configuration.snapshotPath)
                let header = snapshot.header
                var vector: [Float]?
                if mode != .lexical {
                    let embedder = try await configuration.makeEmbedder(knownDimension: header.dimension)
                    guard embedder.model.name == header.modelName, embedder.model.version == header.modelVersion,
                          embedder.model.dimension == header.dimension else {
                        throw SearchError(message: "the configured model \(embedder.model) is not the snapshot's model \(header.modelName) \(header.modelVersion) (\(header.dimension) dimensions): their vectors cannot be compared. Configure the snapshot's model, sync and publish with the configured one, or use --mode lexical")
                    }
                    vector = try await embedder.embed([text], as: .query)[0]
                }
                let results = try snapshot.search(SearchQuery(text: text, vector: vector, mode: mode), k: k,
                                                  filter: SearchFilter(category: category, subcategory: subcategory, minimumScore: minScore))
                if common.json {
                    try JSONOutput.print(results)
                } else {
                    print("Snapshot generation \(results.generation), \(mode.rawValue) search, \(results.results.count) result(s):")
                    for (rank, hit) in results.results.enumerated() {
                        let components = [hit.dense.map { String(format: "dense %.3f", $0) }, hit.lexical.map { String(format: "lexical %.2f", $0) }]
                            .compactMap { $0 }.joined(separator: ", ")
                        print(String(format: "%2d. %.3f  ", rank + 1, hit.score) + "[\(hit.category) / \(hit.subcategory)] \(hit.question)"
                              + (components.isEmpty ? "" : "  (\(components))"))
                        print("      \(hit.answer.replacingOccurrences(of: "\n", with: " ").prefix(160))")
                    }
                }
            }
        }
    }
}

extension MappedSnapshot {
    /// The snapshot a command reads; when there is none, the error says how to get one.
    static func opening(_ path: String) throws -> MappedSnapshot {
        do { return try MappedSnapshot(path: path) } catch let error as SnapshotError where error.code == .missing {
            throw SnapshotError(code: .missing, path: path,
                                message: "there is no snapshot here yet: run `faqsync sync` to publish one, or pass --snapshot PATH (or SNAPSHOT_PATH) to read another")
        }
    }
}
