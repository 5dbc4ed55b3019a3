import SnapshotFormat
import SpreadsheetReading

/// The checks resolved against the templates of one snapshot: each customer question with the
/// one template it must find. A check that names no template, or a question several templates
/// share, is reported like a skipped row and left out; it never fails anything.
package struct CheckList: Sendable {
    package struct Check: Sendable, Equatable {
        package let row: Int
        package let question: String
        package let expectedID: String
        package let expectedQuestion: String
    }

    package let source: String
    package let checks: [Check]
    package let skipped: [CheckSheet.Skipped]
    /// Why the source held no checks at all (no header), nil otherwise.
    package let problem: String?

    /// Matches each row's expected template by id first, then by its question (case, spaces and
    /// ё/е folded), among the snapshot's templates.
    package init(_ sheet: CheckSheet, templates view: SnapshotContents) {
        source = sheet.sheet.isEmpty ? sheet.file : "\(sheet.file), sheet «\(sheet.sheet)»"
        problem = sheet.problem
        var byID: [String: String] = [:]
        var byQuestion: [String: [String]] = [:]
        for index in 0..<view.count {
            let id = view.string(index, .id), question = view.string(index, .question)
            byID[id] = question
            byQuestion[Self.key(question), default: []].append(id)
        }
        var checks: [Check] = []
        var skipped = sheet.skipped
        if sheet.truncated {
            skipped.append(.init(row: sheet.rows.last?.number ?? 0, reason: "only the first \(CheckSheet.maxRows) checks are read"))
        }
        for row in sheet.rows {
            if let question = byID[row.expected] {
                checks.append(Check(row: row.number, question: row.question, expectedID: row.expected, expectedQuestion: question))
                continue
            }
            let matches = byQuestion[Self.key(row.expected)] ?? []
            switch matches.count {
            case 1:
                checks.append(Check(row: row.number, question: row.question, expectedID: matches[0], expectedQuestion: byID[matches[0]] ?? row.expected))
            case 0:
                skipped.append(.init(row: row.number, reason: "«\(row.expected.prefix(120))» names no template of the FAQ (by its question or its id)"))
            default:
                skipped.append(.init(row: row.number, reason: "«\(row.expected.prefix(120))» is the question of \(matches.count) templates; name one by its id (\(matches.joined(separator: ", ")))"))
            }
        }
        self.checks = checks
        self.skipped = skipped.sorted { $0.row < $1.row }
    }

    static func key(_ text: String) -> String {
        TextNormalization.foldedKey(text).replacingOccurrences(of: "ё", with: "е")
    }
}
