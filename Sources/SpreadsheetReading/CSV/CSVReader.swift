import Foundation

/// Reads an FAQ exported as CSV: UTF-8 with or without BOM, RFC 4180 quoting (fields may hold
/// line breaks), `,` or `;` as separator, detected from the first line.
struct CSVReader {
    let file: String
    let aliases: ColumnAliases
    let limits: ReadLimits

    func read(_ data: [UInt8]) throws -> FAQTable {
        guard data.count <= limits.maxPartBytes else {
            throw SpreadsheetError(code: .limitExceeded, file: file,
                                   message: "the file is larger than \(limits.maxPartBytes >> 20) MiB, beyond the reading limit",
                                   remedy: "Check that this is the FAQ file.")
        }
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw invalidUTF8(in: bytes)
        }
        let scalars = Array(text.unicodeScalars)
        let separator = detectSeparator(scalars)
        let rows = try parseRows(scalars, separator: separator)
        let builder = FAQTableBuilder(file: file, format: .csv, aliases: aliases, columnLabel: { "\($0 + 1)" })
        guard let header = builder.findHeader(in: rows) else {
            throw SpreadsheetError.headerNotFound(file: file, aliases: aliases, seen: [("", builder.firstNonEmptyRow(in: rows))])
        }
        let cells = rows.reduce(0) { $0 + $1.cells.count }
        guard cells <= limits.maxCells else {
            throw SpreadsheetError(code: .limitExceeded, file: file, message: "the file has more than \(limits.maxCells) cells",
                                   remedy: "Check that this is the FAQ file.")
        }
        return try builder.build(rows: rows, merges: [], header: header, sheetName: nil, cellsScanned: cells)
    }

    /// The separator that occurs more often outside quotes in the first record.
    private func detectSeparator(_ scalars: [Unicode.Scalar]) -> Unicode.Scalar {
        var commas = 0, semicolons = 0
        var quoted = false
        for scalar in scalars {
            if scalar == "\"" { quoted.toggle() }
            if quoted { continue }
            if scalar == "\n" || scalar == "\r" { break }
            if scalar == "," { commas += 1 } else if scalar == ";" { semicolons += 1 }
        }
        return semicolons > commas ? ";" : ","
    }

    /// Records with their 1-based starting line, so errors point where an editor looks.
    private func parseRows(_ scalars: [Unicode.Scalar], separator: Unicode.Scalar) throws -> [RawRow] {
        var rows: [RawRow] = []
        var fields: [String?] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var line = 1
        var recordLine = 1
        var index = 0
        func endField() {
            let text = String(field)
            fields.append(text.isEmpty ? nil : text)
            field = String.UnicodeScalarView()
        }
        func endRecord() {
            endField()
            if fields.contains(where: { $0 != nil }) { rows.append(RawRow(number: recordLine, cells: fields)) }
            fields = []
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if quoted {
                if scalar == "\"" {
                    if index + 1 < scalars.count, scalars[index + 1] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.append(scalar)
                }
            } else if scalar == "\"" && field.isEmpty {
                quoted = true
            } else if scalar == separator {
                endField()
            } else if scalar == "\n" || scalar == "\r" {
                if scalar == "\r", index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
                endRecord()
                line += 1
                recordLine = line
            } else {
                field.append(scalar)
            }
            index += 1
        }
        if quoted {
            throw SpreadsheetError(code: .truncated, file: file, row: recordLine,
                                   message: "a quoted field opened on line \(recordLine) is never closed",
                                   remedy: "Close the quote, or save the file again if it was caught half-written.")
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return rows
    }

    private func invalidUTF8(in bytes: ArraySlice<UInt8>) -> SpreadsheetError {
        // Find the first byte sequence that does not decode, to name its line.
        var line = 1
        var offset = bytes.startIndex
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var consumed = bytes.startIndex
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
                if scalar == "\n" { line += 1 }
            case .emptyInput:
                break loop
            case .error:
                offset = consumed
                break loop
            }
        }
        return SpreadsheetError(
            code: .invalidEncoding, file: file, row: line,
            message: "the file is not valid UTF-8 (first bad byte at offset \(offset - bytes.startIndex + (bytes.startIndex > 0 ? 3 : 0)))",
            remedy: "Export the CSV as UTF-8 (in Excel: 'CSV UTF-8'; in LibreOffice: character set Unicode (UTF-8)).")
    }
}
