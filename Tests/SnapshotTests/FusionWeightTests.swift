import Foundation
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import Testing
import TestSupport

/// The hybrid fusion's dense weight travels with the model version in the snapshot header, and
/// a header that claims an impossible one is refused like any other damage.
@Suite("fusion weight in the snapshot header")
struct FusionWeightTests {
    static func write(_ path: String, weight: Float?) throws {
        let model = SnapshotEncoder.Model(name: "synthetic", version: "1", dimension: GenerationSnapshots.dimension, hybridDenseWeight: weight)
        _ = try SnapshotFileWriter(path: path).publish(model: model, templates: GenerationSnapshots.templates(generation: 1, count: 8), minimumGeneration: 1)
    }

    static func patch(_ path: String, at offset: Int, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    @Test func theWeightIsRecordedAndRead() throws {
        let directory = try TemporaryDirectory("fusion-weight")
        defer { directory.remove() }
        try Self.write(directory.path("a.snapshot"), weight: 0.8)
        #expect(try MappedSnapshot(path: directory.path("a.snapshot")).header.hybridDenseWeight == 0.8)
        // A file from before weights were recorded: none, and hybrid search uses 0.5.
        try Self.write(directory.path("b.snapshot"), weight: nil)
        #expect(try MappedSnapshot(path: directory.path("b.snapshot")).header.hybridDenseWeight == nil)
        #expect(throws: SnapshotError.self) { try Self.write(directory.path("c.snapshot"), weight: 1.5) }
        #expect(throws: SnapshotError.self) { try Self.write(directory.path("d.snapshot"), weight: .nan) }
    }

    @Test func anImpossibleWeightInTheHeaderIsRefused() throws {
        let directory = try TemporaryDirectory("fusion-weight-damage")
        defer { directory.remove() }
        for (name, offset, bytes) in [("nan", 212, Array(withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init))),
                                      ("negative", 212, Array(withUnsafeBytes(of: Float(-0.5).bitPattern.littleEndian, Array.init))),
                                      ("flag", 208, [2, 0, 0, 0])] {
            let path = directory.path("\(name).snapshot")
            try Self.write(path, weight: 0.8)
            try Self.patch(path, at: offset, bytes)
            do {
                _ = try MappedSnapshot(path: path)
                Issue.record("\(name): a header with an impossible fusion weight was accepted")
            } catch let error as SnapshotError {
                #expect(error.code == .inconsistent, "\(name): \(error)")
            }
        }
    }

    /// Per-query normalisation: a model whose cosines all sit within a few hundredths still
    /// decides the ranking in proportion to its weight (the lexical side cannot swamp it).
    @Test func theDenseSideIsNormalisedPerQuery() throws {
        let directory = try TemporaryDirectory("fusion-normalised")
        defer { directory.remove() }
        let path = directory.path("n.snapshot")
        // Two templates: A matches the query's words, B is the model's choice by 0.02 in cosine.
        func unit(_ values: [Float]) -> [Float] { let n = values.reduce(0) { $0 + $1 * $1 }.squareRoot(); return values.map { $0 / n } }
        let templates = [
            SnapshotTemplate(id: "a", category: "c", subcategory: "s", question: "кредит декрет", answer: "", metadataJSON: "[]", vector: unit([0.80, 0.60])),
            SnapshotTemplate(id: "b", category: "c", subcategory: "s", question: "работа за рубежом", answer: "", metadataJSON: "[]", vector: unit([0.82, 0.572])),
        ]
        let model = SnapshotEncoder.Model(name: "m", version: "1", dimension: 2, hybridDenseWeight: 0.8)
        _ = try SnapshotFileWriter(path: path).publish(model: model, templates: templates, minimumGeneration: 1)
        let snapshot = try MappedSnapshot(path: path)
        let query = SearchQuery(text: "кредит", vector: unit([0.83, 0.557]), mode: .hybrid)
        #expect(try snapshot.search(query, k: 2).results.first?.id == "b", "at 0.8 the model's small margin decides")
        var lexicalHeavy = SearchTuning()
        lexicalHeavy.fusion = .weightedSum(denseWeight: 0.3)
        #expect(try snapshot.search(query, k: 2, tuning: lexicalHeavy).results.first?.id == "a", "at 0.3 the matching word decides")
    }
}
