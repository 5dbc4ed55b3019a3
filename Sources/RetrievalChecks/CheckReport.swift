import Foundation
import SpreadsheetReading

/// How one model version did on the FAQ team's checks: per search mode, how many customer
/// questions found their template first, in the top 3, and the mean reciprocal rank (over the
/// top 10); and every miss of the first mode, with what came first instead.
package struct CheckReport: Sendable, Codable, Equatable {
    package struct Score: Sendable, Codable, Equatable {
        package var mode: String
        package var total: Int
        package var top1: Int
        package var top3: Int
        /// Mean of 1 / rank over the checks, 0 for a template beyond the top 10.
        package var mrr: Double

        package init(mode: String, total: Int, top1: Int, top3: Int, mrr: Double) {
            self.mode = mode
            self.total = total
            self.top1 = top1
            self.top3 = top3
            self.mrr = mrr
        }

        enum CodingKeys: String, CodingKey { case mode, total, top1 = "top_1", top3 = "top_3", mrr }
    }

    /// A check whose template was not among the first three.
    package struct Miss: Sendable, Codable, Equatable {
        package var row: Int
        package var question: String
        package var expectedID: String
        package var expectedQuestion: String
        /// Where the expected template came (1-based), nil beyond the top 10.
        package var rank: Int?
        package var firstID: String?
        package var firstQuestion: String?

        enum CodingKeys: String, CodingKey {
            case row, question, expectedID = "expected_id", expectedQuestion = "expected_question", rank
            case firstID = "first_id", firstQuestion = "first_question"
        }
    }

    package var checkedAt: Date
    /// Where the checks came from (file, and sheet in a workbook).
    package var source: String
    package var modelName: String
    package var modelVersion: String
    package var generation: UInt64
    /// One per mode run, the first being the mode that retrieval processes use by default.
    package var scores: [Score]
    package var misses: [Miss]
    package var skipped: [CheckSheet.Skipped]
    package var problem: String?

    enum CodingKeys: String, CodingKey {
        case checkedAt = "checked_at", source, modelName = "model_name", modelVersion = "model_version", generation
        case scores, misses, skipped, problem
    }

    /// The first mode's score: what `status`, `/metrics`, the page and the cut-over gate use.
    package var primary: Score? { scores.first }

    /// The page's sentence, e.g. «47 из 50 вопросов находят нужный шаблон в первой тройке».
    package func sentence(russian: Bool) -> String {
        guard let primary, primary.total > 0 else {
            return russian ? "Проверок нет: ни одна строка листа проверок не указывает на шаблон FAQ." : "No checks: no row of the checks names a template of the FAQ."
        }
        if russian {
            return "\(primary.top3) из \(primary.total) \(Self.russianQuestions(primary.total)) находят нужный шаблон в первой тройке, \(primary.top1) — на первом месте."
        }
        return "\(primary.top3) of \(primary.total) questions find their template in the top 3, \(primary.top1) first."
    }

    static func russianQuestions(_ count: Int) -> String {
        let lastTwo = count % 100, last = count % 10
        if (11...14).contains(lastTwo) { return "вопросов" }
        if last == 1 { return "вопроса" }  // «1 из 21 вопроса»
        return "вопросов"
    }
}
