import SystemIO
import ArgumentParser
import Foundation
import Settings
import SpreadsheetReading
import SyncEngine

extension FAQSyncCommand {
    /// `faqsync inspect`: what faqsync sees in the spreadsheet. Reads nothing but the file.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what faqsync reads from the spreadsheet: every sheet, the header row it chose (or why none matched), the column mapping and the rows as text.",
            discussion: "Reads nothing but the file; no store is opened. Use it when a sync says \"header not found\", or to compare faqsync with another reader.")

        @OptionGroup var common: CommonOptions

        @Option(help: ArgumentHelp("Non-empty rows shown per sheet (1 to 1000000).", valueName: "N"))
        var maxRows = 1_000

        func validate() throws {
            guard (1...1_000_000).contains(maxRows) else { throw ValidationError("--max-rows must be from 1 to 1000000, not \(maxRows)") }
        }

        func run() async throws {
            try await withFailureHandling(json: common.json) {
                let configuration = try common.configuration()
                let reader = configuration.source.reader
                let url = configuration.faqURL
                let inspection = try await BlockingExecutor.shared.run { try reader.inspect(url, maxRows: maxRows) }
                if common.json { try JSONOutput.print(inspection) } else { print(Self.render(inspection)) }
            }
        }

        static func render(_ inspection: SpreadsheetInspection) -> String {
            var text = "faqsync inspect \(inspection.file)\n"
            for sheet in inspection.sheets {
                text += "\nsheet \(sheet.name.isEmpty ? "(csv)" : "'\(sheet.name)'")\n"
                if let headerRow = sheet.headerRow {
                    let order = FAQField.allCases.compactMap { field in sheet.columns[field.rawValue].map { "\(field.rawValue) \($0)" } }
                    text += "  header row \(headerRow): \(order.joined(separator: ", "))\n"
                    if !sheet.metadataColumns.isEmpty {
                        let metadata = sheet.metadataColumns.sorted { $0.key.count != $1.key.count ? $0.key.count < $1.key.count : $0.key < $1.key }
                        text += "  kept as metadata: \(metadata.map { "\($0.key) (\($0.value))" }.joined(separator: ", "))\n"
                    }
                } else {
                    text += "  no header row: \(sheet.headerProblem ?? "none matched")\n"
                }
                let width = String(sheet.rowNumbers.last ?? 0).count
                for (number, cells) in zip(sheet.rowNumbers, sheet.rows) {
                    let label = String(repeating: " ", count: width - String(number).count) + String(number)
                    text += "  \(label) | " + cells.map { $0.replacingOccurrences(of: "\n", with: "⏎") }.joined(separator: " | ") + "\n"
                }
                if sheet.truncated { text += "  … more rows (raise --max-rows)\n" }
            }
            return text
        }
    }
}

