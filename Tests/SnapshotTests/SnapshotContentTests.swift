import Embedding
import Foundation
import Reconciliation
import SnapshotFormat
import SyncEngine
import SnapshotReader
import SpreadsheetReading
import SQLiteStore
import TemplateStore
import Testing
import TestSupport

@Suite("snapshot content")
struct SnapshotContentTests {
    @Test func storedVectorsAreBitIdenticalToTheEmbeddersAndSearchMatchesBruteForce() async throws {
        let fixture = try await PublishedFixture.make("snapshot-exact")
        defer { fixture.directory.remove() }
        let snapshot = try MappedSnapshot(path: fixture.snapshotPath)
        #expect(snapshot.header.count == 201)
        #expect(snapshot.header.modelName == LocalHashingEmbedder.modelName)
        #expect(snapshot.header.generation == 1)

        // Every vector in the mapping is exactly what the embedder returns for the template's text.
        var byID: [String: Int] = [:]
        for index in 0..<snapshot.contents.count {
            let question = snapshot.contents.string(index, .question), answer = snapshot.contents.string(index, .answer)
            let expected = fixture.embedder.vector(for: question + " " + answer)
            #expect(Array(snapshot.contents.vector(index)).map(\.bitPattern) == expected.map(\.bitPattern))
            byID[snapshot.contents.string(index, .id)] = index
        }

        // The top 5 of every validation query equals an in-memory brute-force ranking.
        let queries = try ValidationQueries.load()
        for query in queries {
            let vector = fixture.embedder.vector(for: query.query)
            let results = try snapshot.search(vector, k: 5)
            var scored: [(index: Int, score: Float)] = []
            for index in 0..<snapshot.contents.count {
                scored.append((index, VectorCoding.dot(Array(snapshot.contents.vector(index)), vector)))
            }
            scored.sort { left, right in left.score > right.score || (left.score == right.score && left.index < right.index) }
            let bruteForce: [Int] = scored.prefix(5).map { $0.index }
            let found: [Int] = results.results.map { byID[$0.id]! }
            #expect(found == bruteForce, "query \(query.id)")
            #expect(results.generation == 1)
        }
    }

    @Test func localEmbedderAccuracyThroughTheSnapshot() async throws {
        let fixture = try await PublishedFixture.make("snapshot-accuracy")
        defer { fixture.directory.remove() }
        let snapshot = try MappedSnapshot(path: fixture.snapshotPath)
        // tmpl_NNN is the 0-based index of the data row; identities are derived, so map through the sheet.
        let rows = try SpreadsheetReader().read(Fixtures.faq).rows
        let ids = rows.map { TemplateIdentity.identity(of: $0) }
        var hits = [1: 0, 3: 0, 5: 0]
        let queries = try ValidationQueries.load()
        for query in queries {
            let wanted = ids[Int(query.correct_template_id.dropFirst(5))!]
            let found = try snapshot.search(fixture.embedder.vector(for: query.query), k: 5).results.map(\.id)
            for k in [1, 3, 5] where found.prefix(k).contains(wanted) { hits[k]! += 1 }
        }
        print("snapshot search accuracy, local embedder, \(queries.count) queries: top-1 \(hits[1]!)/15, top-3 \(hits[3]!)/15, top-5 \(hits[5]!)/15")
        #expect(hits[3]! >= 12)
    }

    @Test func filtersAndMinimumScore() async throws {
        let fixture = try await PublishedFixture.make("snapshot-filters")
        defer { fixture.directory.remove() }
        let snapshot = try MappedSnapshot(path: fixture.snapshotPath)
        let vector = fixture.embedder.vector(for: "Как открыть вклад?")
        let cards = try snapshot.search(vector, k: 10, filter: SearchFilter(category: "Продукты - Карты"))
        #expect(cards.results.count == 10)
        #expect(cards.results.allSatisfy { $0.category == "Продукты - Карты" })
        let narrow = try snapshot.search(vector, k: 10, filter: SearchFilter(subcategory: "Рублевые - Мои условия"))
        #expect(!narrow.results.isEmpty && narrow.results.allSatisfy { $0.subcategory == "Рублевые - Мои условия" })
        let strict = try snapshot.search(vector, k: 10, filter: SearchFilter(minimumScore: 0.5))
        #expect(strict.results.allSatisfy { $0.score >= 0.5 })
        #expect(throws: SearchError.self) { try snapshot.search(vector, k: 0) }
        #expect(throws: SearchError.self) { try snapshot.search([1, 2, 3], k: 3) }
        let first = try #require(cards.results.first)
        #expect(try snapshot.template(id: first.id)?.question == first.question)
        #expect(try snapshot.template(id: "nope") == nil)
    }

    @Test func staleTemporariesOfDeadPublishersAreRemoved() async throws {
        let fixture = try await PublishedFixture.make("snapshot-stale", faq: Fixtures.sampleFAQ)
        defer { fixture.directory.remove() }
        // A publisher killed mid-write leaves its temporary behind; a live one's is left alone.
        let dead = fixture.directory.path(".faqsync.snapshot.999999.1.tmp")
        let alive = fixture.directory.path(".faqsync.snapshot.\(getppid()).2.tmp")
        try Data("partial".utf8).write(to: URL(fileURLWithPath: dead))
        try Data("in progress".utf8).write(to: URL(fileURLWithPath: alive))
        _ = try await SnapshotPublication(store: fixture.store, path: fixture.snapshotPath).publishCurrentVersion()
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: alive))
    }

    @Test func theSnapshotFileIsGroupReadableAndGenerationsOnlyGrow() async throws {
        let fixture = try await PublishedFixture.make("snapshot-mode", faq: Fixtures.sampleFAQ)
        defer { fixture.directory.remove() }
        let mode = try FileManager.default.attributesOfItem(atPath: fixture.snapshotPath)[.posixPermissions] as? Int
        #expect(mode == 0o440)
        // Deleting the file does not reset generations: the store remembers the last one.
        try FileManager.default.removeItem(atPath: fixture.snapshotPath)
        let again = try await SnapshotPublication(store: fixture.store, path: fixture.snapshotPath).publishCurrentVersion()
        #expect(again?.generation == 2)
        #expect(try MappedSnapshot(path: fixture.snapshotPath).generation == 2)
    }
}

struct ValidationQueries: Decodable {
    struct Query: Decodable {
        let id: String
        let query: String
        let correct_template_id: String
    }

    static func load() throws -> [Query] {
        struct File: Decodable { let validation_queries: [Query] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: Fixtures.validationQueries)).validation_queries
    }
}
