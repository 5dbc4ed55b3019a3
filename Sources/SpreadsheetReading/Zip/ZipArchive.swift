import SystemIO
import CZlibInflate
import Foundation

/// A read-only zip container, as much of the format as xlsx packages use: the central directory
/// (zip64 included), stored and deflated entries, CRC-32 checks.
///
/// Why not ZIPFoundation here (it still writes the test packages): on Linux its inflate loop
/// spins forever when a deflate stream runs into the end of the file before it ends
/// (weichsel/ZIPFoundation#389, open), and a file cut off mid-save is exactly that. This reader
/// bounds every read by the sizes the directory declares and checks each one against the file:
/// an entry's compressed data is read from its own range only, inflation stops with an error
/// when that range is used up before the stream ends, and the inflated size is counted against
/// the limit while inflating, never trusted from the directory.
final class ZipArchive {
    struct Entry {
        let path: String
        let method: UInt16
        let flags: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    enum Failure: Error {
        /// Not a zip at all (no signature anywhere a zip has one).
        case notAZip
        /// A zip whose structure is cut off or inconsistent: truncated, or damaged.
        case damaged(String)
        /// A part that inflates beyond the limit.
        case limitReached(Int)
        /// A compression method or encryption a spreadsheet writer never uses.
        case unsupported(String)
    }

    let bytes: [UInt8]
    private(set) var entries: [Entry] = []
    private var indexByPath: [String: Int] = [:]

    /// - Parameter maxFileBytes: a larger file is refused before it is read.
    convenience init(url: URL, maxFileBytes: Int) throws {
        let descriptor: Int32, info: stat
        do { (descriptor, info) = try RegularFile.open(url.path) } catch {
            throw Failure.damaged(error.kind.map { "the path is \($0), not a file" }
                                  ?? "the file cannot be opened: \(String(cString: strerror(error.errno ?? EIO)))")
        }
        defer { close(descriptor) }
        let size = Int(info.st_size)
        guard size <= maxFileBytes else { throw Failure.limitReached(maxFileBytes) }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return pread(descriptor, base + filled, size - filled, off_t(filled))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        // A file that shrank while being read (a save in progress) is read as what arrived.
        try self.init(bytes: Array(bytes.prefix(filled)))
    }

    init(bytes: [UInt8]) throws {
        self.bytes = bytes
        try readCentralDirectory()
    }

    /// The entry at a part name as a relationship names it. Part names are compared as the Open
    /// Packaging Conventions say, ignoring ASCII case (`SharedStrings.xml` is `sharedStrings.xml`),
    /// and a `\` some Windows tools write between folders is a `/`.
    func entry(_ path: String) -> Entry? { indexByPath[Self.key(path)].map { entries[$0] } }

    static func key(_ path: String) -> String {
        String(decoding: path.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "\\"): UInt8(ascii: "/")
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte + 32
            default: byte
            }
        }, as: UTF8.self)
    }

    // MARK: The central directory

    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    private func readCentralDirectory() throws {
        // The end record is the last 22 bytes, unless a comment (up to 64 KiB) follows it.
        guard let end = findEndRecord() else {
            throw bytes.starts(with: [0x50, 0x4B]) ? Failure.damaged("the zip container has no end record: the file is cut off") : Failure.notAZip
        }
        var entryCount = Int(u16(end + 10))
        var directorySize = Int(u32(end + 12))
        var directoryOffset = Int(u32(end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64: a locator just before the end record points at the zip64 end record.
            let locator = end - 20
            guard locator >= 0, u32(locator) == Self.zip64LocatorSignature,
                  let record = checkedInt(u64(locator + 8)), record + 56 <= locator, u32(record) == Self.zip64EndSignature,
                  let count = checkedInt(u64(record + 32)), let size = checkedInt(u64(record + 40)), let offset = checkedInt(u64(record + 48)) else {
                throw Failure.damaged("the zip64 end record is missing or damaged")
            }
            (entryCount, directorySize, directoryOffset) = (count, size, offset)
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw Failure.damaged("the central directory lies beyond the end of the file: the file is cut off")
        }
        // Each entry takes at least 46 bytes, so the directory's size bounds the count it claims.
        guard entryCount <= directorySize / 46 else {
            throw Failure.damaged("the central directory claims \(entryCount) entries in \(directorySize) bytes")
        }
        entries.reserveCapacity(entryCount)
        var position = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for _ in 0..<entryCount {
            guard position + 46 <= directoryEnd, u32(position) == Self.centralSignature else {
                throw Failure.damaged("the central directory is damaged at byte \(position)")
            }
            let nameLength = Int(u16(position + 28)), extraLength = Int(u16(position + 30)), commentLength = Int(u16(position + 32))
            let next = position + 46 + nameLength + extraLength + commentLength
            guard next <= directoryEnd else { throw Failure.damaged("a central directory entry runs past the directory") }
            var compressed = Int(u32(position + 20)), uncompressed = Int(u32(position + 24)), localOffset = Int(u32(position + 42))
            // Zip64 sizes and offset, in that order, for the fields that are 0xFFFFFFFF.
            var extra = position + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), size = Int(u16(extra + 2))
                guard extra + 4 + size <= extraEnd else { break }
                if id == 0x0001 {
                    var field = extra + 4
                    func take() throws -> Int {
                        guard field + 8 <= extra + 4 + size, let value = checkedInt(u64(field)) else {
                            throw Failure.damaged("a zip64 extra field is too short or out of range")
                        }
                        field += 8
                        return value
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
                    if compressed == 0xFFFF_FFFF { compressed = try take() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try take() }
                }
                extra += 4 + size
            }
            let path = String(decoding: bytes[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self)
            let entry = Entry(path: path, method: u16(position + 10), flags: u16(position + 8), crc32: u32(position + 16),
                              compressedSize: compressed, uncompressedSize: uncompressed, localHeaderOffset: localOffset)
            if indexByPath[Self.key(path)] == nil { indexByPath[Self.key(path)] = entries.count }
            entries.append(entry)
            position = next
        }
    }

    private func findEndRecord() -> Int? {
        guard bytes.count >= 22 else { return nil }
        var position = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while position >= lowest {
            if bytes[position] == 0x50, u32(position) == Self.endSignature, position + 22 + Int(u16(position + 20)) <= bytes.count {
                return position
            }
            position -= 1
        }
        return nil
    }

    // MARK: Entries

    /// The entry's bytes, inflated within `limit`, CRC-checked.
    func extract(_ entry: Entry, limit: Int) throws -> [UInt8] {
        guard entry.flags & 0x1 == 0 else { throw Failure.unsupported("the part \(entry.path) is encrypted") }
        // The declared size is known before inflating: a part that says it is beyond the limit is
        // refused at once (one that lies is still stopped at the limit while inflating).
        guard entry.uncompressedSize <= limit else { throw Failure.limitReached(limit) }
        let header = entry.localHeaderOffset
        guard header <= bytes.count - 30, u32(header) == Self.localSignature else {
            throw Failure.damaged("the local header of \(entry.path) is missing: the file is damaged or cut off")
        }
        let dataStart = header + 30 + Int(u16(header + 26)) + Int(u16(header + 28))
        guard dataStart <= bytes.count, entry.compressedSize <= bytes.count - dataStart else {
            throw Failure.damaged("the data of \(entry.path) runs past the end of the file: the file is cut off")
        }
        let range = dataStart..<(dataStart + entry.compressedSize)
        let output: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize <= limit else { throw Failure.limitReached(limit) }
            output = Array(bytes[range])
        case 8:
            output = try inflate(range, path: entry.path, limit: limit, expected: entry.uncompressedSize)
        default:
            throw Failure.unsupported("the part \(entry.path) uses compression method \(entry.method), which spreadsheet writers do not use")
        }
        let checksum = output.withUnsafeBytes { raw -> UInt32 in
            guard let base = raw.baseAddress else { return 0 }
            return UInt32(truncatingIfNeeded: crc32(0, base.assumingMemoryBound(to: Bytef.self), uInt(raw.count)))
        }
        guard checksum == entry.crc32 else {
            throw Failure.damaged("the part \(entry.path) fails its CRC-32 check: the file is damaged")
        }
        return output
    }

    /// Raw deflate (no zlib header), the input bounded to `range`: a stream that has not ended
    /// when its range is used up is an error, never a wait for more.
    private func inflate(_ range: Range<Int>, path: String, limit: Int, expected: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure.damaged("zlib could not start inflating \(path)")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        // The declared size is a claim: reserve it only as far as the input could really inflate
        // (deflate tops out near 1:1032), and never beyond the limit.
        output.reserveCapacity(min(limit, expected, range.count.multipliedReportingOverflow(by: 1_032).partialValue))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        return try bytes.withUnsafeBufferPointer { input -> [UInt8] in
            guard let base = input.baseAddress else { throw Failure.damaged("no data") }
            stream.next_in = UnsafeMutablePointer(mutating: base + range.lowerBound)
            stream.avail_in = 0
            var remaining = range.count
            while true {
                if stream.avail_in == 0, remaining > 0 {
                    let take = min(remaining, Int(UInt32.max >> 1))
                    stream.avail_in = uInt(take)
                    remaining -= take
                }
                let inputBefore = stream.avail_in
                let produced = try chunk.withUnsafeMutableBufferPointer { out -> Int in
                    guard let outBase = out.baseAddress else { return 0 }
                    stream.next_out = outBase
                    stream.avail_out = uInt(out.count)
                    let result = CZlibInflate.inflate(&stream, Z_NO_FLUSH)
                    switch result {
                    case Z_OK, Z_STREAM_END, Z_BUF_ERROR:
                        let count = out.count - Int(stream.avail_out)
                        if result == Z_STREAM_END { return -(count + 1) }
                        // No output, no input left: the stream wants bytes its range does not have.
                        if result == Z_BUF_ERROR, count == 0, stream.avail_in == 0, remaining == 0 {
                            throw Failure.damaged("the compressed data of \(path) ends before its stream does: the file is cut off or damaged")
                        }
                        return count
                    default:
                        throw Failure.damaged("the compressed data of \(path) is invalid (zlib error \(result))")
                    }
                }
                let count = produced < 0 ? -produced - 1 : produced
                guard output.count <= limit - count else { throw Failure.limitReached(limit) }
                output.append(contentsOf: chunk[0..<count])
                if produced < 0 { return output }
                if count == 0, stream.avail_in == inputBefore {
                    // Neither input consumed nor output produced: it would never end.
                    throw Failure.damaged("the compressed data of \(path) ends before its stream does: the file is cut off or damaged")
                }
            }
        }
    }

    // MARK: Little-endian fields, read only after the caller checked the range

    private func u16(_ offset: Int) -> UInt16 {
        guard offset >= 0, offset + 2 <= bytes.count else { return 0 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private func u32(_ offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else { return 0 }
        return UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16
    }

    private func u64(_ offset: Int) -> UInt64 {
        guard offset >= 0, offset + 8 <= bytes.count else { return UInt64.max }
        return UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32
    }

    /// A 64-bit field as an Int, nil beyond any file size.
    private func checkedInt(_ value: UInt64) -> Int? { value <= UInt64(Int32.max) * 1024 ? Int(value) : nil }
}
