import Foundation
import ZIPFoundation

/// Writes small but genuine xlsx packages for tests and benchmarks, in the shapes real writers
/// produce: shared strings (Excel, xlsxwriter) or inline strings (openpyxl), rich-text runs,
/// numbers, booleans, dates, formulas with cached values, merged cells and formatted empty cells.
package struct XLSXWriter {
    package enum Cell: Sendable {
        case text(String)
        case number(String)
        case bool(Bool)
        /// An Excel serial date shown with a date format.
        case date(Double)
        case formula(String, cached: String)
        case formulaNumber(String, cached: String)
        /// Rich text: runs of differently formatted text, read as their concatenation.
        case rich([String])
        /// Formatted but empty, like the fixture's unused columns.
        case formattedEmpty
        case absent
    }

    package enum StringStorage: Sendable { case shared, inline }

    package struct Sheet: Sendable {
        package var name: String
        package var rows: [[Cell]]
        package var merges: [String]
        /// Rows left out of the numbering before the first row (a blank top area).
        package var firstRowNumber: Int

        package init(name: String, rows: [[Cell]], merges: [String] = [], firstRowNumber: Int = 1) {
            self.name = name
            self.rows = rows
            self.merges = merges
            self.firstRowNumber = firstRowNumber
        }
    }

    package var sheets: [Sheet]
    package var strings: StringStorage

    package init(sheets: [Sheet], strings: StringStorage = .shared) {
        self.sheets = sheets
        self.strings = strings
    }

    /// Plain text rows on one sheet.
    package static func table(_ rows: [[String]], sheetName: String = "FAQ", strings: StringStorage = .shared) -> XLSXWriter {
        XLSXWriter(sheets: [Sheet(name: sheetName, rows: rows.map { $0.map { $0.isEmpty ? .absent : .text($0) } })], strings: strings)
    }

    package func write(to url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        var sharedStrings: [String] = []
        var sharedIndex: [String: Int] = [:]
        var parts: [(String, String)] = []
        for (index, sheet) in sheets.enumerated() {
            parts.append(("xl/worksheets/sheet\(index + 1).xml", sheetXML(sheet, shared: &sharedStrings, index: &sharedIndex)))
        }
        parts.append(("[Content_Types].xml", contentTypes()))
        parts.append(("_rels/.rels", """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>
            """))
        parts.append(("xl/workbook.xml", workbookXML()))
        parts.append(("xl/_rels/workbook.xml.rels", workbookRelationships(hasSharedStrings: strings == .shared)))
        parts.append(("xl/styles.xml", Self.styles))
        if strings == .shared { parts.append(("xl/sharedStrings.xml", sharedStringsXML(sharedStrings))) }
        for (path, text) in parts {
            let data = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    /// A package of arbitrary parts, for broken and hostile files.
    package static func writePackage(_ parts: [(path: String, data: Data)], to url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        for (path, data) in parts {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    /// The parts `write(to:)` would write, so a test can replace one of them.
    package func parts() throws -> [(path: String, data: Data)] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("parts-\(UUID().uuidString).xlsx")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try write(to: scratch)
        let archive = try Archive(url: scratch, accessMode: .read)
        return try archive.map { entry in
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            return (entry.path, data)
        }
    }

    private func sheetXML(_ sheet: Sheet, shared: inout [String], index: inout [String: Int]) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>"#
        xml.reserveCapacity(sheet.rows.count * 400)
        for (offset, row) in sheet.rows.enumerated() {
            let number = sheet.firstRowNumber + offset
            xml += "<row r=\"\(number)\">"
            for (column, cell) in row.enumerated() {
                let reference = "\(Self.columnLetters(column))\(number)"
                switch cell {
                case .absent:
                    continue
                case .formattedEmpty:
                    xml += "<c r=\"\(reference)\" s=\"1\"/>"
                case .text(let text):
                    if strings == .shared {
                        let position = index[text] ?? { shared.append(text); index[text] = shared.count - 1; return shared.count - 1 }()
                        xml += "<c r=\"\(reference)\" t=\"s\"><v>\(position)</v></c>"
                    } else {
                        xml += "<c r=\"\(reference)\" t=\"inlineStr\"><is><t xml:space=\"preserve\">\(Self.escape(text))</t></is></c>"
                    }
                case .rich(let runs):
                    let body = runs.map { "<r><rPr><b/></rPr><t xml:space=\"preserve\">\(Self.escape($0))</t></r>" }.joined()
                    xml += "<c r=\"\(reference)\" t=\"inlineStr\"><is>\(body)<rPh sb=\"0\" eb=\"1\"><t>phonetic</t></rPh></is></c>"
                case .number(let value):
                    xml += "<c r=\"\(reference)\"><v>\(value)</v></c>"
                case .bool(let value):
                    xml += "<c r=\"\(reference)\" t=\"b\"><v>\(value ? 1 : 0)</v></c>"
                case .date(let serial):
                    xml += "<c r=\"\(reference)\" s=\"2\"><v>\(serial)</v></c>"
                case .formula(let formula, let cached):
                    xml += "<c r=\"\(reference)\" t=\"str\"><f>\(Self.escape(formula))</f><v>\(Self.escape(cached))</v></c>"
                case .formulaNumber(let formula, let cached):
                    xml += "<c r=\"\(reference)\"><f>\(Self.escape(formula))</f><v>\(cached)</v></c>"
                }
            }
            xml += "</row>"
        }
        xml += "</sheetData>"
        if !sheet.merges.isEmpty {
            xml += "<mergeCells count=\"\(sheet.merges.count)\">" + sheet.merges.map { "<mergeCell ref=\"\($0)\"/>" }.joined() + "</mergeCells>"
        }
        return xml + "</worksheet>"
    }

    private func workbookXML() -> String {
        let sheetElements = sheets.enumerated().map { index, sheet in
            "<sheet name=\"\(Self.escape(sheet.name))\" sheetId=\"\(index + 1)\" r:id=\"rIdSheet\(index + 1)\"/>"
        }.joined()
        return #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr/><sheets>"#
            + sheetElements + "</sheets></workbook>"
    }

    private func workbookRelationships(hasSharedStrings: Bool) -> String {
        var body = sheets.indices.map { index in
            "<Relationship Id=\"rIdSheet\(index + 1)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet\(index + 1).xml\"/>"
        }.joined()
        body += #"<Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#
        if hasSharedStrings {
            body += #"<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/sharedStrings.xml"/>"#
        }
        return #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
            + body + "</Relationships>"
    }

    private func contentTypes() -> String {
        #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/></Types>"#
    }

    private func sharedStringsXML(_ strings: [String]) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="\#(strings.count)" uniqueCount="\#(strings.count)">"#
        for text in strings { xml += "<si><t xml:space=\"preserve\">\(Self.escape(text))</t></si>" }
        return xml + "</sst>"
    }

    /// Style 1: a fill only (formatted empty cells); style 2: the built-in date format 14.
    static let styles = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs></styleSheet>"#

    package static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    package static func columnLetters(_ index: Int) -> String {
        var result = ""
        var remaining = index + 1
        while remaining > 0 {
            result = String(UnicodeScalar(UInt8(65 + (remaining - 1) % 26))) + result
            remaining = (remaining - 1) / 26
        }
        return result
    }
}
