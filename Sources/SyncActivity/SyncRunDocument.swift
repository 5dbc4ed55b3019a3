import Foundation
import Reconciliation
import SpreadsheetReading
import TemplateStore

extension SyncActivity {
    /// One sync as the public documents show it (`status --json`, `GET /v1/syncs`, the activity
    /// file). Its own type, so that a column renamed in a store never renames a field of the API;
    /// the field names are fixed here and described in docs/schemas/sync-activity.schema.json.
    @dynamicMemberLookup
    package struct Run: Codable, Sendable, Equatable {
        package enum Outcome: String, Codable, Sendable { case succeeded, failed }

        package var id: Int64?
        package var startedAt: Date
        package var finishedAt: Date
        package var sourcePath: String
        package var sourceSHA256: String?
        package var versionID: Int64?
        package var outcome: Outcome
        package var counts: SyncCounts
        package var templates: Int
        package var quarantined: Int
        package var skippedRows: [SkippedRow]
        package var changes: [SyncChange]
        package var error: String?

        package init(_ record: SyncRunRecord) {
            id = record.id
            startedAt = record.startedAt
            finishedAt = record.finishedAt
            sourcePath = record.sourcePath
            sourceSHA256 = record.sourceSHA256
            versionID = record.versionID
            outcome = record.outcome == .succeeded ? .succeeded : .failed
            counts = record.counts
            templates = record.templates
            quarantined = record.quarantined
            skippedRows = SkippedRow.decodeList(record.skippedRowsJSON)
            changes = record.changes
            error = record.error
        }

        package subscript<Value>(dynamicMember count: KeyPath<SyncCounts, Value>) -> Value { counts[keyPath: count] }

        enum CodingKeys: String, CodingKey {
            case id, startedAt = "started_at", finishedAt = "finished_at", sourcePath = "source_path", sourceSHA256 = "source_sha256"
            case versionID = "version_id", outcome, templates, quarantined, skippedRows = "skipped_rows", changes, error
        }

        package init(from decoder: any Decoder) throws {
            counts = try SyncCounts(from: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decodeIfPresent(Int64.self, forKey: .id)
            startedAt = try c.decode(Date.self, forKey: .startedAt)
            finishedAt = try c.decode(Date.self, forKey: .finishedAt)
            sourcePath = try c.decode(String.self, forKey: .sourcePath)
            sourceSHA256 = try c.decodeIfPresent(String.self, forKey: .sourceSHA256)
            versionID = try c.decodeIfPresent(Int64.self, forKey: .versionID)
            outcome = try c.decode(Outcome.self, forKey: .outcome)
            templates = try c.decode(Int.self, forKey: .templates)
            quarantined = try c.decode(Int.self, forKey: .quarantined)
            skippedRows = try c.decode([SkippedRow].self, forKey: .skippedRows)
            changes = try c.decode([SyncChange].self, forKey: .changes)
            error = try c.decodeIfPresent(String.self, forKey: .error)
        }

        package func encode(to encoder: any Encoder) throws {
            try counts.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(id, forKey: .id)
            try c.encode(startedAt, forKey: .startedAt)
            try c.encode(finishedAt, forKey: .finishedAt)
            try c.encode(sourcePath, forKey: .sourcePath)
            try c.encodeIfPresent(sourceSHA256, forKey: .sourceSHA256)
            try c.encodeIfPresent(versionID, forKey: .versionID)
            try c.encode(outcome, forKey: .outcome)
            try c.encode(templates, forKey: .templates)
            try c.encode(quarantined, forKey: .quarantined)
            try c.encode(skippedRows, forKey: .skippedRows)
            try c.encode(changes, forKey: .changes)
            try c.encodeIfPresent(error, forKey: .error)
        }
    }
}
