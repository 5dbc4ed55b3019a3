import Foundation
import SnapshotFormat
import SnapshotReader
import SpreadsheetReading

/// What the fuzzers drive: one entry point per input format, each taking arbitrary bytes through
/// the same code a user's file goes through. Throwing a reader's error is the expected outcome
/// for most inputs; a trap, a hang (over 1 s) or a large allocation (over 512 MiB) is a finding.
///
/// The libFuzzer binaries (`Tests/Fuzz`, built by `scripts/fuzz.sh`) call `run`, and so does
/// `faqsync-fuzz replay`, which the regression test runs over every input that ever crashed or
/// hung (`Tests/FuzzRegressions/<target>/`).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A whole xlsx file: the zip container, then its XML parts.
    case xlsx
    /// One XML part of a workbook, the others fixed and valid: the first byte picks the part.
    case xmlParts = "xml-parts"
    /// A csv file.
    case csv
    /// A snapshot file; when the first byte is odd the checksum is fixed up first, so the fuzzer
    /// reaches the code behind it.
    case snapshot

    /// Runs one input. Returns whether it was accepted (read, or validated and searched).
    @discardableResult
    public func run(_ input: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .xlsx: return Self.readFile(input, extension: "xlsx")
        case .csv: return Self.readFile(input, extension: "csv")
        case .xmlParts: return Self.readParts(input)
        case .snapshot: return Self.readSnapshot(input)
        }
    }

    public func run(_ data: Data) -> Bool { data.withUnsafeBytes { run($0) } }

    static let reader = SpreadsheetReader()

    /// Files go through the path users' files take (open, map or stream, inflate): the input is
    /// written to a scratch file of this process and read from there.
    private static func readFile(_ input: UnsafeRawBufferPointer, extension fileExtension: String) -> Bool {
        let path = "\(scratchDirectory)/faqsync-fuzz-\(getpid()).\(fileExtension)"
        let descriptor = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        var written = 0
        while written < input.count, let base = input.baseAddress {
            let count = write(descriptor, base + written, input.count - written)
            if count <= 0 { break }
            written += count
        }
        close(descriptor)
        defer { unlink(path) }
        return (try? reader.read(URL(fileURLWithPath: path))) != nil
    }

    /// tmpfs when there is one: the fuzzers write one file per input.
    private static let scratchDirectory = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()

    // MARK: XML parts

    /// The parts a minimal valid workbook has, in the order the selector byte names them.
    public static let partNames = ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml",
                                   "xl/_rels/workbook.xml.rels", "_rels/.rels"]

    public static let validParts: [String: String] = [
        "_rels/.rels": #"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        "xl/workbook.xml": #"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr/><sheets><sheet name="FAQ" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        "xl/_rels/workbook.xml.rels": #"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
        "xl/sharedStrings.xml": #"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>category</t></si><si><t>subcategory</t></si><si><t>question</t></si><si><t>answer</t></si><si><r><t>Cards</t></r><r><t xml:space="preserve"> and more</t></r></si></sst>"#,
        "xl/styles.xml": #"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs></styleSheet>"#,
        "xl/worksheets/sheet1.xml": #"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row><row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" t="inlineStr"><is><t>Limits</t></is></c><c r="C2" t="str"><f>A1</f><v>Why?</v></c><c r="D2" s="1"><v>45352.5</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells></worksheet>"#,
    ]

    /// The input of the xml-parts target for a part: its selector byte, then its bytes.
    public static func xmlPartsInput(part: String, bytes: [UInt8]) -> [UInt8]? {
        partNames.firstIndex(of: part).map { [UInt8($0)] + bytes }
    }

    private static func readParts(_ input: UnsafeRawBufferPointer) -> Bool {
        guard let selector = input.first else { return false }
        var parts = validParts.mapValues { Array($0.utf8) }
        parts[partNames[Int(selector) % partNames.count]] = Array(input.dropFirst())
        return (try? reader.read(xlsxParts: parts)) != nil
    }

    // MARK: Snapshots

    /// With bit 1 of the first byte set, the rest is two files, a base and a delta over it: a
    /// 4-byte little-endian length, the base, the delta. Bit 0 fixes up both checksums, and the
    /// base's in the delta's header, so the fuzzer reaches what lies behind them.
    private static func readSnapshot(_ input: UnsafeRawBufferPointer) -> Bool {
        guard let flags = input.first else { return false }
        var payload = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        var basePayload: UnsafeRawBufferPointer?
        if flags & 2 == 2 {
            guard payload.count >= 4 else { return false }
            let length = Int(UInt32(littleEndian: payload.loadUnaligned(as: UInt32.self)))
            guard length <= payload.count - 4 else { return false }
            basePayload = UnsafeRawBufferPointer(rebasing: payload[(payload.startIndex + 4)..<(payload.startIndex + 4 + length)])
            payload = UnsafeRawBufferPointer(rebasing: payload[(payload.startIndex + 4 + length)...])
        }
        let baseFile = basePayload.map { AlignedCopy($0, fixChecksum: flags & 1 == 1) }
        let file = AlignedCopy(payload, fixChecksum: flags & 1 == 1, baseChecksum: baseFile?.checksum)
        return withExtendedLifetime((file, baseFile)) {
            guard let top = try? SnapshotView(buffer: file.bytes, path: "<fuzz>", verifyChecksum: true) else { return false }
            if top.header.base == nil { return exercise(SnapshotContents(whole: top)) }
            guard let baseFile, let base = try? SnapshotView(buffer: baseFile.bytes, path: "<fuzz base>", verifyChecksum: true),
                  let contents = try? SnapshotContents(delta: top, base: base, path: "<fuzz>") else { return false }
            return exercise(contents)
        }
    }

    /// A copy of fuzz bytes at a page boundary, as a mapping is (vectors are 64-byte aligned in it).
    private final class AlignedCopy {
        let buffer: UnsafeMutableRawBufferPointer
        let bytes: UnsafeRawBufferPointer
        /// The payload checksum written, when it was fixed up.
        private(set) var checksum: UInt64?
        init(_ payload: UnsafeRawBufferPointer, fixChecksum: Bool, baseChecksum: UInt64? = nil) {
            buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(payload.count, 1), alignment: 4_096)
            buffer.copyMemory(from: payload)
            bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<payload.count])
            if fixChecksum, bytes.count >= SnapshotLayout.headerSize {
                // The base checksum field (224) lies in the header, outside the payload's checksum.
                if let baseChecksum { buffer.storeBytes(of: baseChecksum.littleEndian, toByteOffset: 224, as: UInt64.self) }
                let checksum = XXHash64.hash(UnsafeRawBufferPointer(rebasing: bytes[SnapshotLayout.headerSize...]))
                buffer.storeBytes(of: checksum.littleEndian, toByteOffset: 88, as: UInt64.self)
                self.checksum = checksum
            }
        }
        deinit { buffer.deallocate() }
    }

    private static func exercise(_ view: SnapshotContents) -> Bool {
        // Everything a reader does with an accepted file: texts, lookups, searches with filters.
        let shown = min(view.count, 64)
        for index in 0..<shown {
            for field in SnapshotLayout.Field.allCases { _ = view.string(index, field) }
        }
        let query = [Float](repeating: 1, count: view.dimension)
        _ = try? view.search(query, k: 5)
        if shown > 0 {
            let category = view.string(0, .category)
            _ = try? view.search(query, k: 3, filter: SearchFilter(category: category, minimumScore: 0.1))
            _ = view.template(id: view.string(shown - 1, .id))
            // The lexical section (format 2): postings, lengths and fusion over whatever it claims.
            let text = view.string(0, .question) + " " + view.string(shown - 1, .answer)
            for mode in SearchMode.allCases {
                _ = try? view.search(SearchQuery(text: text, vector: query, mode: mode), k: 5)
            }
        }
        return true
    }
}
