import SystemIO
import Foundation

/// Reads an FAQ exported as CSV: UTF-8 with or without BOM, RFC 4180 quoting (fields may hold
/// line breaks), `,` or `;` as separator, detected from the first line.
///
/// The file is streamed in 1 MiB chunks through `CSVRecordParser`: its size and its cells are
/// counted as they are read, so a file beyond the limits is refused having held at most one
/// chunk beyond what the limits allow.
struct CSVReader {
    let file: String
    let aliases: ColumnAliases
    let limits: ReadLimits

    static let chunkSize = 1 << 20

    func read(contentsOf url: URL, observingBytes observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> FAQTable {
        try table(from: try records(contentsOf: url, observingBytes: observe))
    }

    /// The file as one sheet, as faqsync sees it (`faqsync inspect`).
    func inspect(contentsOf url: URL, maxRows: Int) throws -> SpreadsheetInspection {
        let parsed = try records(contentsOf: url, observingBytes: nil)
        let inspector = SheetInspector(builder: builder, aliases: aliases, maxRows: maxRows)
        return SpreadsheetInspection(file: file, sheets: [inspector.inspect(name: "", rows: parsed.rows, merges: [])])
    }

    private var builder: FAQTableBuilder {
        FAQTableBuilder(file: file, format: .csv, aliases: aliases, columnLabel: { "\($0 + 1)" })
    }

    private func records(contentsOf url: URL, observingBytes observe: ((UnsafeRawBufferPointer) -> Void)?) throws -> CSVRecordParser.Records {
        let handle: FileHandle
        do { handle = try RegularFile.handle(url.path) } catch {
            throw SpreadsheetError(code: .unreadable, file: file, message: error.kind.map { "the path is \($0), not a file" }
                                   ?? "the file could not be opened (\(String(cString: strerror(error.errno ?? EIO))))",
                                   remedy: error.kind == nil ? "Check the file's permissions." : "Point the setting at the spreadsheet file itself.")
        }
        defer { try? handle.close() }
        // The size is known before a byte is read: a file beyond the limit is refused at once.
        if let size = try? handle.seekToEnd(), size > UInt64(limits.maxPartBytes) {
            throw SpreadsheetError(code: .limitExceeded, file: file,
                                   message: "the file is larger than \(ReadLimits.describe(bytes: limits.maxPartBytes)), the most a FAQ file may have (it has \(ReadLimits.describe(bytes: Int(clamping: size))))",
                                   remedy: "Check that this is the FAQ file.")
        }
        try? handle.seek(toOffset: 0)
        var parser = CSVRecordParser(file: file, limits: limits)
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: Self.chunkSize) } catch {
                throw SpreadsheetError(code: .unreadable, file: file, message: "the file could not be read (\(error.localizedDescription))",
                                       remedy: "Check the file's permissions.")
            }
            guard let chunk, !chunk.isEmpty else { break }
            try chunk.withUnsafeBytes { bytes in
                observe?(bytes)
                try parser.feed(bytes)
            }
        }
        return try parser.finish()
    }

    /// The same, from bytes in memory (tests and the fuzz target).
    func read(_ bytes: [UInt8]) throws -> FAQTable {
        var parser = CSVRecordParser(file: file, limits: limits)
        try bytes.withUnsafeBytes { try parser.feed($0) }
        return try table(from: try parser.finish())
    }

    private func table(from parsed: CSVRecordParser.Records) throws -> FAQTable {
        let builder = self.builder
        guard let header = builder.findHeader(in: parsed.rows) else {
            throw SpreadsheetError.headerNotFound(file: file, aliases: aliases, seen: [("", builder.firstNonEmptyRow(in: parsed.rows))])
        }
        return try builder.build(rows: parsed.rows, merges: [], header: header, sheetName: nil, cellsScanned: parsed.cellCount)
    }
}

/// A byte-level CSV state machine fed chunk by chunk. Separators, quotes and line breaks are
/// ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte character, so fields are split on
/// bytes and each field is validated as UTF-8 once it is complete.
struct CSVRecordParser {
    struct Records {
        let rows: [RawRow]
        let cellCount: Int
    }

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    let file: String
    let limits: ReadLimits
    private var rows: [RawRow] = []
    private var separator: UInt8?
    private var bytesRead = 0
    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fieldStartOffset = 0
    private var fieldStartLine = 1
    private var cells: [RawCell] = []
    private var column = 0
    private var cellCount = 0
    private var line = 1
    private var recordLine = 1
    /// A CR ended the last record; an LF right after it belongs to the same line break.
    private var afterCR = false

    private static let quote = UInt8(ascii: "\""), lineFeed: UInt8 = 0x0A, carriageReturn: UInt8 = 0x0D
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    init(file: String, limits: ReadLimits) {
        self.file = file
        self.limits = limits
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) throws {
        guard chunk.count <= limits.maxPartBytes - bytesRead else {
            throw SpreadsheetError(code: .limitExceeded, file: file,
                                   message: "the file is larger than \(limits.maxPartBytes >> 20) MiB, beyond the reading limit",
                                   remedy: "Check that this is the FAQ file.")
        }
        var start = 0
        if bytesRead == 0 {
            if chunk.starts(with: Self.byteOrderMark) { start = 3 }
            separator = Self.detectSeparator(UnsafeRawBufferPointer(rebasing: chunk[start...]))
        }
        let offset = bytesRead
        bytesRead += chunk.count
        for index in start..<chunk.count { try consume(chunk[index], at: offset + index) }
    }

    mutating func finish() throws -> Records {
        switch state {
        case .quoted:
            throw SpreadsheetError(code: .truncated, file: file, row: recordLine,
                                   message: "a quoted field opened on line \(recordLine) is never closed",
                                   remedy: "Close the quote, or save the file again if it was caught half-written.")
        case .fieldStart where cells.isEmpty && column == 0:
            break
        default:
            try endRecord()
        }
        return Records(rows: rows, cellCount: cellCount)
    }

    private mutating func consume(_ byte: UInt8, at offset: Int) throws {
        if afterCR {
            afterCR = false
            if byte == Self.lineFeed { return }
        }
        switch state {
        case .quoted:
            if byte == Self.quote {
                state = .quoteInQuoted
            } else {
                if byte == Self.lineFeed { line += 1 }
                field.append(byte)
            }
            return
        case .quoteInQuoted:
            if byte == Self.quote {
                field.append(byte)
                state = .quoted
                return
            }
            state = .unquoted
        case .fieldStart:
            fieldStartOffset = offset
            fieldStartLine = line
            if byte == Self.quote {
                state = .quoted
                return
            }
        case .unquoted:
            break
        }
        if byte == separator {
            try endField()
        } else if byte == Self.lineFeed || byte == Self.carriageReturn {
            try endRecord()
            afterCR = byte == Self.carriageReturn
            line += 1
            recordLine = line
        } else {
            field.append(byte)
            state = .unquoted
        }
    }

    private mutating func endField() throws {
        cellCount += 1
        guard cellCount <= limits.maxCells else {
            throw SpreadsheetError(code: .limitExceeded, file: file, row: recordLine,
                                   message: "the file has more than \(limits.maxCells) cells, beyond the reading limit",
                                   remedy: "Check that this is the FAQ file.")
        }
        if !field.isEmpty {
            guard let text = String(validating: field, as: UTF8.self) else { throw invalidUTF8() }
            cells.append(RawCell(column: column, text: text))
        }
        column += 1
        field.removeAll(keepingCapacity: true)
        state = .fieldStart
    }

    private mutating func endRecord() throws {
        try endField()
        if !cells.isEmpty {
            guard rows.count < limits.maxRows else {
                throw SpreadsheetError(code: .limitExceeded, file: file, row: recordLine,
                                       message: "the file has more than \(limits.maxRows) rows, more than a FAQ file may have",
                                       remedy: "Check that this is the FAQ file.")
            }
            rows.append(RawRow(number: recordLine, cells: cells))
        }
        cells = []
        column = 0
    }

    /// The separator that occurs more often outside quotes in the first record.
    private static func detectSeparator(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
        var commas = 0, semicolons = 0
        var quoted = false
        for byte in bytes {
            if byte == quote { quoted.toggle() }
            if quoted { continue }
            if byte == lineFeed || byte == carriageReturn { break }
            if byte == UInt8(ascii: ",") { commas += 1 } else if byte == UInt8(ascii: ";") { semicolons += 1 }
        }
        return semicolons > commas ? UInt8(ascii: ";") : UInt8(ascii: ",")
    }

    /// Names the line and file offset of the first byte of the field that does not decode.
    private func invalidUTF8() -> SpreadsheetError {
        var iterator = field.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        var badLine = fieldStartLine
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
                if scalar == "\n" { badLine += 1 }
            case .emptyInput, .error:
                break loop
            }
        }
        // A quoted field's offset starts after its opening quote.
        let quoteOffset = field.count < bytesRead - fieldStartOffset && state != .unquoted ? 1 : 0
        return SpreadsheetError(
            code: .invalidEncoding, file: file, row: badLine,
            message: "the file is not valid UTF-8 (first bad byte at offset \(fieldStartOffset + quoteOffset + consumed))",
            remedy: "Export the CSV as UTF-8 (in Excel: 'CSV UTF-8'; in LibreOffice: character set Unicode (UTF-8)).")
    }
}
