import Glibc
import SpreadsheetReading
import Synchronization
import SystemIO

/// The templates made from the last sheet a long-running process read, by each row's exact
/// content.
///
/// `faqsync watch` reads the whole sheet again on every save. A row whose bytes did not change
/// makes the same template (its identity and hashes depend on nothing else), so with the memo it
/// is not folded and hashed again: at 10,000 rows that was a fifth of a one-row save's work,
/// most of it folding the identity key. The memo holds the rows of the last sheet only (about
/// twice its text), so it does not grow with the sheet's history. One memo per process that
/// syncs one sheet repeatedly; a command that syncs once has no use for one.
package final class TemplateMemo: Sendable {
    private let last = Mutex<Remembered?>(nil)

    struct Remembered: Sendable {
        let modelInput: ModelInput
        let templates: [RowContent: Template]
    }

    package init() {}

    /// How many rows the memo holds.
    package var count: Int { last.withLock { $0?.templates.count ?? 0 } }

    /// The templates remembered for sheets read with `modelInput` (none for another setting:
    /// the model input is part of every template's hashes).
    func templates(for modelInput: ModelInput) -> [RowContent: Template] {
        last.withLock { $0?.modelInput == modelInput ? $0!.templates : [:] }
    }

    /// Replaces what is remembered with the templates of the sheet just read.
    func remember(_ templates: [RowContent: Template], modelInput: ModelInput) {
        let replaced = last.withLock { last in
            defer { last = Remembered(modelInput: modelInput, templates: templates) }
            return last
        }
        releaseLater(replaced)
    }
}

/// Everything a template is made from, except where its row is: compared by bytes, since the
/// hashes are of bytes (two spellings of one text that Unicode calls equal make different
/// templates), and hashed once, from the bytes.
struct RowContent: Hashable, Sendable {
    let id: String?
    let category: String
    let subcategory: String
    let question: String
    let answer: String
    let metadata: [MetadataEntry]
    private let digest: Int

    init(_ row: FAQRow) {
        id = row.id
        category = row.category
        subcategory = row.subcategory
        question = row.question
        answer = row.answer
        metadata = row.metadata
        var hasher = Hasher()
        hasher.combine(row.id != nil)
        for field in [row.id ?? "", row.category, row.subcategory, row.question, row.answer] { Self.combine(field, into: &hasher) }
        hasher.combine(row.metadata.count)
        for entry in row.metadata {
            Self.combine(entry.name, into: &hasher)
            Self.combine(entry.value, into: &hasher)
        }
        digest = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    static func == (lhs: RowContent, rhs: RowContent) -> Bool {
        lhs.digest == rhs.digest && (lhs.id == nil) == (rhs.id == nil) && sameBytes(lhs.id ?? "", rhs.id ?? "")
            && sameBytes(lhs.category, rhs.category) && sameBytes(lhs.subcategory, rhs.subcategory)
            && sameBytes(lhs.question, rhs.question) && sameBytes(lhs.answer, rhs.answer)
            && lhs.metadata.count == rhs.metadata.count
            && zip(lhs.metadata, rhs.metadata).allSatisfy { sameBytes($0.name, $1.name) && sameBytes($0.value, $1.value) }
    }

    /// The field's length and UTF-8 bytes (length first, so that ("ab", "c") ≠ ("a", "bc")).
    private static func combine(_ field: String, into hasher: inout Hasher) {
        var field = field
        field.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }

    /// Byte equality: `String.==` compares canonical equivalence, which is not what was hashed.
    static func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                left.count == right.count && (left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }
}
