/// Read access to a snapshot's bytes (usually a memory mapping), after validation.
///
/// The view does not own the memory: whoever mapped it keeps it alive while views exist.
public struct SnapshotView: @unchecked Sendable {
    // @unchecked: the buffer points at a read-only mapping that its owner keeps alive; nothing
    // writes through it.
    public let buffer: UnsafeRawBufferPointer
    public let header: SnapshotHeader
    /// The inverted index for lexical search; nil in a version 1 file (dense search only).
    public let lexical: LexicalView?

    /// Checks magic, version, section bounds and alignment; with `verifyChecksum`, the payload hash.
    /// The buffer's start must be 64-byte aligned (a mapping is page-aligned) for the vectors.
    public init(buffer: UnsafeRawBufferPointer, path: String, verifyChecksum: Bool = true) throws {
        self.header = try Self.header(of: buffer, path: path)
        self.buffer = buffer
        if let offset = header.lexicalOffset, let length = header.lexicalLength {
            lexical = try LexicalView(section: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]),
                                      count: header.count, path: path)
        } else {
            lexical = nil
        }
        if verifyChecksum {
            let payload = UnsafeRawBufferPointer(rebasing: buffer[SnapshotLayout.headerSize..<header.fileSize])
            let computed = XXHash64.hash(payload)
            guard computed == header.checksum else {
                throw SnapshotError(code: .checksumMismatch, path: path,
                                    message: "the payload checksum is \(String(computed, radix: 16)), the header says \(String(header.checksum, radix: 16)): the file is damaged or was not written by faqsync")
            }
        }
    }

    /// The removed-rows bitmap of a delta (version 3), over its base's rows.
    public var removedRows: UnsafeRawBufferPointer? {
        header.base.map { UnsafeRawBufferPointer(rebasing: buffer[$0.removedOffset..<($0.removedOffset + $0.removedLength)]) }
    }

    /// Rows in this file (in a delta, its own, not its base's).
    public var count: Int { header.count }
    public var dimension: Int { header.dimension }

    /// The row-major float32 matrix of all vectors.
    public var matrix: UnsafeBufferPointer<Float> {
        // The buffer holds at least the header, so it has a base address.
        let start = buffer.baseAddress! + header.vectorsOffset
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: header.count * header.dimension)
    }

    public func vector(_ index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: matrix[(index * header.dimension)..<((index + 1) * header.dimension)])
    }

    public func string(_ index: Int, _ field: SnapshotLayout.Field) -> String {
        String(decoding: bytes(index, field), as: UTF8.self)
    }

    /// A field's bytes as the file holds them, for copying into another snapshot without decoding
    /// them (they are UTF-8 as a writer wrote them; `string` repairs any that are not).
    public func bytes(_ index: Int, _ field: SnapshotLayout.Field) -> UnsafeRawBufferPointer {
        let (offset, length) = stringLocation(index, field)
        let start = header.stringsOffset + offset
        return UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)])
    }

    /// Compares a field with a string without decoding it (for filters).
    public func field(_ index: Int, _ field: SnapshotLayout.Field, equals utf8: [UInt8]) -> Bool {
        let (offset, length) = stringLocation(index, field)
        guard length == utf8.count else { return false }
        guard length > 0 else { return true }
        let start = header.stringsOffset + offset
        return utf8.withUnsafeBytes { wanted in
            guard let wantedBase = wanted.baseAddress, let base = buffer.baseAddress else { return false }
            return memcmp(base + start, wantedBase, length) == 0
        }
    }

    /// Where a string lies in the string data. An entry pointing outside it (possible only in a
    /// file opened without checksum verification) reads as the empty string, never out of bounds.
    @inline(__always)
    private func stringLocation(_ index: Int, _ field: SnapshotLayout.Field) -> (Int, Int) {
        // The index is the caller's (0..<count), never read from the file: a bad one is a
        // programming error, like an array subscript out of range.
        precondition(index >= 0 && index < header.count, "template index \(index) out of range")
        let entry = header.indexOffset + (index * SnapshotLayout.fieldsPerTemplate + field.rawValue) * 8
        let offset = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: entry, as: UInt32.self)))
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: entry + 4, as: UInt32.self)))
        guard offset + length <= header.stringsLength else { return (0, 0) }
        return (offset, length)
    }

    /// Decodes and validates the header against the buffer. Every field is checked with checked
    /// arithmetic before anything is computed from it: a header can claim any numbers, and a
    /// reader that meets a bad file must refuse it, never trap.
    static func header(of buffer: UnsafeRawBufferPointer, path: String) throws -> SnapshotHeader {
        func fail(_ code: SnapshotError.Code, _ message: String) -> SnapshotError {
            SnapshotError(code: code, path: path, message: message)
        }
        guard buffer.count >= SnapshotLayout.headerSize else {
            throw fail(.truncated, "the file has \(buffer.count) bytes, less than the \(SnapshotLayout.headerSize)-byte header")
        }
        guard buffer.prefix(8).elementsEqual(SnapshotLayout.magic) else {
            throw fail(.badMagic, "the file does not start with the snapshot magic FAQSNAP: it is not a faqsync snapshot")
        }
        func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func text(_ offset: Int, _ capacity: Int) -> String {
            String(decoding: buffer[offset..<(offset + capacity)].prefix { $0 != 0 }, as: UTF8.self)
        }
        /// An offset or length: at most the file's size, or the header lies.
        func position(_ offset: Int, _ name: String) throws -> Int {
            let value = u64(offset)
            guard value <= UInt64(buffer.count) else {
                throw fail(.inconsistent, "the header's \(name) is \(value), beyond the file's \(buffer.count) bytes: the file is damaged or was not written by faqsync")
            }
            return Int(value)
        }
        func sum(_ a: Int, _ b: Int) -> Int? {
            let (total, overflow) = a.addingReportingOverflow(b)
            return overflow ? nil : total
        }
        func product(_ factors: Int...) -> Int? {
            var total = 1
            for factor in factors {
                let (next, overflow) = total.multipliedReportingOverflow(by: factor)
                if overflow { return nil }
                total = next
            }
            return total
        }

        let version = u32(SnapshotLayout.Offset.formatVersion)
        guard SnapshotLayout.readableVersions.contains(version) else {
            throw fail(.unsupportedVersion, "format version \(version) is not supported by this reader (it reads versions \(SnapshotLayout.readableVersions.lowerBound) to \(SnapshotLayout.readableVersions.upperBound)); upgrade the reader")
        }
        guard Int(u32(SnapshotLayout.Offset.headerSize)) == SnapshotLayout.headerSize else {
            throw fail(.inconsistent, "the header size field says \(u32(SnapshotLayout.Offset.headerSize)), not \(SnapshotLayout.headerSize)")
        }
        let dimension = Int(u32(SnapshotLayout.Offset.dimension))
        let count = Int(u32(SnapshotLayout.Offset.count))
        guard dimension > 0 else { throw fail(.inconsistent, "the header's dimension is 0") }
        let vectorsOffset = try position(SnapshotLayout.Offset.vectorsOffset, "vectors offset")
        let vectorsLength = try position(SnapshotLayout.Offset.vectorsLength, "vectors length")
        let indexOffset = try position(SnapshotLayout.Offset.indexOffset, "string index offset")
        let indexLength = try position(SnapshotLayout.Offset.indexLength, "string index length")
        let stringsOffset = try position(SnapshotLayout.Offset.stringsOffset, "string data offset")
        let stringsLength = try position(SnapshotLayout.Offset.stringsLength, "string data length")
        guard vectorsOffset >= SnapshotLayout.headerSize, vectorsOffset % SnapshotLayout.alignment == 0,
              vectorsLength == product(count, dimension, 4),
              let vectorsEnd = sum(vectorsOffset, vectorsLength), indexOffset >= vectorsEnd,
              indexLength == product(count, SnapshotLayout.fieldsPerTemplate, 8),
              let indexEnd = sum(indexOffset, indexLength), stringsOffset >= indexEnd,
              let stringsEnd = sum(stringsOffset, stringsLength) else {
            throw fail(.inconsistent, "the header's section sizes do not fit together (count \(count), dimension \(dimension))")
        }
        var fileSize = stringsEnd
        var lexicalOffset: Int?, lexicalLength: Int?
        if version >= 2 {
            let offset = try position(SnapshotLayout.Offset.lexicalOffset, "lexical section offset")
            let length = try position(SnapshotLayout.Offset.lexicalLength, "lexical section length")
            guard offset >= stringsEnd, offset % SnapshotLayout.lexicalAlignment == 0, let end = sum(offset, length) else {
                throw fail(.inconsistent, "the header's lexical section (offset \(offset), length \(length)) does not follow the string data")
            }
            (lexicalOffset, lexicalLength, fileSize) = (offset, length, end)
        }
        var base: SnapshotHeader.BaseReference?
        if version >= 3 {
            let offset = try position(SnapshotLayout.Offset.removedOffset, "removed rows offset")
            let length = try position(SnapshotLayout.Offset.removedLength, "removed rows length")
            guard offset == fileSize, let end = sum(offset, length) else {
                throw fail(.inconsistent, "the header's removed rows (offset \(offset), length \(length)) do not follow the lexical section")
            }
            let baseGeneration = u64(SnapshotLayout.Offset.baseGeneration)
            guard baseGeneration < u64(SnapshotLayout.Offset.generation) else {
                throw fail(.inconsistent, "the base generation \(baseGeneration) is not older than the file's own \(u64(SnapshotLayout.Offset.generation))")
            }
            let question = Float(bitPattern: u32(SnapshotLayout.Offset.liveAverageQuestion))
            let answer = Float(bitPattern: u32(SnapshotLayout.Offset.liveAverageAnswer))
            guard question.isFinite, answer.isFinite, question >= 0, answer >= 0 else {
                throw fail(.inconsistent, "the header's average field lengths (\(question), \(answer)) are not finite numbers of at least 0")
            }
            base = SnapshotHeader.BaseReference(generation: baseGeneration, checksum: u64(SnapshotLayout.Offset.baseChecksum),
                                                removedOffset: offset, removedLength: length,
                                                averageQuestionLength: question, averageAnswerLength: answer)
            fileSize = end
        }
        let generation = u64(SnapshotLayout.Offset.generation)
        guard generation <= SnapshotLayout.maxGeneration else {
            throw fail(.inconsistent, "the generation \(generation) is beyond any a publisher writes (at most \(SnapshotLayout.maxGeneration)): the file was not written by faqsync")
        }
        let createdMillis = Int64(bitPattern: u64(SnapshotLayout.Offset.createdMillis))
        guard SnapshotLayout.createdMillisRange.contains(createdMillis) else {
            throw fail(.inconsistent, "the header's creation time (\(createdMillis) ms since 1970) is not between 1970 and 9999")
        }
        var hybridDenseWeight: Float?
        switch u32(SnapshotLayout.Offset.fusionRecorded) {
        case 0: break
        case 1:
            let weight = Float(bitPattern: u32(SnapshotLayout.Offset.fusionDenseWeight))
            guard weight.isFinite, (0...1).contains(weight) else {
                throw fail(.inconsistent, "the header's hybrid dense weight (\(weight)) is not between 0 and 1")
            }
            hybridDenseWeight = weight
        case let other:
            throw fail(.inconsistent, "the header's fusion field says \(other), not 0 or 1")
        }
        guard fileSize == buffer.count else {
            throw fail(fileSize > buffer.count ? .truncated : .inconsistent,
                       "the header describes \(fileSize) bytes but the file has \(buffer.count): it is truncated or was not written by faqsync")
        }
        return SnapshotHeader(
            formatVersion: version,
            generation: generation,
            createdMillis: createdMillis,
            modelName: text(SnapshotLayout.Offset.modelName, SnapshotLayout.modelNameCapacity),
            modelVersion: text(SnapshotLayout.Offset.modelVersion, SnapshotLayout.modelVersionCapacity),
            dimension: dimension, count: count,
            vectorsOffset: vectorsOffset, vectorsLength: vectorsLength, indexOffset: indexOffset, indexLength: indexLength,
            stringsOffset: stringsOffset, stringsLength: stringsLength,
            checksum: u64(SnapshotLayout.Offset.checksum),
            lexicalOffset: lexicalOffset, lexicalLength: lexicalLength, hybridDenseWeight: hybridDenseWeight, base: base)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
