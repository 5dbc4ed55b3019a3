import CodedErrors
import PathNames
import Foundation
import Redaction
import Reconciliation
import RetrievalChecks
import SpreadsheetReading
import TemplateStore

/// What the writer did lately, for people rather than programs: the FAQ team's page and
/// `GET /v1/syncs` show it. `faqsync serve` runs as another user and cannot read the store
/// (mode 0600), so the writer publishes this document beside the snapshot after every sync,
/// version switch and publication (`SyncActivityFile`); with PostgreSQL, `serve` builds it from
/// the database instead.
///
/// Bounded by construction: the last `recentRunLimit` runs, each listing at most
/// `listedPerRun` changes and skipped rows (its counts stay whole, so the page can say how many
/// more there are).
package struct SyncActivity: Codable, Sendable, Equatable {
    package static let currentFormat = 1
    package static let recentRunLimit = 20
    package static let listedPerRun = 200
    /// The most any count of a sync may be (far above any spreadsheet's rows, far below overflow).
    package static let countRange = 0...1_000_000_000

    /// The store's current version, as the page names it.
    package struct Version: Codable, Sendable, Equatable {
        package let id: Int64
        package let modelName: String
        package let modelVersion: String
        package let dimension: Int
        package let templates: Int

        package init(_ version: StoredVersion) {
            id = version.id
            modelName = version.model.name
            modelVersion = version.model.version
            dimension = version.model.dimension
            templates = version.templateCount
        }

        enum CodingKeys: String, CodingKey {
            case id, modelName = "model_name", modelVersion = "model_version", dimension, templates
        }
    }

    /// The writer's last sync attempt as the writer saw it: this includes failures the store could
    /// not record (an unreachable database), which `recentSyncs` cannot show.
    package struct Attempt: Codable, Sendable, Equatable {
        package let finishedAt: Date
        package let succeeded: Bool
        package let error: String?
        /// What went wrong in terms a page can put in an editor's language; nil when it succeeded.
        package var problem: Problem?

        package init(finishedAt: Date, succeeded: Bool, error: String?, problem: Problem? = nil) {
            self.finishedAt = finishedAt
            self.succeeded = succeeded
            // Shown on the page and by /v1/syncs (open on loopback): masked and bounded.
            self.error = error.map { Redaction.bounded($0, limit: 2_000) }
            self.problem = problem
        }

        /// A failed attempt, with the error's code and, for a spreadsheet, where the problem is.
        package init(finishedAt: Date, failure: any Error) {
            self.init(finishedAt: finishedAt, succeeded: false, error: "\(failure)", problem: Problem(failure))
        }

        enum CodingKeys: String, CodingKey { case finishedAt = "finished_at", succeeded, error, problem }
    }

    /// A failure as data, not as an English sentence: its code, and for a spreadsheet the file's
    /// name, the row and column, and for a header that was not found the columns missing and the
    /// cells found instead. Bounded like the error text.
    package struct Problem: Codable, Sendable, Equatable {
        package let code: String
        package var fileName: String?
        package var row: Int?
        package var column: String?
        package var missingColumns: [String] = []
        package var foundHeaders: [String] = []

        package init(code: String) { self.code = code }

        init(_ error: any Error) {
            code = (error as? any CodedError)?.errorCode ?? "failed"
            guard let spreadsheet = error as? SpreadsheetError else { return }
            fileName = Redaction.bounded(PathName.fileName(of: spreadsheet.file), limit: 200)
            row = spreadsheet.row
            column = spreadsheet.column.map { Redaction.bounded($0, limit: 200) }
            missingColumns = spreadsheet.missingColumns.prefix(8).map { Redaction.bounded($0, limit: 200) }
            foundHeaders = spreadsheet.foundHeaders.prefix(12).map { Redaction.bounded($0, limit: 200) }
        }

        enum CodingKeys: String, CodingKey {
            case code, fileName = "file_name", row, column, missingColumns = "missing_columns", foundHeaders = "found_headers"
        }

        /// The document is read by another process: the lists may be absent, and are bounded.
        package init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            code = String(try c.decode(String.self, forKey: .code).prefix(64))
            fileName = try c.decodeIfPresent(String.self, forKey: .fileName)
            row = try c.decodeIfPresent(Int.self, forKey: .row)
            column = try c.decodeIfPresent(String.self, forKey: .column)
            missingColumns = Array((try c.decodeIfPresent([String].self, forKey: .missingColumns) ?? []).prefix(8))
            foundHeaders = Array((try c.decodeIfPresent([String].self, forKey: .foundHeaders) ?? []).prefix(12))
        }
    }

    package var format = Self.currentFormat
    package var writtenAt: Date
    package var currentVersion: Version?
    package var lastAttempt: Attempt?
    /// Newest first.
    package var recentSyncs: [Run]
    /// The current version's quarantined templates (the provider rejected their text).
    package var quarantined: [Quarantined]
    /// The FAQ team's checks on the current version, from the last sync that ran them.
    package var checks: CheckReport?
    /// The last decision on a new model version: made current, or held with both scores.
    package var cutOver: CutOverDecision?

    /// A quarantined template, with where an editor finds it when the writer knows (it read the
    /// spreadsheet in the sync that published this).
    package struct Quarantined: Codable, Sendable, Equatable {
        package let templateID: String
        package let reason: String
        package let since: Date
        package var question: String?
        package var row: Int?

        package init(_ entry: QuarantinedTemplate, question: String? = nil, row: Int? = nil) {
            templateID = entry.templateID
            reason = entry.reason
            since = entry.since
            self.question = question
            self.row = row
        }

        enum CodingKeys: String, CodingKey { case templateID = "template_id", reason, since, question, row }
    }

    /// Where a template is in the spreadsheet the writer read: its question and row.
    package typealias SpreadsheetPlaces = [String: (question: String, row: Int)]

    /// The rows the last successful sync left out: what the spreadsheet still needs fixed.
    package var skippedRows: [SkippedRow] { recentSyncs.first { $0.outcome == .succeeded }?.skippedRows ?? [] }

    package init(writtenAt: Date, currentVersion: StoredVersion?, lastAttempt: Attempt?,
                 recentSyncs: [SyncRunRecord], quarantined: [QuarantinedTemplate], places: SpreadsheetPlaces = [:]) {
        self.writtenAt = writtenAt
        self.currentVersion = currentVersion.map(Version.init)
        self.lastAttempt = lastAttempt
        self.recentSyncs = recentSyncs.prefix(Self.recentRunLimit).map { record in
            var run = Run(record)
            run.changes = Array(run.changes.prefix(Self.listedPerRun))
            run.skippedRows = Array(run.skippedRows.prefix(Self.listedPerRun))
            return run
        }
        self.quarantined = quarantined.prefix(Self.listedPerRun).map { entry in
            let place = places[entry.templateID]
            return Quarantined(entry, question: place?.question, row: place?.row)
        }
    }

    /// Quarantined templates not named here keep the question and row `previous` gave them (a
    /// version switch or publication reads no spreadsheet).
    package mutating func keepPlaces(from previous: SyncActivity) {
        let named = Dictionary(previous.quarantined.map { ($0.templateID, $0) }, uniquingKeysWith: { first, _ in first })
        for index in quarantined.indices where quarantined[index].question == nil {
            guard let earlier = named[quarantined[index].templateID] else { continue }
            quarantined[index].question = earlier.question
            quarantined[index].row = earlier.row
        }
    }

    /// Reads it from a store the caller can open (the writer; `serve` on PostgreSQL).
    package static func read(from store: any TemplateStore, lastAttempt: Attempt?, places: SpreadsheetPlaces = [:],
                             now: Date = Date()) async throws -> SyncActivity {
        let versions = try await store.versions()
        let current = versions.first(where: \.isCurrent)
        var quarantined: [QuarantinedTemplate] = []
        if let current { quarantined = try await store.quarantine(model: current.model) }
        let runs = try await store.recentRuns(limit: recentRunLimit, changesPerRun: listedPerRun)
        return SyncActivity(writtenAt: now, currentVersion: current, lastAttempt: lastAttempt,
                            recentSyncs: runs, quarantined: quarantined, places: places)
    }

    enum CodingKeys: String, CodingKey {
        case format, writtenAt = "written_at", currentVersion = "current_version", lastAttempt = "last_attempt"
        case recentSyncs = "recent_syncs", quarantined, skippedRows = "skipped_rows"
        case checks, cutOver = "cut_over"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Int.self, forKey: .format)
        guard format == Self.currentFormat else {
            throw DecodingError.dataCorruptedError(forKey: .format, in: c,
                                                   debugDescription: "format \(format) is not \(Self.currentFormat), the one this faqsync reads")
        }
        writtenAt = try c.decode(Date.self, forKey: .writtenAt)
        currentVersion = try c.decodeIfPresent(Version.self, forKey: .currentVersion)
        lastAttempt = try c.decodeIfPresent(Attempt.self, forKey: .lastAttempt)
        recentSyncs = try c.decode([Run].self, forKey: .recentSyncs)
        // The page adds and charts these counts: a run claiming more than any sync can do (or
        // fewer than none) is not the writer's, and arithmetic on it must never trap.
        for run in recentSyncs {
            let counts = [run.new, run.modified, run.metadataOnly, run.deleted, run.unchanged, run.embeddedTexts, run.cacheHits,
                          run.embeddingRequests, run.templates, run.quarantined, run.tokens ?? 0]
            guard counts.allSatisfy({ Self.countRange.contains($0) }) else {
                throw DecodingError.dataCorruptedError(forKey: .recentSyncs, in: c, debugDescription: "a sync's counts are out of range")
            }
        }
        quarantined = try c.decode([Quarantined].self, forKey: .quarantined)
        checks = try c.decodeIfPresent(CheckReport.self, forKey: .checks)
        cutOver = try c.decodeIfPresent(CutOverDecision.self, forKey: .cutOver)
        // The page does arithmetic on these counts: a document that claims more hits than
        // checks, or negative ones, is not the writer's.
        for score in (checks?.scores ?? []) + [cutOver?.candidateScore, cutOver?.currentScore].compactMap({ $0 }) {
            guard (0...CheckSheet.maxRows).contains(score.total), (0...score.total).contains(score.top1),
                  (score.top1...score.total).contains(score.top3), score.mrr.isFinite, (0...1).contains(score.mrr) else {
                throw DecodingError.dataCorruptedError(forKey: .checks, in: c, debugDescription: "a check score out of range")
            }
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(writtenAt, forKey: .writtenAt)
        try c.encode(currentVersion, forKey: .currentVersion)
        try c.encode(lastAttempt, forKey: .lastAttempt)
        try c.encode(recentSyncs, forKey: .recentSyncs)
        try c.encode(quarantined, forKey: .quarantined)
        try c.encode(skippedRows, forKey: .skippedRows)
        try c.encodeIfPresent(checks, forKey: .checks)
        try c.encodeIfPresent(cutOver, forKey: .cutOver)
    }

    /// The one JSON form of the document, the file's and the API's.
    package static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Milliseconds kept: a sync's duration is the difference of two of these.
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Self.timestamp(date))
        }
        return encoder
    }

    package static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? Self.timestampStyle.parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text.prefix(64))' is not an ISO 8601 timestamp")
        }
        return decoder
    }

    static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// `2026-11-26T05:42:09.037Z`, rounded to the millisecond. Not the format style's own
    /// fractional seconds: it truncates, and a parsed `.037` is a hair below it as a Double, so a
    /// date written, read and written again would lose a millisecond (and `/v1/syncs` would
    /// differ from `status --json`).
    static func timestamp(_ date: Date) -> String {
        // Clamped to years 1…9999: a date read from a file may be anything, and converting an
        // unrepresentable one to Int64 would trap.
        let scaled = min(max((date.timeIntervalSince1970 * 1000).rounded(), -62_135_596_800_000), 253_402_300_799_999)
        let millis = Int64(scaled.isFinite ? scaled : 0)
        let fraction = (millis % 1000 + 1000) % 1000
        let whole = Date(timeIntervalSince1970: TimeInterval((millis - fraction) / 1000))
        let seconds = whole.formatted(Date.ISO8601FormatStyle())
        return seconds.dropLast() + String(format: ".%03dZ", fraction)
    }
}
