import SystemIO
import Foundation

/// What a file that is not a zip may be instead: an OLE compound file (Microsoft's Compound File
/// Binary format), which is both what Excel writes for a password-protected workbook (the real
/// xlsx inside, encrypted, as the `EncryptedPackage` stream) and the legacy `.xls` format (a
/// `Workbook` or `Book` stream). Each gets an error that says what to do.
enum LegacyOfficeFile {
    enum Kind: Equatable { case encryptedWorkbook, legacyWorkbook, otherCompoundFile }

    static let signature: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]

    /// Looks at the header and the directory's first sector only: a bounded read whatever the
    /// file's size. Nil when the file is not a compound file.
    static func kind(of url: URL) -> Kind? {
        guard let handle = try? RegularFile.handle(url.path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 512), header.count == 512, Array(header.prefix(8)) == signature else { return nil }
        let bytes = Array(header)
        // Sector size is 2^shift (512 or 4096); the directory starts at (first sector + 1) × size.
        let shift = Int(bytes[30]) | Int(bytes[31]) << 8
        let firstDirectorySector = UInt32(bytes[48]) | UInt32(bytes[49]) << 8 | UInt32(bytes[50]) << 16 | UInt32(bytes[51]) << 24
        var names: [String] = []
        if shift == 9 || shift == 12, firstDirectorySector < 0xFFFF_FFFA {
            let size = 1 << shift
            let offset = (UInt64(firstDirectorySector) + 1) * UInt64(size)
            if (try? handle.seek(toOffset: offset)) != nil, let sector = try? handle.read(upToCount: size) {
                names = directoryNames(Array(sector))
            }
        }
        if names.contains("EncryptedPackage") || names.contains("EncryptionInfo") { return .encryptedWorkbook }
        if names.contains("Workbook") || names.contains("Book") { return .legacyWorkbook }
        return .otherCompoundFile
    }

    /// The names of the 128-byte directory entries in one sector (UTF-16LE, length in bytes at 64).
    private static func directoryNames(_ sector: [UInt8]) -> [String] {
        stride(from: 0, to: sector.count - 127, by: 128).compactMap { start in
            let length = Int(sector[start + 64]) | Int(sector[start + 65]) << 8
            guard length >= 2, length <= 64, length % 2 == 0 else { return nil }
            let units = stride(from: start, to: start + length - 2, by: 2).map { UInt16(sector[$0]) | UInt16(sector[$0 + 1]) << 8 }
            return String(decoding: units, as: UTF16.self)
        }
    }

    static func error(_ kind: Kind, file: String) -> SpreadsheetError {
        switch kind {
        case .encryptedWorkbook:
            SpreadsheetError(code: .passwordProtected, file: file,
                             message: "the workbook is protected with a password (encrypted), so faqsync cannot read it",
                             remedy: "Open it in Excel or LibreOffice, remove the password (File → Info → Protect Workbook → Encrypt with Password, or Save As without a password), then save it again as .xlsx.")
        case .legacyWorkbook:
            SpreadsheetError(code: .legacyFormat, file: file,
                             message: "the file is an Excel 97–2003 workbook (.xls), an older format faqsync does not read",
                             remedy: "Open it in Excel or LibreOffice and save it as an Excel Workbook (.xlsx).")
        case .otherCompoundFile:
            SpreadsheetError(code: .legacyFormat, file: file,
                             message: "the file is an older Microsoft Office file (a compound file), not an xlsx workbook",
                             remedy: "Open it in Excel or LibreOffice and save it as an Excel Workbook (.xlsx).")
        }
    }
}
