import Foundation
import SpreadsheetReading

/// The shared real-world fixtures (`../shared/fixtures` from the project root), read in place.
package enum Fixtures {
    package static var projectRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    package static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["FAQSYNC_FIXTURES"] { return URL(fileURLWithPath: override) }
        return projectRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    package static var faq: URL { directory.appendingPathComponent("vtb-belarus-faq.xlsx") }
    package static var legacyStore: URL { directory.appendingPathComponent("legacy-smart-support-embeddings.db") }
    package static var validationQueries: URL { directory.appendingPathComponent("retrieval-validation-v2.json") }
    package static var sampleFAQ: URL { projectRoot.appendingPathComponent("data/faq-sample.xlsx") }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
package struct TemporaryDirectory: Sendable {
    package let url: URL

    package init(_ label: String = "faqsync") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    package func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    package func path(_ name: String) -> String { file(name).path }

    package func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The real fixture as plain rows under its own six headers, to edit and write back with
/// `XLSXWriter` (the way an editor changes a few rows and saves).
package enum FixtureSheet {
    package static let header = ["Основная категория", "Подкатегория", "Пример вопроса", "Приоритет", "Целевая аудитория", "Шаблонный ответ"]

    package static func rows() throws -> [[String]] {
        try SpreadsheetReader().read(Fixtures.faq).rows.map { row in
            let meta = Dictionary(uniqueKeysWithValues: row.metadata.map { ($0.name, $0.value) })
            return [row.category, row.subcategory, row.question, meta["Приоритет"] ?? "", meta["Целевая аудитория"] ?? "", row.answer]
        }
    }

    package static func write(_ rows: [[String]], to url: URL) throws {
        try XLSXWriter.table([header] + rows).write(to: url)
    }
}
