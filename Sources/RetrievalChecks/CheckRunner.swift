import CodedErrors
import Embedding
import Foundation
import SnapshotFormat
import SnapshotReader

/// Runs the FAQ team's checks against a snapshot: the question of each check is embedded as a
/// query by the snapshot's own model and searched in each mode, as a retrieval process would.
package struct CheckRunner: Sendable {
    /// What a check looks at: the top 10 (for the reciprocal rank); a hit is the top 3.
    static let depth = 10

    package let modes: [SearchMode]

    /// - Parameter modes: the first is the one reported as the result (retrieval's default, hybrid).
    package init(modes: [SearchMode] = [.hybrid, .dense, .lexical]) {
        self.modes = modes
    }

    /// - Parameter embedder: the snapshot's model, to embed the questions; nil runs lexical mode only.
    package func run(_ list: CheckList, on snapshot: MappedSnapshot, embedder: (any Embedder)?, now: Date = Date()) async throws -> CheckReport {
        let header = snapshot.header
        var modes = self.modes
        var vectors: [[Float]]?
        if let embedder, !list.checks.isEmpty, modes.contains(where: { $0 != .lexical }) {
            guard embedder.model.name == header.modelName, embedder.model.version == header.modelVersion,
                  embedder.model.dimension == header.dimension else {
                throw CheckError(message: "the configured model \(embedder.model) is not the snapshot's (\(header.modelName) \(header.modelVersion)): the checks need the version's own model")
            }
            var embedded: [[Float]] = []
            for start in stride(from: 0, to: list.checks.count, by: max(1, embedder.preferredBatchSize)) {
                let batch = list.checks[start..<min(list.checks.count, start + max(1, embedder.preferredBatchSize))].map(\.question)
                embedded += try await embedder.embed(batch, as: .query)
            }
            try EmbeddingValidation.validate(embedded, inputs: list.checks.count, model: embedder.model)
            vectors = embedded
        } else if embedder == nil {
            modes = [.lexical]
        }
        var scores: [CheckReport.Score] = []
        var misses: [CheckReport.Miss] = []
        for (position, mode) in modes.enumerated() {
            var score = CheckReport.Score(mode: mode.rawValue, total: list.checks.count, top1: 0, top3: 0, mrr: 0)
            var reciprocalRanks = 0.0
            for (index, check) in list.checks.enumerated() {
                let query = SearchQuery(text: check.question, vector: mode == .lexical ? nil : vectors?[index], mode: mode)
                let hits = try snapshot.search(query, k: Self.depth).results
                let rank = hits.firstIndex { $0.id == check.expectedID }.map { $0 + 1 }
                if rank == 1 { score.top1 += 1 }
                if let rank, rank <= 3 { score.top3 += 1 }
                reciprocalRanks += rank.map { 1 / Double($0) } ?? 0
                if position == 0, rank.map({ $0 > 3 }) ?? true {
                    misses.append(.init(row: check.row, question: check.question, expectedID: check.expectedID, expectedQuestion: check.expectedQuestion,
                                        rank: rank, firstID: hits.first?.id, firstQuestion: hits.first?.question))
                }
            }
            score.mrr = list.checks.isEmpty ? 0 : (reciprocalRanks / Double(list.checks.count) * 1000).rounded() / 1000
            scores.append(score)
        }
        return CheckReport(checkedAt: now, source: list.source, modelName: header.modelName, modelVersion: header.modelVersion,
                           generation: header.generation, scores: scores, misses: misses, skipped: list.skipped, problem: list.problem)
    }
}

package struct CheckError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package init(message: String) { self.message = message }
    package var description: String { message }
}

extension CheckError: CodedError {
    package var errorCode: String { "checks-failed" }
}
