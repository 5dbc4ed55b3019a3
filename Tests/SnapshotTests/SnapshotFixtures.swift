import Embedding
import Foundation
import Logging
import SnapshotFormat
import SnapshotPublishing
import SyncEngine
import SQLiteStore
import TemplateStore
import TestSupport

/// A store synced from a spreadsheet and published as a snapshot, in a temporary directory.
struct PublishedFixture {
    let directory: TemporaryDirectory
    let store: SQLiteTemplateStore
    let snapshotPath: String
    let embedder: LocalHashingEmbedder

    static func make(_ label: String, faq: URL = Fixtures.faq, dimension: Int = 1024) async throws -> PublishedFixture {
        let directory = try TemporaryDirectory(label)
        let store = SQLiteTemplateStore(path: directory.path("store.db"))
        let embedder = LocalHashingEmbedder(dimension: dimension)
        let snapshotPath = directory.path("faqsync.snapshot")
        _ = try await SyncCoordinator(store: store, embedder: embedder, snapshotPath: snapshotPath, source: SyncSource(faqURL: faq),
                                      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })).sync()
        return PublishedFixture(directory: directory, store: store, snapshotPath: snapshotPath, embedder: embedder)
    }
}

/// Synthetic snapshots whose every text names its generation, to detect mixed results.
enum GenerationSnapshots {
    static let dimension = 64

    static func templates(generation: UInt64, count: Int) -> [SnapshotTemplate] {
        (0..<count).map { index in
            var vector = (0..<dimension).map { Float(sin(Double(index * dimension + $0) * 0.37 + Double(generation))) }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            vector = vector.map { $0 / norm }
            return SnapshotTemplate(id: "t\(index)", category: "c\(index % 3)", subcategory: "s", question: "q\(index)",
                                    answer: "generation \(generation)", metadataJSON: "[]", vector: vector)
        }
    }

    static let model = SnapshotEncoder.Model(name: "synthetic", version: "1", dimension: dimension)
}
