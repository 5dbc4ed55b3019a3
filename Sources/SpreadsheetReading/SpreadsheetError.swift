import CodedErrors
/// Why a spreadsheet could not be read, with enough context for an editor to fix it:
/// the file, the part of the package (xlsx), and where it applies the row and the column, plus
/// what to do.
package struct SpreadsheetError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable {
        case fileNotFound = "file-not-found"
        case unreadable
        case notAZip = "not-a-zip"
        case truncated
        case notAWorkbook = "not-a-workbook"
        case limitExceeded = "limit-exceeded"
        case zipBomb = "zip-bomb"
        /// A cell reference, row number or index beyond the format's limits or not a number.
        case outOfRange = "out-of-range"
        case forbiddenXML = "forbidden-xml"
        case malformedXML = "malformed-xml"
        case sheetNotFound = "sheet-not-found"
        case headerNotFound = "header-not-found"
        case emptyQuestion = "empty-question"
        case emptyAnswer = "empty-answer"
        case invalidEncoding = "invalid-encoding"
        /// A character no store can hold (NUL).
        case controlCharacter = "control-character"
        /// An encrypted workbook (an OLE file holding the encrypted package).
        case passwordProtected = "password-protected"
        /// An Excel 97–2003 `.xls` file, or another pre-2007 Office file.
        case legacyFormat = "legacy-format"
        /// Two or more rows that resolve to the same template identity.
        case duplicateIdentity = "duplicate-identity"
    }

    package let code: Code
    package let file: String
    /// The part of an xlsx package the problem is in (`xl/worksheets/sheet1.xml`), when it is in one.
    package let part: String?
    package let row: Int?
    /// The column as the editor sees it: `C (Пример вопроса)` for xlsx, `3 (question)` for csv.
    package let column: String?
    package let message: String
    /// What the person reading the message should do about it.
    package let remedy: String
    /// header-not-found: the required columns the first row lacks, by the name the team uses
    /// (`Шаблонный ответ`), and the cells that row has; for a page in the editor's language.
    package var missingColumns: [String] = []
    package var foundHeaders: [String] = []

    package init(code: Code, file: String, part: String? = nil, row: Int? = nil, column: String? = nil,
                message: String, remedy: String) {
        self.code = code
        self.file = file
        self.part = part
        self.row = row
        self.column = column
        self.message = message
        self.remedy = remedy
    }

    /// True when the file may simply have been caught half-written; a watcher retries those.
    package var mayBeIncompleteSave: Bool {
        code == .truncated || code == .notAZip
    }

    package var location: String {
        var parts = [file]
        if let part { parts.append("part \(part)") }
        if let row { parts.append("row \(row)") }
        if let column { parts.append("column \(column)") }
        return parts.joined(separator: ", ")
    }

    package var description: String { "\(location): \(message). \(remedy)" }
}

extension SpreadsheetError: CodedError {
    package var errorCode: String { code.rawValue }
    package var hint: String? { remedy }
}
