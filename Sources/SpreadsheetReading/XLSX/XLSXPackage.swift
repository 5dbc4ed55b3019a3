import Foundation

/// Where the reader gets a workbook's parts from: the zip container, or (for the fuzz target of
/// the XML parts) a set of parts in memory.
protocol PackageParts {
    func contains(_ path: String) -> Bool
    /// The part's bytes, nil when the package has no such part.
    func part(_ path: String) throws -> [UInt8]?
}

/// Parts held in memory, each within the part limit.
struct InMemoryParts: PackageParts {
    let parts: [String: [UInt8]]
    let file: String
    let limits: ReadLimits

    func contains(_ path: String) -> Bool { parts[path] != nil }

    func part(_ path: String) throws -> [UInt8]? {
        guard let bytes = parts[path] else { return nil }
        guard bytes.count <= limits.maxPartBytes else {
            throw SpreadsheetError(code: .zipBomb, file: file, part: path, message: "the part is larger than \(limits.maxPartBytes >> 20) MiB",
                                   remedy: "Check that this is the FAQ spreadsheet.")
        }
        return bytes
    }
}

/// The zip container of an xlsx file, read part by part within `ReadLimits` (see `ZipArchive`).
final class XLSXPackage: PackageParts {
    private let archive: ZipArchive
    private let file: String
    private let limits: ReadLimits
    private var totalBytesRead = 0

    init(url: URL, file: String, limits: ReadLimits, observingBytes observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        self.file = file
        self.limits = limits
        do {
            archive = try ZipArchive(url: url, maxFileBytes: limits.maxTotalBytes)
            archive.bytes.withUnsafeBytes { observe?($0) }
        } catch let failure as ZipArchive.Failure {
            if case .notAZip = failure, let kind = LegacyOfficeFile.kind(of: url) { throw LegacyOfficeFile.error(kind, file: file) }
            throw Self.error(failure, file: file, part: nil)
        }
    }

    func contains(_ path: String) -> Bool { archive.entry(path) != nil }

    /// The inflated bytes of a part, or nil when the package has no such part.
    func part(_ path: String) throws -> [UInt8]? {
        guard let entry = archive.entry(path) else { return nil }
        let limit = min(limits.maxPartBytes, limits.maxTotalBytes - totalBytesRead)
        do {
            let bytes = try archive.extract(entry, limit: limit)
            totalBytesRead += bytes.count
            return bytes
        } catch let failure as ZipArchive.Failure {
            throw Self.error(failure, file: file, part: path)
        }
    }

    private static func error(_ failure: ZipArchive.Failure, file: String, part: String?) -> SpreadsheetError {
        switch failure {
        case .notAZip:
            SpreadsheetError(
                code: .notAZip, file: file,
                message: "the file is not an xlsx workbook (an xlsx file is a zip archive, this one is not)",
                remedy: "Save it as .xlsx (Excel 2007+), or give the file a .csv extension if it is comma-separated text.")
        case .damaged(let detail):
            SpreadsheetError(code: .truncated, file: file, part: part, message: detail,
                             remedy: "Save the spreadsheet again from Excel or LibreOffice.")
        case .limitReached(let limit):
            SpreadsheetError(
                code: .zipBomb, file: file, part: part,
                message: "the \(part == nil ? "file is larger than" : "part inflates to more than") \(limit >> 20) MiB, beyond the reading limit (a zip bomb or a sheet far larger than any FAQ)",
                remedy: "Check that this is the FAQ spreadsheet; remove unused formatted rows and columns and save again.")
        case .unsupported(let detail):
            SpreadsheetError(code: .notAWorkbook, file: file, part: part, message: detail,
                             remedy: "Save the workbook from Excel or LibreOffice without a password.")
        }
    }
}
