import Foundation
import ZIPFoundation

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

/// The zip container of an xlsx file, read part by part within `ReadLimits`.
///
/// Inflated sizes are counted while inflating, not trusted from the zip's directory, which a zip
/// bomb can fake.
final class XLSXPackage: PackageParts {
    private let archive: Archive
    private let file: String
    private let limits: ReadLimits
    private var totalBytesRead = 0

    init(url: URL, file: String, limits: ReadLimits) throws {
        self.file = file
        self.limits = limits
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            let head = (try? FileHandle(forReadingFrom: url)).flatMap { handle -> Data? in
                defer { try? handle.close() }
                return try? handle.read(upToCount: 4)
            } ?? Data()
            throw Self.classifyOpenFailure(head: head, file: file)
        }
    }

    init(data: Data, file: String, limits: ReadLimits) throws {
        self.file = file
        self.limits = limits
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw Self.classifyOpenFailure(head: data.prefix(4), file: file)
        }
    }

    func contains(_ path: String) -> Bool { archive[path] != nil }

    /// The inflated bytes of a part, or nil when the package has no such part.
    func part(_ path: String) throws -> [UInt8]? {
        guard let entry = archive[path] else { return nil }
        let partLimit = limits.maxPartBytes
        let remaining = limits.maxTotalBytes - totalBytesRead
        let sink = PartBuffer(limit: min(partLimit, remaining))
        // The declared size is a claim: reserve it only as far as the compressed data could
        // really inflate (deflate tops out near 1:1032), and never beyond the limit.
        let plausible = Int64(clamping: entry.compressedSize).multipliedReportingOverflow(by: 1_032)
        let reservation = min(Int64(sink.limit), max(0, Int64(clamping: entry.uncompressedSize)),
                              plausible.overflow ? Int64.max : plausible.partialValue)
        sink.bytes.reserveCapacity(Int(reservation))
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 16, skipCRC32: false, consumer: sink.append)
        } catch is LimitReached {
            throw SpreadsheetError(
                code: .zipBomb, file: file, part: path,
                message: "the part inflates to more than \(min(partLimit, remaining) >> 20) MiB, beyond the reading limit (a zip bomb or a sheet far larger than any FAQ)",
                remedy: "Check that this is the FAQ spreadsheet; remove unused formatted rows and columns and save again.")
        } catch {
            throw SpreadsheetError(
                code: .truncated, file: file, part: path,
                message: "the part could not be inflated (\(error)); the file is damaged or was caught half-saved",
                remedy: "Save the spreadsheet again from Excel or LibreOffice.")
        }
        totalBytesRead += sink.bytes.count
        return sink.bytes
    }

    private struct LimitReached: Error {}

    /// Collects inflated chunks and stops the inflation as soon as the limit is passed.
    private final class PartBuffer {
        let limit: Int
        var bytes: [UInt8] = []
        init(limit: Int) { self.limit = limit }
        func append(_ chunk: Data) throws {
            guard bytes.count + chunk.count <= limit else { throw LimitReached() }
            bytes.append(contentsOf: chunk)
        }
    }

    /// ZIPFoundation only says "unreadable"; the first bytes tell a non-zip from a cut-off zip.
    private static func classifyOpenFailure(head: Data, file: String) -> SpreadsheetError {
        if head.isEmpty {
            return SpreadsheetError(code: .truncated, file: file, message: "the file is empty",
                                    remedy: "It may be in the middle of being saved; save it again if this persists.")
        }
        if head.starts(with: [0x50, 0x4B]) {
            return SpreadsheetError(
                code: .truncated, file: file,
                message: "the zip container has no readable central directory: the file is truncated or was caught half-saved",
                remedy: "Save the spreadsheet again from Excel or LibreOffice.")
        }
        return SpreadsheetError(
            code: .notAZip, file: file,
            message: "the file is not an xlsx workbook (an xlsx file is a zip archive, this one is not)",
            remedy: "Save it as .xlsx (Excel 2007+), or give the file a .csv extension if it is comma-separated text.")
    }
}
