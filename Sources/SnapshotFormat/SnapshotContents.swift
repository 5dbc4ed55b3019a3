#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The templates a snapshot holds, numbered 0..<count, whether it is one whole file or a delta
/// (format version 3) over a base file: the base's rows that the delta does not remove, in the
/// base's order, then the delta's own rows. What readers search; `SnapshotView` is one file.
///
/// A delta is what lets a 1% change of a large FAQ be published by writing that 1%: the base's
/// vectors stay where they are, in a file readers already have mapped.
public struct SnapshotContents: @unchecked Sendable {
    // @unchecked: the views point into read-only mappings their owner keeps alive.
    /// The file at the snapshot path: its header names the generation, the model and the fusion.
    public let top: SnapshotView
    /// The base of a delta; nil for a whole file.
    public let base: SnapshotView?
    /// The kept base rows, in order (empty for a whole file).
    private let keptBaseRows: [UInt32]
    /// For each base row, its number here, or `removedRow` when the delta removes it.
    private let numberOfBaseRow: [UInt32]
    /// No template's number: a header's count is a UInt32, so numbers stay below it.
    static let removedRow = UInt32.max
    public let count: Int
    /// The lexical index across the file(s); nil when the snapshot has none (version 1).
    public let lexical: LexicalSegments?

    /// A whole file (version 1 or 2).
    public init(whole view: SnapshotView) {
        top = view
        base = nil
        keptBaseRows = []
        numberOfBaseRow = []
        count = view.count
        lexical = view.lexical.map { LexicalSegments(whole: $0) }
    }

    /// A delta over its base. Checks that the base is the file the delta was written over: its
    /// generation and checksum, model, dimension, and a removed-rows bitmap of its size.
    public init(delta: SnapshotView, base: SnapshotView, path: String) throws {
        func mismatch(_ message: String) -> SnapshotError {
            SnapshotError(code: .baseMismatch, path: path, message: "\(message): the base was replaced or damaged; publish again (`faqsync snapshot publish`)")
        }
        guard let reference = delta.header.base, let removed = delta.removedRows, let deltaLexical = delta.lexical else {
            throw SnapshotError(code: .inconsistent, path: path, message: "the file is not a delta with a lexical index")
        }
        let baseHeader = base.header
        guard baseHeader.base == nil, let baseLexical = base.lexical else {
            throw mismatch("the base file is itself a delta, or has no lexical index")
        }
        guard baseHeader.generation == reference.generation, baseHeader.checksum == reference.checksum else {
            throw mismatch("the base file has generation \(baseHeader.generation) and checksum \(String(baseHeader.checksum, radix: 16)), the delta was written over \(reference.generation) and \(String(reference.checksum, radix: 16))")
        }
        guard baseHeader.dimension == delta.header.dimension, baseHeader.modelName == delta.header.modelName,
              baseHeader.modelVersion == delta.header.modelVersion else {
            throw mismatch("the base file holds another model (\(baseHeader.modelName) \(baseHeader.modelVersion), \(baseHeader.dimension) dimensions)")
        }
        let baseCount = base.count
        guard removed.count == SnapshotLayout.removedLength(baseCount: baseCount) else {
            throw SnapshotError(code: .inconsistent, path: path, message: "the removed rows take \(removed.count) bytes, not the \(SnapshotLayout.removedLength(baseCount: baseCount)) of the base's \(baseCount) rows")
        }
        if baseCount % 8 != 0, removed[removed.count - 1] >> UInt8(baseCount % 8) != 0 {
            throw SnapshotError(code: .inconsistent, path: path, message: "the removed rows name rows beyond the base's \(baseCount)")
        }
        var kept: [UInt32] = []
        kept.reserveCapacity(baseCount)
        var numbers = [UInt32](repeating: Self.removedRow, count: baseCount)
        for row in 0..<baseCount where !SnapshotLayout.isRemoved(row, in: removed) {
            numbers[row] = UInt32(kept.count)
            kept.append(UInt32(row))
        }
        top = delta
        self.base = base
        keptBaseRows = kept
        numberOfBaseRow = numbers
        count = kept.count + delta.count
        lexical = LexicalSegments(base: baseLexical, numberOfBaseRow: numbers, keptBaseRows: kept, delta: deltaLexical,
                                  count: kept.count + delta.count,
                                  averages: (reference.averageQuestionLength, reference.averageAnswerLength))
    }

    public var header: SnapshotHeader { top.header }
    public var dimension: Int { top.dimension }
    /// Whether this is a delta over a base file.
    public var isDelta: Bool { base != nil }

    /// The file and row that hold template `index` (0..<count).
    @inline(__always)
    public func locate(_ index: Int) -> (view: SnapshotView, row: Int) {
        guard let base else { return (top, index) }
        precondition(index >= 0 && index < count, "template index \(index) out of range")
        return index < keptBaseRows.count ? (base, Int(keptBaseRows[index])) : (top, index - keptBaseRows.count)
    }

    /// The first of template `index`'s `dimension` floats.
    @inline(__always)
    public func vectorStart(_ index: Int) -> UnsafePointer<Float> {
        let (view, row) = locate(index)
        // A validated view's matrix holds its rows: the base address exists.
        return view.matrix.baseAddress! + row * dimension
    }

    public func vector(_ index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: vectorStart(index), count: dimension)
    }

    public func string(_ index: Int, _ field: SnapshotLayout.Field) -> String {
        let (view, row) = locate(index)
        return view.string(row, field)
    }

    public func bytes(_ index: Int, _ field: SnapshotLayout.Field) -> UnsafeRawBufferPointer {
        let (view, row) = locate(index)
        return view.bytes(row, field)
    }

    public func field(_ index: Int, _ field: SnapshotLayout.Field, equals utf8: [UInt8]) -> Bool {
        let (view, row) = locate(index)
        return view.field(row, field, equals: utf8)
    }

    /// The number of base row `row` here; nil when the delta removes it.
    public func number(ofBaseRow row: Int) -> Int? {
        guard base != nil else { return row }
        let number = numberOfBaseRow[row]
        return number == Self.removedRow ? nil : Int(number)
    }
}

/// The lexical index of a snapshot across its files, with BM25's statistics for the rows the
/// snapshot holds: the document frequency counts only postings of kept rows, and the averages are
/// the delta's, computed over every row. A delta's scores are therefore those of the whole file a
/// full publication would write.
public struct LexicalSegments: @unchecked Sendable {
    // @unchecked: points into read-only mappings kept alive by their owner.
    public struct Segment: Sendable {
        public let view: LexicalView
        /// Base rows' numbers (`SnapshotContents.removedRow`: removed); empty: rows are numbered
        /// from `first`.
        let numbers: [UInt32]
        let first: Int
    }

    public let segments: [Segment]
    /// Templates in the snapshot.
    public let count: Int
    public let averageQuestionLength: Float
    public let averageAnswerLength: Float
    /// The base rows kept, by number (empty for a whole file).
    private let keptBaseRows: [UInt32]

    init(whole view: LexicalView) {
        segments = [Segment(view: view, numbers: [], first: 0)]
        keptBaseRows = []
        count = view.count
        averageQuestionLength = view.averageQuestionLength
        averageAnswerLength = view.averageAnswerLength
    }

    init(base: LexicalView, numberOfBaseRow: [UInt32], keptBaseRows: [UInt32], delta: LexicalView, count: Int, averages: (Float, Float)) {
        segments = [Segment(view: base, numbers: numberOfBaseRow, first: 0), Segment(view: delta, numbers: [], first: keptBaseRows.count)]
        self.keptBaseRows = keptBaseRows
        self.count = count
        (averageQuestionLength, averageAnswerLength) = averages
    }

    /// Posting `index` of segment `segment`: the template's number in the snapshot, its row in
    /// the segment and the term's frequencies; nil for a removed row or a damaged posting.
    @inline(__always)
    public func posting(segment: Int, _ index: Int) -> (template: Int, row: Int, question: Int, answer: Int)? {
        let segment = segments[segment]
        guard let found = segment.view.posting(index) else { return nil }
        if segment.numbers.isEmpty { return (segment.first + found.template, found.template, found.question, found.answer) }
        let number = segment.numbers[found.template]
        return number == SnapshotContents.removedRow ? nil : (Int(number), found.template, found.question, found.answer)
    }

    /// The segment and its row holding template `number` (0..<count).
    public func locate(_ number: Int) -> (segment: Int, row: Int) {
        if segments.count == 1 { return (0, number) }
        return number < segments[1].first ? (0, Int(keptBaseRows[number])) : (1, number - segments[1].first)
    }

    /// Question and answer length of a segment's row, in terms.
    @inline(__always)
    public func lengths(segment: Int, row: Int) -> (question: Int, answer: Int) {
        segments[segment].view.lengths(row)
    }
}
