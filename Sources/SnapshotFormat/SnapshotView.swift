/// Read access to a snapshot's bytes (usually a memory mapping), after validation.
///
/// The view does not own the memory: whoever mapped it keeps it alive while views exist.
public struct SnapshotView: @unchecked Sendable {
    // @unchecked: the buffer points at a read-only mapping that its owner keeps alive; nothing
    // writes through it.
    public let buffer: UnsafeRawBufferPointer
    public let header: SnapshotHeader

    /// Checks magic, version, section bounds and alignment; with `verifyChecksum`, the payload hash.
    public init(buffer: UnsafeRawBufferPointer, path: String, verifyChecksum: Bool = true) throws {
        self.header = try Self.header(of: buffer, path: path)
        self.buffer = buffer
        if verifyChecksum {
            let payload = UnsafeRawBufferPointer(rebasing: buffer[SnapshotLayout.headerSize..<header.fileSize])
            let computed = XXHash64.hash(payload)
            guard computed == header.checksum else {
                throw SnapshotError(code: .checksumMismatch, path: path,
                                    message: "the payload checksum is \(String(computed, radix: 16)), the header says \(String(header.checksum, radix: 16)): the file is damaged or was not written by faqsync")
            }
        }
    }

    public var count: Int { header.count }
    public var dimension: Int { header.dimension }

    /// The row-major float32 matrix of all vectors.
    public var matrix: UnsafeBufferPointer<Float> {
        let start = buffer.baseAddress! + header.vectorsOffset
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: header.count * header.dimension)
    }

    public func vector(_ index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: matrix[(index * header.dimension)..<((index + 1) * header.dimension)])
    }

    public func string(_ index: Int, _ field: SnapshotLayout.Field) -> String {
        let (offset, length) = stringLocation(index, field)
        let start = header.stringsOffset + offset
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)]), as: UTF8.self)
    }

    /// Compares a field with a string without decoding it (for filters).
    public func field(_ index: Int, _ field: SnapshotLayout.Field, equals utf8: [UInt8]) -> Bool {
        let (offset, length) = stringLocation(index, field)
        guard length == utf8.count else { return false }
        let start = header.stringsOffset + offset
        return utf8.withUnsafeBytes { memcmp(buffer.baseAddress! + start, $0.baseAddress!, length) == 0 }
    }

    /// Where a string lies in the string data. An entry pointing outside it (possible only in a
    /// file opened without checksum verification) reads as the empty string, never out of bounds.
    @inline(__always)
    private func stringLocation(_ index: Int, _ field: SnapshotLayout.Field) -> (Int, Int) {
        precondition(index >= 0 && index < header.count, "template index \(index) out of range")
        let entry = header.indexOffset + (index * SnapshotLayout.fieldsPerTemplate + field.rawValue) * 8
        let offset = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: entry, as: UInt32.self)))
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: entry + 4, as: UInt32.self)))
        guard offset + length <= header.stringsLength else { return (0, 0) }
        return (offset, length)
    }

    static func header(of buffer: UnsafeRawBufferPointer, path: String) throws -> SnapshotHeader {
        func fail(_ code: SnapshotError.Code, _ message: String) -> SnapshotError {
            SnapshotError(code: code, path: path, message: message)
        }
        guard buffer.count >= SnapshotLayout.headerSize else {
            throw fail(.truncated, "the file has \(buffer.count) bytes, less than the \(SnapshotLayout.headerSize)-byte header")
        }
        guard Array(buffer[0..<8]) == SnapshotLayout.magic else {
            throw fail(.badMagic, "the file does not start with the snapshot magic FAQSNAP: it is not a faqsync snapshot")
        }
        func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func int(_ offset: Int) -> Int { Int(truncatingIfNeeded: u64(offset)) }
        func text(_ offset: Int, _ capacity: Int) -> String {
            let bytes = buffer[offset..<(offset + capacity)].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        let version = u32(SnapshotLayout.Offset.formatVersion)
        guard version == SnapshotLayout.formatVersion else {
            throw fail(.unsupportedVersion, "format version \(version) is not supported by this reader (it reads version \(SnapshotLayout.formatVersion)); upgrade the reader")
        }
        let header = SnapshotHeader(
            generation: u64(SnapshotLayout.Offset.generation),
            createdMillis: Int64(bitPattern: u64(SnapshotLayout.Offset.createdMillis)),
            modelName: text(SnapshotLayout.Offset.modelName, SnapshotLayout.modelNameCapacity),
            modelVersion: text(SnapshotLayout.Offset.modelVersion, SnapshotLayout.modelVersionCapacity),
            dimension: Int(u32(SnapshotLayout.Offset.dimension)), count: Int(u32(SnapshotLayout.Offset.count)),
            vectorsOffset: int(SnapshotLayout.Offset.vectorsOffset), vectorsLength: int(SnapshotLayout.Offset.vectorsLength),
            indexOffset: int(SnapshotLayout.Offset.indexOffset), indexLength: int(SnapshotLayout.Offset.indexLength),
            stringsOffset: int(SnapshotLayout.Offset.stringsOffset), stringsLength: int(SnapshotLayout.Offset.stringsLength),
            checksum: u64(SnapshotLayout.Offset.checksum))
        guard Int(u32(SnapshotLayout.Offset.headerSize)) == SnapshotLayout.headerSize,
              header.dimension > 0,
              header.vectorsOffset >= SnapshotLayout.headerSize, header.vectorsOffset % SnapshotLayout.alignment == 0,
              header.vectorsLength == header.count * header.dimension * 4,
              header.indexOffset >= header.vectorsOffset + header.vectorsLength,
              header.indexLength == header.count * SnapshotLayout.fieldsPerTemplate * 8,
              header.stringsOffset >= header.indexOffset + header.indexLength,
              header.stringsLength >= 0 else {
            throw fail(.inconsistent, "the header's section sizes do not fit together (count \(header.count), dimension \(header.dimension))")
        }
        guard header.fileSize == buffer.count else {
            throw fail(header.fileSize > buffer.count ? .truncated : .inconsistent,
                       "the header describes \(header.fileSize) bytes but the file has \(buffer.count): it is truncated or was not written by faqsync")
        }
        return header
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
