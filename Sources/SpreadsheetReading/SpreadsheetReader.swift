import Foundation

/// Reads an FAQ spreadsheet (`.xlsx`, or `.csv` by extension) into `FAQTable`.
///
/// Blocking: it reads and inflates the file on the calling thread. Async callers run it on a
/// thread of their own (see `SyncEngine`), not on the cooperative pool.
package struct SpreadsheetReader: Sendable {
    package var aliases: ColumnAliases
    /// The sheet to read (`FAQ_SHEET`); nil means the first sheet whose header has FAQ columns.
    package var sheetName: String?
    package var limits: ReadLimits

    package init(aliases: ColumnAliases = .standard, sheetName: String? = nil, limits: ReadLimits = ReadLimits()) {
        self.aliases = aliases
        self.sheetName = sheetName
        self.limits = limits
    }

    /// - Parameter observe: sees every byte of the file as it is read, once, in order (the sync
    ///   hashes exactly the bytes it parsed this way, with one read of the file).
    /// - Throws: `SpreadsheetError` naming the file, and the row and column where one applies.
    package func read(_ url: URL, observingBytes observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> FAQTable {
        let file = url.path
        try checkReadable(url)
        if url.pathExtension.lowercased() == "csv" {
            return try CSVReader(file: file, aliases: aliases, limits: limits).read(contentsOf: url, observingBytes: observe)
        }
        let package = try XLSXPackage(url: url, file: file, limits: limits, observingBytes: observe)
        return try XLSXReader(package: package, file: file, aliases: aliases, sheetName: sheetName, limits: limits).read()
    }

    private func checkReadable(_ url: URL) throws { try Self.checkReadable(url) }

    /// The spreadsheet exists and is a readable file: checked before a command creates anything
    /// (a mistyped path must not leave a store and an activity document behind).
    package static func checkReadable(_ url: URL) throws {
        let file = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw SpreadsheetError(code: .fileNotFound, file: file, message: "the file does not exist",
                                   remedy: "Check FAQ_PATH or --faq; it must point at the FAQ spreadsheet (.xlsx or .csv).")
        }
        guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: file) else {
            throw SpreadsheetError(code: .unreadable, file: file, message: isDirectory.boolValue ? "this is a directory" : "the file is not readable",
                                   remedy: "Point FAQ_PATH at the spreadsheet file and check its permissions.")
        }
    }

    /// Every sheet of the file as faqsync sees it: the header it chose, the column mapping and
    /// the rows as the text it reads, up to `maxRows` non-empty rows a sheet. Reads nothing but
    /// the file, within the same limits as `read`.
    package func inspect(_ url: URL, maxRows: Int = 1_000) throws -> SpreadsheetInspection {
        let file = url.path
        try checkReadable(url)
        if url.pathExtension.lowercased() == "csv" {
            return try CSVReader(file: file, aliases: aliases, limits: limits).inspect(contentsOf: url, maxRows: maxRows)
        }
        let package = try XLSXPackage(url: url, file: file, limits: limits)
        return try XLSXReader(package: package, file: file, aliases: aliases, sheetName: sheetName, limits: limits).inspect(maxRows: maxRows)
    }

    /// Whether the xlsx file at `url` is a complete zip (its end record and central directory
    /// are all there): a file caught half-written is not. The daemon waits for this before reading.
    package static func containerIsComplete(_ url: URL, limits: ReadLimits = ReadLimits()) -> Bool {
        (try? ZipArchive(url: url, maxFileBytes: limits.maxTotalBytes)) != nil
    }

    /// Reads a workbook from its parts, by part name, without a zip container: the fuzz target of
    /// the XML parts feeds the parsers directly through this (`package`: FuzzTargets only).
    package func read(xlsxParts parts: [String: [UInt8]], name: String = "<memory>") throws -> FAQTable {
        let package = InMemoryParts(parts: parts, file: name, limits: limits)
        return try XLSXReader(package: package, file: name, aliases: aliases, sheetName: sheetName, limits: limits).read()
    }
}
