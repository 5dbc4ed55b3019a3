import Embedding
import Foundation
import InProcessModel
import Logging
import Reconciliation
import SnapshotFormat
import SnapshotReader
import SpreadsheetReading
import SQLiteStore
import SyncEngine
import Testing
import TestSupport

/// Search modes on the real FAQ, for each model the project ships: top-1 and top-3 per mode on
/// the original system's 15 validation queries, this project's paraphrases (Paraphrases.swift:
/// the set the hybrid weights are chosen on) and the held-out questions (HeldOutQuestions.swift:
/// never used to choose anything). The printed tables are docs/retrieval.md's ("Search modes"); the
/// assertions hold the shipped figures and the rule that fusion never makes a model worse:
/// on every set, hybrid top-1 and top-3 are at least the better single mode's, minus one query.
@Suite("search modes", .serialized)
struct SearchModeTests {
    struct Score: CustomStringConvertible {
        var top1 = 0, top3 = 0, total = 0
        var description: String { "\(top1) / \(top3) of \(total)" }
    }

    struct QuerySet {
        let name: String
        let queries: [(text: String, row: Int)]
    }

    static func querySets() throws -> [QuerySet] {
        [QuerySet(name: "validation", queries: try ValidationQueries.load().map { ($0.query, Int($0.correct_template_id.dropFirst(5))!) }),
         QuerySet(name: "paraphrases", queries: Paraphrases.all.map { ($0.query, $0.template) }),
         QuerySet(name: "held out", queries: HeldOutQuestions.all.map { ($0.query, $0.template) })]
    }

    /// A published snapshot of the real FAQ and every query's vector, for one model.
    struct Measured {
        let snapshot: MappedSnapshot
        let ids: [String]
        let vectors: [String: [Float]]
        let directory: TemporaryDirectory

        static func make(_ embedder: any Embedder, label: String, input: ModelInput = .questionAndAnswer) async throws -> Measured {
            let directory = try TemporaryDirectory(label)
            let store = SQLiteTemplateStore(path: directory.path("store.db"))
            let path = directory.path("faqsync.snapshot")
            _ = try await SyncCoordinator(store: store, embedder: embedder, snapshotPath: path,
                                          source: SyncSource(faqURL: Fixtures.faq, modelInput: input),
                                          logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })).sync()
            let texts = try querySets().flatMap { $0.queries.map(\.text) }
            let vectors = try await embedder.embed(texts, as: .query)
            return Measured(snapshot: try MappedSnapshot(path: path),
                            ids: try SpreadsheetReader().read(Fixtures.faq).rows.map { TemplateIdentity.identity(of: $0) },
                            vectors: Dictionary(zip(texts, vectors), uniquingKeysWith: { first, _ in first }), directory: directory)
        }

        func score(_ set: QuerySet, mode: SearchMode, fusion: Fusion? = nil) throws -> Score {
            var tuning = SearchTuning()
            tuning.fusion = fusion
            var score = Score()
            for (text, row) in set.queries {
                let found = try snapshot.search(SearchQuery(text: text, vector: vectors[text], mode: mode), k: 3, tuning: tuning).results.map(\.id)
                score.total += 1
                if found.first == ids[row] { score.top1 += 1 }
                if found.contains(ids[row]) { score.top3 += 1 }
            }
            return score
        }

        /// The table docs/retrieval.md shows, and each set's scores by mode.
        func table(model: String) throws -> (text: String, scores: [String: [SearchMode: Score]]) {
            let sets = try querySets()
            var text = "| \(model): mode | " + sets.map { "\($0.name) (\($0.queries.count)): top-1 / top-3" }.joined(separator: " | ") + " |\n"
            text += "|---|" + sets.map { _ in "---|" }.joined() + "\n"
            var scores: [String: [SearchMode: Score]] = [:]
            for mode in [SearchMode.dense, .lexical, .hybrid] {
                var row = "| \(mode.rawValue) |"
                for set in sets {
                    let score = try self.score(set, mode: mode)
                    scores[set.name, default: [:]][mode] = score
                    row += " \(score.top1) / \(score.top3) |"
                }
                text += row + "\n"
            }
            return (text, scores)
        }

        /// The weights tried on the tuning set (paraphrases) alone: how the shipped one was chosen.
        func weightGrid() throws -> String {
            let tuning = try querySets().first { $0.name == "paraphrases" }!
            var lines: [String] = []
            for weight in stride(from: Float(0.3), through: 0.91, by: 0.1) {
                lines.append(String(format: "dense weight %.1f: paraphrases %@", weight, "\(try score(tuning, mode: .hybrid, fusion: .weightedSum(denseWeight: weight)))"))
            }
            lines.append("rank fusion k=60: paraphrases \(try score(tuning, mode: .hybrid, fusion: .reciprocalRank(k: 60)))")
            return lines.joined(separator: "\n")
        }
    }

    /// Fusion never makes the model worse: on every set, hybrid is within one query of the better single mode.
    static func expectFusionRule(_ scores: [String: [SearchMode: Score]], model: String) {
        for (set, modes) in scores {
            guard let dense = modes[.dense], let lexical = modes[.lexical], let hybrid = modes[.hybrid] else { continue }
            #expect(hybrid.top1 >= max(dense.top1, lexical.top1) - 1, "\(model), \(set), top-1: hybrid \(hybrid), dense \(dense), lexical \(lexical)")
            #expect(hybrid.top3 >= max(dense.top3, lexical.top3) - 1, "\(model), \(set), top-3: hybrid \(hybrid), dense \(dense), lexical \(lexical)")
        }
    }

    @Test func localEmbedder() async throws {
        let measured = try await Measured.make(LocalHashingEmbedder(), label: "search-modes-local")
        defer { measured.directory.remove() }
        #expect(measured.snapshot.header.hybridDenseWeight == HybridWeights.denseWeight(forModelNamed: LocalHashingEmbedder.modelName))
        let (table, scores) = try measured.table(model: "local")
        print("search modes, local embedder:\n\(table)\nweights on the tuning set:\n\(try measured.weightGrid())")
        Self.expectFusionRule(scores, model: "local")
        // The shipped figures (docs/retrieval.md); better is welcome, worse fails.
        #expect(scores["validation"]![.hybrid]!.top3 >= 12)
        #expect(scores["paraphrases"]![.hybrid]!.top1 >= 23 && scores["paraphrases"]![.hybrid]!.top3 >= 28)
        #expect(scores["held out"]![.hybrid]!.top3 >= 34)
    }

    @Test func multilingualModel() async throws {
        let embedder = try InstalledModel.embedder()
        let measured = try await Measured.make(embedder, label: "search-modes-e5")
        defer { measured.directory.remove() }
        #expect(measured.snapshot.header.modelName == MultilingualE5Embedder.modelName)
        #expect(measured.snapshot.header.hybridDenseWeight == HybridWeights.denseWeight(forModelNamed: MultilingualE5Embedder.modelName))
        let (table, scores) = try measured.table(model: "multilingual-e5-small")
        print("search modes, multilingual-e5-small:\n\(table)\nweights on the tuning set:\n\(try measured.weightGrid())")
        Self.expectFusionRule(scores, model: "e5")
        // The shipped figures (docs/retrieval.md); better is welcome, worse fails. Hybrid top-1 may
        // be one query lower: the same engine, weights and code gave 29 and 37 on one 2-core
        // machine and 28 and 36 on another (an AVX-512 CPU), every other figure the same. The
        // engine's floats are not bit-identical across CPUs, and fused scores at the top of a
        // list can sit that close.
        for (set, dense, hybrid) in [("validation", (12, 12), (12, 12)), ("paraphrases", (27, 31), (29, 32)), ("held out", (34, 43), (37, 44))] {
            #expect(scores[set]![.dense]!.top1 >= dense.0 && scores[set]![.dense]!.top3 >= dense.1, "\(set): dense \(scores[set]![.dense]!)")
            #expect(scores[set]![.hybrid]!.top1 >= hybrid.0 - 1 && scores[set]![.hybrid]!.top3 >= hybrid.1, "\(set): hybrid \(scores[set]![.hybrid]!)")
        }

        // The other embedded text, on the tuning set: how EMBEDDING_INPUT's default was kept.
        let questionsOnly = try await Measured.make(embedder, label: "search-modes-e5-q", input: .question)
        defer { questionsOnly.directory.remove() }
        let tuning = try Self.querySets().first { $0.name == "paraphrases" }!
        print("question-only passages, paraphrases: dense \(try questionsOnly.score(tuning, mode: .dense)), hybrid \(try questionsOnly.score(tuning, mode: .hybrid))\n\(try questionsOnly.weightGrid())")
        print("question-only passages, all sets (for README.md, not for choosing):\n\(try questionsOnly.table(model: "e5, question only").text)")
    }
}
