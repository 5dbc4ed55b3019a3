import SystemIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One template as a snapshot holds it.
///
/// Why it exists next to the store's `StoredTemplate`: the snapshot format has no dependencies
/// (readers link it alone), so it cannot use store types; it drops the hashes the file does not hold.
public struct SnapshotTemplate: Sendable {
    public let id: String
    public let category: String
    public let subcategory: String
    public let question: String
    public let answer: String
    /// JSON array of {name, value}.
    public let metadataJSON: String
    public let vector: [Float]

    public init(id: String, category: String, subcategory: String, question: String, answer: String,
                metadataJSON: String, vector: [Float]) {
        self.id = id
        self.category = category
        self.subcategory = subcategory
        self.question = question
        self.answer = answer
        self.metadataJSON = metadataJSON
        self.vector = vector
    }

    /// Row `index` of a validated snapshot, copied out of the mapping (`id`: its id, when the
    /// caller read it already). The one way a snapshot's template becomes one to write again:
    /// a patch's unchanged templates and an installed backup's.
    public init(view: SnapshotView, index: Int, id: String? = nil) {
        self.init(id: id ?? view.string(index, .id), category: view.string(index, .category), subcategory: view.string(index, .subcategory),
                  question: view.string(index, .question), answer: view.string(index, .answer),
                  metadataJSON: view.string(index, .metadata), vector: Array(view.vector(index)))
    }

    /// The fields in the file's order, without building an array per template.
    func forEachField(_ body: (String) throws -> Void) rethrows {
        try body(id)
        try body(category)
        try body(subcategory)
        try body(question)
        try body(answer)
        try body(metadataJSON)
    }
}

/// What a delta (format version 3) records of the base it is written over.
public struct DeltaBase: Sendable {
    public let generation: UInt64
    /// The base header's payload checksum.
    public let checksum: UInt64
    /// One bit per base row, set where the row is not in the snapshot.
    public let removedRows: [UInt8]
    /// The base rows that stay, and the sums of their field lengths.
    public let keptCount: Int
    public let keptQuestionLength: Double
    public let keptAnswerLength: Double

    public init(generation: UInt64, checksum: UInt64, removedRows: [UInt8], keptCount: Int, keptQuestionLength: Double, keptAnswerLength: Double) {
        self.generation = generation
        self.checksum = checksum
        self.removedRows = removedRows
        self.keptCount = keptCount
        self.keptQuestionLength = keptQuestionLength
        self.keptAnswerLength = keptAnswerLength
    }
}

/// Writes a snapshot into an open file descriptor: vectors, string index, strings, lexical
/// section (and a delta's removed rows); then the header with the checksum, computed over the
/// bytes as written (read back through a mapping).
public enum SnapshotEncoder {
    public struct Model: Sendable {
        public let name: String
        public let version: String
        public let dimension: Int
        /// Hybrid search's dense weight for this model version, recorded in the header so every
        /// reader fuses as the version was measured; nil records none (readers use 0.5).
        public let hybridDenseWeight: Float?

        public init(name: String, version: String, dimension: Int, hybridDenseWeight: Float? = nil) {
            self.name = name
            self.version = version
            self.dimension = dimension
            self.hybridDenseWeight = hybridDenseWeight
        }
    }

    /// Why a model or a set of templates cannot go into a snapshot, checked before anything is
    /// written (and by configuration, before a sync starts).
    public static func validate(model: Model) throws {
        if let problem = SnapshotLayout.problem(modelName: model.name, modelVersion: model.version, dimension: model.dimension) {
            throw SnapshotError(code: .tooLarge, path: "-", message: problem)
        }
        if let weight = model.hybridDenseWeight, !(weight.isFinite && (0...1).contains(weight)) {
            throw SnapshotError(code: .inconsistent, path: "-", message: "the hybrid dense weight \(weight) is not between 0 and 1")
        }
    }

    /// - Throws: `SnapshotError` with code `.io` when a write fails, `.tooLarge` when the model
    ///   or the templates do not fit the format (checked before anything is written).
    /// - Parameter lexicalSection: the lexical section for these templates, in their order
    ///   (`LexicalIndexBuilder`), for format version 2; nil writes a version 1 file without one
    ///   (kept for the tests of version 1 readers).
    public static func write(to descriptor: Int32, path: String, generation: UInt64, createdMillis: Int64,
                             model: Model, templates: [SnapshotTemplate], lexicalSection: LexicalSectionBytes?) throws {
        try write(to: descriptor, path: path, generation: generation, createdMillis: createdMillis, model: model,
                  rows: SnapshotRows(templates), lexicalSection: { lexicalSection })
    }

    /// `write(…templates:…)` for rows some of which are copied from a base snapshot as they are
    /// there. Throws `changedUnderReader` when the base changed in place while it was copied.
    ///
    /// `lexicalSection` builds the section (nil: a version 1 file). It runs on a second thread
    /// while the rows are written: the section comes last in the file, and the header that names
    /// its place is written when everything else is, so neither waits for the other.
    ///
    /// `delta`: write a delta (format version 3) over that base; it needs a lexical section.
    ///
    /// `checkpoint` is called every few thousand rows while they are written; what it throws
    /// stops the write (a background merge giving way to a save).
    public static func write(to descriptor: Int32, path: String, generation: UInt64, createdMillis: Int64,
                             model: Model, rows: SnapshotRows, delta: DeltaBase? = nil,
                             checkpoint: @Sendable () throws -> Void = {},
                             lexicalSection buildLexicalSection: @Sendable () throws -> LexicalSectionBytes?) throws {
        if let problem = SnapshotLayout.problem(modelName: model.name, modelVersion: model.version, dimension: model.dimension) {
            throw SnapshotError(code: .tooLarge, path: path, message: problem)
        }
        if let weight = model.hybridDenseWeight, !(weight.isFinite && (0...1).contains(weight)) {
            throw SnapshotError(code: .inconsistent, path: path, message: "the hybrid dense weight \(weight) is not between 0 and 1")
        }
        guard let count = UInt32(exactly: rows.count) else {
            throw SnapshotError(code: .tooLarge, path: path, message: "\(rows.count) templates are more than a snapshot holds")
        }
        if let base = rows.base?.view, base.dimension != model.dimension {
            throw SnapshotError(code: .inconsistent, path: path,
                                message: "the base snapshot has vectors of \(base.dimension) values, the model has \(model.dimension)")
        }
        let (built, rowsWritten) = bothAtOnce(buildLexicalSection, { try writeRows(rows, model: model, to: descriptor, path: path, checkpoint: checkpoint) })
        var (writer, layout) = try rowsWritten.get()
        let lexicalSection = try built.get()
        if let lexicalSection {
            // The section's own count must be the header's, or readers refuse the file.
            guard lexicalSection.templateCount == rows.count else {
                throw SnapshotError(code: .inconsistent, path: path, message: "the lexical section covers \(lexicalSection.templateCount) templates, not \(rows.count)")
            }
        }
        let lexicalOffset = (layout.stringsEnd + SnapshotLayout.lexicalAlignment - 1) / SnapshotLayout.lexicalAlignment * SnapshotLayout.lexicalAlignment
        var fileSize = layout.stringsEnd
        var header = [UInt8](repeating: 0, count: SnapshotLayout.headerSize)
        if let lexicalSection {
            try writer.append([UInt8](repeating: 0, count: lexicalOffset - layout.stringsEnd))
            try writer.append(lexicalSection.bytes)
            fileSize = lexicalOffset + lexicalSection.bytes.count
        }
        let removedOffset = fileSize
        if let delta {
            guard let lexicalSection, delta.generation < generation else {
                throw SnapshotError(code: .inconsistent, path: path, message: "a delta needs a lexical section and a base older than itself")
            }
            try writer.append(delta.removedRows)
            fileSize += delta.removedRows.count
            let rows = Double(max(1, delta.keptCount + lexicalSection.templateCount))
            put(Float((delta.keptQuestionLength + lexicalSection.totalQuestionLength) / rows).bitPattern,
                at: SnapshotLayout.Offset.liveAverageQuestion, in: &header)
            put(Float((delta.keptAnswerLength + lexicalSection.totalAnswerLength) / rows).bitPattern,
                at: SnapshotLayout.Offset.liveAverageAnswer, in: &header)
            put(delta.generation, at: SnapshotLayout.Offset.baseGeneration, in: &header)
            put(delta.checksum, at: SnapshotLayout.Offset.baseChecksum, in: &header)
            put(UInt64(removedOffset), at: SnapshotLayout.Offset.removedOffset, in: &header)
            put(UInt64(delta.removedRows.count), at: SnapshotLayout.Offset.removedLength, in: &header)
        }
        try writer.flush()
        // What was copied from the base is what was validated only if it did not change meanwhile.
        try rows.base?.checkIntact()

        header.replaceSubrange(0..<8, with: SnapshotLayout.magic)
        put(lexicalSection == nil ? 1 : delta == nil ? SnapshotLayout.formatVersion : SnapshotLayout.deltaFormatVersion,
            at: SnapshotLayout.Offset.formatVersion, in: &header)
        put(UInt32(SnapshotLayout.headerSize), at: SnapshotLayout.Offset.headerSize, in: &header)
        put(generation, at: SnapshotLayout.Offset.generation, in: &header)
        put(UInt64(bitPattern: createdMillis), at: SnapshotLayout.Offset.createdMillis, in: &header)
        put(UInt32(model.dimension), at: SnapshotLayout.Offset.dimension, in: &header)   // validated above
        put(count, at: SnapshotLayout.Offset.count, in: &header)
        put(UInt64(layout.vectorsOffset), at: SnapshotLayout.Offset.vectorsOffset, in: &header)
        put(UInt64(layout.vectorsLength), at: SnapshotLayout.Offset.vectorsLength, in: &header)
        put(UInt64(layout.indexOffset), at: SnapshotLayout.Offset.indexOffset, in: &header)
        put(UInt64(layout.indexLength), at: SnapshotLayout.Offset.indexLength, in: &header)
        put(UInt64(layout.stringsOffset), at: SnapshotLayout.Offset.stringsOffset, in: &header)
        put(UInt64(layout.stringsEnd - layout.stringsOffset), at: SnapshotLayout.Offset.stringsLength, in: &header)
        header.replaceSubrange(SnapshotLayout.Offset.modelName..<(SnapshotLayout.Offset.modelName + model.name.utf8.count), with: Array(model.name.utf8))
        header.replaceSubrange(SnapshotLayout.Offset.modelVersion..<(SnapshotLayout.Offset.modelVersion + model.version.utf8.count), with: Array(model.version.utf8))
        if let lexicalSection {
            put(UInt64(lexicalOffset), at: SnapshotLayout.Offset.lexicalOffset, in: &header)
            put(UInt64(lexicalSection.bytes.count), at: SnapshotLayout.Offset.lexicalLength, in: &header)
        }
        if let weight = model.hybridDenseWeight {
            put(UInt32(1), at: SnapshotLayout.Offset.fusionRecorded, in: &header)
            put(weight.bitPattern, at: SnapshotLayout.Offset.fusionDenseWeight, in: &header)
        }
        try checkpoint()
        // The checksum covers what follows the header, so the header can go in last.
        put(try checksumOfPayload(descriptor: descriptor, path: path, fileSize: fileSize), at: SnapshotLayout.Offset.checksum, in: &header)
        let written = header.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == header.count else { throw ioError(path, "writing the header") }
    }

    /// Where `writeRows` put the parts the header names.
    private struct RowsLayout {
        let vectorsOffset: Int, vectorsLength: Int
        let indexOffset: Int, indexLength: Int
        let stringsOffset: Int, stringsEnd: Int
    }

    /// Everything up to the end of the strings, the header's place left zero; returns the writer
    /// (with what it still buffers) and where the parts went.
    private static func writeRows(_ rows: SnapshotRows, model: Model, to descriptor: Int32, path: String,
                                  checkpoint: () throws -> Void) throws -> (writer: ChunkWriter, layout: RowsLayout) {
        let checkpointEvery = 4_096
        let vectorsOffset = SnapshotLayout.aligned(SnapshotLayout.headerSize)
        let vectorsLength = rows.count * model.dimension * 4     // both bounded above: no overflow
        let indexOffset = vectorsOffset + vectorsLength
        let indexLength = rows.count * SnapshotLayout.fieldsPerTemplate * 8

        var index = [UInt8]()
        index.reserveCapacity(indexLength)
        var strings = [UInt8]()
        var stringBytes = 0
        for row in rows.rows {
            rows.forEachField(of: row) { stringBytes &+= $0.count }
        }
        strings.reserveCapacity(min(stringBytes, Int(UInt32.max)))
        for (number, row) in rows.rows.enumerated() {
            if number % checkpointEvery == 0 { try checkpoint() }
            if case .template(let template, _) = row, template.vector.count != model.dimension {
                throw SnapshotError(code: .inconsistent, path: path,
                                    message: "template \(template.id) has a vector of \(template.vector.count) values, the model has \(model.dimension)")
            }
            try rows.forEachField(of: row) { field in
                guard let offset = UInt32(exactly: strings.count), let length = UInt32(exactly: field.count),
                      UInt32.max - offset >= length else {
                    throw SnapshotError(code: .tooLarge, path: path, message: "the templates' texts exceed the 4 GiB a snapshot holds")
                }
                appendLE(offset, to: &index)
                appendLE(length, to: &index)
                strings.append(contentsOf: field)   // one copy of contiguous bytes
            }
        }
        let stringsOffset = indexOffset + indexLength

        var writer = ChunkWriter(descriptor: descriptor, path: path)
        // The header is written last, over these zeros, when the lexical section's place is known.
        try writer.append([UInt8](repeating: 0, count: vectorsOffset))
        // Little-endian hosts only. Consecutive base rows are one run of the base's matrix.
        var baseRun: Range<Int>?
        func writeBaseRun() throws {
            guard let run = baseRun, let base = rows.base?.view else { return }
            let values = base.matrix[(run.lowerBound * model.dimension)..<(run.upperBound * model.dimension)]
            try writer.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: values)))
            baseRun = nil
        }
        for (number, row) in rows.rows.enumerated() {
            if number % checkpointEvery == 0 { try checkpoint() }
            switch row {
            case .base(let index):
                if let run = baseRun, run.upperBound == index {
                    baseRun = run.lowerBound..<(index + 1)
                } else {
                    try writeBaseRun()
                    baseRun = index..<(index + 1)
                }
            case .template(let template, _):
                try writeBaseRun()
                try template.vector.withUnsafeBytes { try writer.append($0) }
            }
        }
        try writeBaseRun()
        try writer.append(index)
        try writer.append(strings)
        return (writer, RowsLayout(vectorsOffset: vectorsOffset, vectorsLength: vectorsLength, indexOffset: indexOffset,
                                   indexLength: indexLength, stringsOffset: stringsOffset, stringsEnd: stringsOffset + strings.count))
    }

    private static func checksumOfPayload(descriptor: Int32, path: String, fileSize: Int) throws -> UInt64 {
        guard let mapping = mmap(nil, fileSize, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            throw ioError(path, "mapping the written file")
        }
        defer { munmap(mapping, fileSize) }
        let payload = UnsafeRawBufferPointer(start: mapping + SnapshotLayout.headerSize, count: fileSize - SnapshotLayout.headerSize)
        return XXHash64.hash(payload)
    }

    static func ioError(_ path: String, _ action: String) -> SnapshotError {
        SnapshotError(code: .io, path: path, message: "\(action) failed: \(String(cString: strerror(errno)))")
    }

    private static func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }
}

/// Buffers small writes into 1 MiB `write(2)` calls.
private struct ChunkWriter {
    let descriptor: Int32
    let path: String
    private var buffer: [UInt8] = []

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        buffer.reserveCapacity(1 << 20)
    }

    mutating func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        // Large parts (the index, the strings, the lexical section) go to the file as they are
        // instead of through the buffer: one copy fewer of most of the file.
        if bytes.count >= 1 << 20 {
            try flush()
            try writeAll(bytes)
            return
        }
        bytes.withMemoryRebound(to: UInt8.self) { buffer.append(contentsOf: $0) }   // a memcpy, not a byte loop
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw SnapshotEncoder.ioError(path, "writing")
            }
            offset += written
        }
    }
}
