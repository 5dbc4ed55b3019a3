import Foundation
import ZIPFoundation

/// Crafted spreadsheets that once crashed, hung or bloated faqsync (issue "hostile input"), each
/// with what a reader must answer instead. Shared by the reader tests, the CLI and daemon tests,
/// and the fuzz targets' seed corpus (`scripts/fuzz.sh seeds`).
package struct HostileSpreadsheet: Sendable, CustomStringConvertible {
    package let name: String
    /// `xlsx` or `csv`.
    package let fileExtension: String
    /// The error code faqsync must answer with.
    package let expectedCode: String
    /// Words the error message must contain.
    package let expectedMessage: String
    private let make: @Sendable () throws -> Data

    package var description: String { name }
    package var fileName: String { "\(name).\(fileExtension)" }

    package func data() throws -> Data { try make() }

    @discardableResult
    package func write(to url: URL) throws -> URL {
        try data().write(to: url)
        return url
    }

    /// A header row, one good data row, and `extra` (rows or sheet-level elements) as given.
    static func sheet(rows extra: String = "", afterSheetData: String = "") -> String {
        func inline(_ reference: String, _ text: String) -> String {
            "<c r=\"\(reference)\" t=\"inlineStr\"><is><t>\(text)</t></is></c>"
        }
        let header = "<row r=\"1\">" + inline("A1", "category") + inline("B1", "subcategory") + inline("C1", "question") + inline("D1", "answer") + "</row>"
        let good = "<row r=\"2\">" + inline("A2", "Cards") + inline("B2", "Limits") + inline("C2", "How to raise a limit?") + inline("D2", "In the app.") + "</row>"
        return #"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
            + header + good + extra + "</sheetData>" + afterSheetData + "</worksheet>"
    }

    /// A complete package whose first sheet is `sheetXML` (as bytes, which may be large).
    package static func package(sheetXML: Data) throws -> Data {
        let base = try XLSXWriter.table([["category", "subcategory", "question", "answer"]], strings: .inline).parts()
        let parts = base.map { $0.path == "xl/worksheets/sheet1.xml" ? (path: $0.path, data: sheetXML) : $0 }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).xlsx")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try XLSXWriter.writePackage(parts, to: scratch)
        return try Data(contentsOf: scratch)
    }

    static func xlsx(_ name: String, code: String, message: String, sheet: @escaping @Sendable () -> String) -> HostileSpreadsheet {
        HostileSpreadsheet(name: name, fileExtension: "xlsx", expectedCode: code, expectedMessage: message) {
            try package(sheetXML: Data(sheet().utf8))
        }
    }

    /// One for each row of the issue's table that is a file.
    package static let all: [HostileSpreadsheet] = [
        xlsx("column-of-many-letters", code: "out-of-range", message: "AAAAAAAAAAAAAAA3") {
            sheet(rows: #"<row r="3"><c r="AAAAAAAAAAAAAAA3" t="inlineStr"><is><t>x</t></is></c></row>"#)
        },
        xlsx("style-index-overflow", code: "out-of-range", message: "style index") {
            sheet(rows: #"<row r="3"><c r="A3" s="99999999999999999999999999" t="inlineStr"><is><t>x</t></is></c></row>"#)
        },
        xlsx("row-number-overflow", code: "out-of-range", message: "row number") {
            sheet(rows: #"<row r="99999999999999999999999999"><c t="inlineStr"><is><t>x</t></is></c></row>"#)
        },
        xlsx("column-beyond-xfd", code: "out-of-range", message: "XFE3") {
            sheet(rows: #"<row r="3"><c r="XFE3" t="inlineStr"><is><t>x</t></is></c></row>"#)
        },
        xlsx("merged-whole-sheet", code: "limit-exceeded", message: "merged ranges count every cell") {
            sheet(afterSheetData: #"<mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>"#)
        },
        // Shared-string cells are looked up after the sheet is parsed (beside the shared strings):
        // an index past the end, or not a number at all, still names its cell.
        xlsx("shared-string-past-the-end", code: "out-of-range", message: #"cell C3 refers to shared string "7", but the workbook has 0"#) {
            sheet(rows: #"<row r="3"><c r="A3" t="inlineStr"><is><t>x</t></is></c><c r="C3" t="s"><v>7</v></c></row>"#)
        },
        xlsx("shared-string-not-a-number", code: "out-of-range", message: #"cell B4 refers to shared string "99999999999999999999999""#) {
            sheet(rows: #"<row r="4"><c r="B4" t="s"><v>99999999999999999999999</v></c></row>"#)
        },
        HostileSpreadsheet(name: "deeply-nested", fileExtension: "xlsx", expectedCode: "limit-exceeded", expectedMessage: "nests elements more than") {
            try deeplyNested(bytes: 100 << 20)
        },
    ]

    /// Files whose problem is on one row only (a NUL character, which no store can hold): the
    /// row is skipped and reported with its row and column, the rest of the file is read.
    package static let rowLevel: [HostileSpreadsheet] = [
        xlsx("nul-in-cell", code: "control-character", message: "NUL") {
            sheet(rows: #"<row r="3"><c r="A3" t="inlineStr"><is><t>Cards</t></is></c><c r="B3" t="inlineStr"><is><t>Limits</t></is></c><c r="C3" t="inlineStr"><is><t>Who&#0;am I?</t></is></c><c r="D3" t="inlineStr"><is><t>An answer.</t></is></c></row>"#)
        },
        HostileSpreadsheet(name: "nul-in-cell", fileExtension: "csv", expectedCode: "control-character", expectedMessage: "NUL") {
            Data("category,subcategory,question,answer\nCards,Limits,Who\u{0}am I?,An answer.\n".utf8)
        },
    ]

    /// A sheet of one element nested `bytes / 3` deep (`<a><a><a>…`): 200 MiB of it deflates
    /// to about 0.2 MiB, the shape that once took 4.8 GB and 16 s to refuse.
    package static func deeplyNested(bytes: Int) throws -> Data {
        var xml = Data(#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#.utf8)
        let chunk = Data(String(repeating: "<a>", count: 1 << 16).utf8)
        while xml.count < bytes { xml.append(chunk) }
        return try package(sheetXML: xml)
    }

    /// Two data rows, the first category cell merged down over `range`.
    package static func sheetWithMerge(_ range: String) -> String {
        sheet(rows: #"<row r="3"><c r="C3" t="inlineStr"><is><t>Second?</t></is></c><c r="D3" t="inlineStr"><is><t>Yes.</t></is></c></row>"#,
              afterSheetData: "<mergeCells count=\"1\"><mergeCell ref=\"\(range)\"/></mergeCells>")
    }

    /// A cell in column XFD, the last one Excel has: read, not refused.
    package static func cellInLastColumn() throws -> Data {
        try package(sheetXML: Data(sheet(rows: #"<row r="3"><c r="A3" t="inlineStr"><is><t>Cards</t></is></c><c r="B3" t="inlineStr"><is><t>Limits</t></is></c><c r="C3" t="inlineStr"><is><t>Second?</t></is></c><c r="D3" t="inlineStr"><is><t>Yes.</t></is></c><c r="XFD3" t="inlineStr"><is><t>far right</t></is></c></row>"#).utf8))
    }
}
