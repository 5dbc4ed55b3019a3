/// The lexical section of a version 2 snapshot: an inverted index over each template's question
/// and answer terms, with what BM25 needs (term frequencies per field, field lengths, their
/// averages). The terms come from `TextAnalysis.Tokenizer`; this module only lays them out, so
/// the format keeps no dependencies. docs/snapshot-format.md describes it for other languages.
///
/// ```
/// offset              size      field (all little-endian)
///      0                 4      term count T (u32)
///      4                 4      template count n (u32), equal to the header's
///      8                 4      posting count P (u32)
///     12                 4      term bytes S (u32)
///     16                 4      average question length in terms (f32)
///     20                 4      average answer length in terms (f32)
///     24            n × 4      per template: question length, answer length (u16 each, capped at 65535)
///     24 + 4n      T × 16      term directory, sorted by the term's UTF-8 bytes: term offset,
///                              term length, first posting, posting count (u32 each)
///     … + 16T       P × 8      postings, grouped by term, by template: template (u32),
///                              question frequency, answer frequency (u16 each, capped)
///     … + 8P            S      term bytes (UTF-8)
/// ```
/// The section's length is exactly 24 + 4n + 16T + 8P + S.
public enum LexicalLayout {
    public static let headerSize = 24
    public static let lengthEntrySize = 4
    public static let directoryEntrySize = 16
    public static let postingSize = 8

    /// The section length these counts describe, nil when it overflows.
    static func length(terms: Int, count: Int, postings: Int, termBytes: Int) -> Int? {
        var total = headerSize
        for (a, b) in [(count, lengthEntrySize), (terms, directoryEntrySize), (postings, postingSize), (termBytes, 1)] {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { return nil }
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow2 else { return nil }
            total = sum
        }
        return total
    }
}

/// Builds the lexical section, one template at a time in snapshot order: from its tokenised
/// terms, or (`add(templateAt:of:)`) from a previous section, so an unchanged template is not
/// tokenised again. Terms are keyed by their UTF-8 bytes, as readers look them up, which also
/// spares the Unicode-normalising `String` hash for every posting.
///
/// Both ways give the same bytes for the same texts: a patched snapshot's section is the one a
/// full rebuild writes (frequencies and lengths are capped when they are counted, not when written).
public struct LexicalIndexBuilder {
    public struct FieldTerms: Sendable {
        public let question: [String]
        public let answer: [String]
        public init(question: [String], answer: [String]) {
            self.question = question
            self.answer = answer
        }
    }

    /// A posting: template, question frequency, answer frequency.
    typealias Posting = (template: UInt32, question: UInt16, answer: UInt16)

    private var termIDs: [[UInt8]: Int] = [:]
    private var terms: [[UInt8]] = []
    private var postings: [[Posting]] = []
    private var lengths: [UInt8] = []
    private var totalQuestion = 0.0, totalAnswer = 0.0
    /// Templates added so far.
    public private(set) var count = 0

    public init(expectedTemplates: Int = 0) {
        lengths.reserveCapacity(expectedTemplates * LexicalLayout.lengthEntrySize)
    }

    /// The section of `templates`, all tokenised.
    public static func build(_ templates: [FieldTerms], path: String) throws -> LexicalSectionBytes {
        var builder = LexicalIndexBuilder(expectedTemplates: templates.count)
        for fields in templates { builder.add(fields) }
        return try builder.section(path: path)
    }

    /// Adds the next template from its tokenised terms.
    public mutating func add(_ fields: FieldTerms) {
        var frequencies: [[UInt8]: (question: Int, answer: Int)] = [:]
        for term in fields.question { frequencies[Array(term.utf8), default: (0, 0)].question += 1 }
        for term in fields.answer { frequencies[Array(term.utf8), default: (0, 0)].answer += 1 }
        let template = UInt32(truncatingIfNeeded: count)
        for (term, frequency) in frequencies {
            postings[id(of: term)].append((template, capped(frequency.question), capped(frequency.answer)))
        }
        appendLengths(question: capped(fields.question.count), answer: capped(fields.answer.count))
    }

    /// Adds the next template with the terms template `index` has in `previous`'s section.
    /// Use one `LexicalReuse` with one builder: it remembers which of this builder's terms each of
    /// its terms is.
    public mutating func add(templateAt index: Int, of previous: inout LexicalReuse) {
        let template = UInt32(truncatingIfNeeded: count)
        for entry in previous.entries[previous.starts[index]..<previous.starts[index + 1]] {
            var termID = previous.builderIDs[Int(entry.term)]
            if termID < 0 {
                termID = id(of: previous.view.termBytes(entry: Int(entry.term)))
                previous.builderIDs[Int(entry.term)] = termID
            }
            postings[termID].append((template, entry.question, entry.answer))
        }
        let lengths = previous.view.lengths(index)
        appendLengths(question: UInt16(clamping: lengths.question), answer: UInt16(clamping: lengths.answer))
    }

    private mutating func id(of term: [UInt8]) -> Int {
        if let known = termIDs[term] { return known }
        let id = terms.count
        termIDs[term] = id
        terms.append(term)
        postings.append([])
        return id
    }

    private mutating func appendLengths(question: UInt16, answer: UInt16) {
        appendLE(question, to: &lengths)
        appendLE(answer, to: &lengths)
        totalQuestion += Double(question)
        totalAnswer += Double(answer)
        count += 1
    }

    /// The section's bytes. Throws when it would exceed what the format holds.
    public func section(path: String) throws -> LexicalSectionBytes {
        let order = terms.indices.filter { !postings[$0].isEmpty }.sorted { terms[$0].lexicographicallyPrecedes(terms[$1]) }
        let postingCount = order.reduce(0) { $0 + postings[$1].count }
        let termBytes = order.reduce(0) { $0 + terms[$1].count }
        guard let length = LexicalLayout.length(terms: order.count, count: count, postings: postingCount, termBytes: termBytes),
              length <= Int(UInt32.max), UInt32(exactly: count) != nil else {
            throw SnapshotError(code: .tooLarge, path: path, message: "the lexical index of \(count) templates exceeds the 4 GiB a section holds")
        }
        var section: [UInt8] = []
        section.reserveCapacity(length)
        appendLE(UInt32(order.count), to: &section)
        appendLE(UInt32(count), to: &section)
        appendLE(UInt32(postingCount), to: &section)
        appendLE(UInt32(termBytes), to: &section)
        let divisor = Double(max(1, count))
        appendLE(Float(totalQuestion / divisor).bitPattern, to: &section)
        appendLE(Float(totalAnswer / divisor).bitPattern, to: &section)
        section += lengths
        var termOffset: UInt32 = 0, postingStart: UInt32 = 0
        for term in order {
            appendLE(termOffset, to: &section)
            appendLE(UInt32(terms[term].count), to: &section)
            appendLE(postingStart, to: &section)
            appendLE(UInt32(postings[term].count), to: &section)
            termOffset += UInt32(terms[term].count)
            postingStart += UInt32(postings[term].count)
        }
        for term in order {
            for posting in postings[term] {
                appendLE(posting.template, to: &section)
                appendLE(posting.question, to: &section)
                appendLE(posting.answer, to: &section)
            }
        }
        for term in order { section += terms[term] }
        return LexicalSectionBytes(bytes: section, templateCount: count, totalQuestionLength: totalQuestion, totalAnswerLength: totalAnswer)
    }

    private func capped(_ value: Int) -> UInt16 { UInt16(clamping: value) }
}

/// A built lexical section and the templates it covers.
public struct LexicalSectionBytes: Sendable {
    public let bytes: [UInt8]
    public let templateCount: Int
    /// The sums of the field lengths (as capped): a delta's averages over its base and itself
    /// are computed from them exactly as a whole file's are.
    public let totalQuestionLength: Double
    public let totalAnswerLength: Double
}

/// A previous lexical section inverted once, by template, so `LexicalIndexBuilder` can take an
/// unchanged template's terms from it in time proportional to that template's postings. Points
/// into the previous snapshot's mapping: keep the mapping alive while it is used.
public struct LexicalReuse {
    let view: LexicalView
    /// Template `i`'s entries are `entries[starts[i]..<starts[i + 1]]`.
    let starts: [Int]
    let entries: [(term: UInt32, question: UInt16, answer: UInt16)]
    /// The builder's id for each of the view's terms, -1 until first used.
    var builderIDs: [Int]

    /// Templates in the previous section.
    public var count: Int { view.count }

    public init(_ view: LexicalView) {
        self.view = view
        // Two passes over the postings: count per template, then place. A damaged posting (one
        // naming a template beyond the section) is left out, as readers leave it out.
        var counts = [Int](repeating: 0, count: view.count + 1)
        for term in 0..<view.termCount {
            for posting in view.postingRange(entry: term) {
                if let found = view.posting(posting) { counts[found.template + 1] += 1 }
            }
        }
        for index in 0..<view.count { counts[index + 1] += counts[index] }
        var next = counts
        var entries = [(term: UInt32, question: UInt16, answer: UInt16)](repeating: (0, 0, 0), count: counts[view.count])
        for term in 0..<view.termCount {
            for posting in view.postingRange(entry: term) {
                guard let found = view.posting(posting) else { continue }
                entries[next[found.template]] = (UInt32(term), UInt16(clamping: found.question), UInt16(clamping: found.answer))
                next[found.template] += 1
            }
        }
        starts = counts
        self.entries = entries
        builderIDs = [Int](repeating: -1, count: view.termCount)
    }
}

/// Appends `value`'s little-endian bytes: the writers' one way to lay out an integer. Through a
/// typed buffer, so the append is a copy; appending the raw buffer itself iterates byte by byte,
/// which was a visible share of writing a snapshot's index and lexical section.
func appendLE<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { raw in raw.withMemoryRebound(to: UInt8.self) { bytes.append(contentsOf: $0) } }
}

/// Read access to a validated lexical section. Opening checks the counts against the section's
/// length with checked arithmetic (constant time); each directory entry and posting is checked
/// when it is used, so a damaged entry reads as "no postings", never out of bounds.
public struct LexicalView: @unchecked Sendable {
    // @unchecked: points into the snapshot's read-only mapping, kept alive by its owner.
    let section: UnsafeRawBufferPointer
    public let termCount: Int
    public let count: Int
    public let postingCount: Int
    public let averageQuestionLength: Float
    public let averageAnswerLength: Float
    private let directoryStart: Int
    private let postingsStart: Int
    private let termsStart: Int
    private let termBytes: Int

    init(section: UnsafeRawBufferPointer, count expectedCount: Int, path: String) throws {
        func fail(_ message: String) -> SnapshotError {
            SnapshotError(code: .inconsistent, path: path, message: "the lexical section \(message): the file is damaged or was not written by faqsync")
        }
        guard section.count >= LexicalLayout.headerSize else { throw fail("is shorter than its header") }
        func u32(_ offset: Int) -> Int { Int(UInt32(littleEndian: section.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        termCount = u32(0)
        count = u32(4)
        postingCount = u32(8)
        termBytes = u32(12)
        averageQuestionLength = Float(bitPattern: UInt32(littleEndian: section.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
        averageAnswerLength = Float(bitPattern: UInt32(littleEndian: section.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
        guard count == expectedCount else { throw fail("counts \(count) templates, the header \(expectedCount)") }
        guard LexicalLayout.length(terms: termCount, count: count, postings: postingCount, termBytes: termBytes) == section.count else {
            throw fail("has counts (\(termCount) terms, \(postingCount) postings) that do not fit its \(section.count) bytes")
        }
        guard averageQuestionLength.isFinite, averageAnswerLength.isFinite, averageQuestionLength >= 0, averageAnswerLength >= 0 else {
            throw fail("has an average field length that is not a finite number")
        }
        self.section = section
        directoryStart = LexicalLayout.headerSize + count * LexicalLayout.lengthEntrySize
        postingsStart = directoryStart + termCount * LexicalLayout.directoryEntrySize
        termsStart = postingsStart + postingCount * LexicalLayout.postingSize
    }

    /// Question and answer length of template `index` (0..<count), in terms.
    @inline(__always)
    public func lengths(_ index: Int) -> (question: Int, answer: Int) {
        let offset = LexicalLayout.headerSize + index * LexicalLayout.lengthEntrySize
        return (Int(UInt16(littleEndian: section.loadUnaligned(fromByteOffset: offset, as: UInt16.self))),
                Int(UInt16(littleEndian: section.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))))
    }

    /// The postings of a term: a range of posting indices, empty when the index lacks the term.
    public func postings(of term: String) -> Range<Int> {
        let wanted = Array(term.utf8)
        var low = 0, high = termCount
        while low < high {
            let middle = (low + high) / 2
            let order = compare(entry: middle, with: wanted)
            if order == 0 { return postingRange(entry: middle) }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return 0..<0
    }

    /// Posting `index` (from `postings(of:)`): the template and the term's frequency in each field.
    /// A template index beyond the snapshot (a damaged file) is reported as nil.
    @inline(__always)
    public func posting(_ index: Int) -> (template: Int, question: Int, answer: Int)? {
        let offset = postingsStart + index * LexicalLayout.postingSize
        let template = Int(UInt32(littleEndian: section.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        guard template < count else { return nil }
        return (template,
                Int(UInt16(littleEndian: section.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))),
                Int(UInt16(littleEndian: section.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))))
    }

    private func entry(_ index: Int) -> (termOffset: Int, termLength: Int, first: Int, postings: Int) {
        let offset = directoryStart + index * LexicalLayout.directoryEntrySize
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: section.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self))) }
        return (u32(0), u32(4), u32(8), u32(12))
    }

    /// The UTF-8 bytes of directory entry `index`'s term; empty for a damaged entry.
    func termBytes(entry index: Int) -> [UInt8] {
        let entry = entry(index)
        guard entry.termOffset <= termBytes, entry.termLength <= termBytes - entry.termOffset else { return [] }
        let start = termsStart + entry.termOffset
        return Array(section[start..<(start + entry.termLength)])
    }

    func postingRange(entry index: Int) -> Range<Int> {
        let entry = entry(index)
        guard entry.first <= postingCount, entry.postings <= postingCount - entry.first else { return 0..<0 }
        return entry.first..<(entry.first + entry.postings)
    }

    /// memcmp-style order of directory entry `index`'s term against `wanted`; a damaged entry
    /// compares as the empty term.
    private func compare(entry index: Int, with wanted: [UInt8]) -> Int {
        let entry = entry(index)
        let valid = entry.termOffset <= termBytes && entry.termLength <= termBytes - entry.termOffset
        let length = valid ? entry.termLength : 0
        let start = termsStart + (valid ? entry.termOffset : 0)
        let common = min(length, wanted.count)
        for position in 0..<common {
            let byte = section[start + position]
            if byte != wanted[position] { return Int(byte) - Int(wanted[position]) }
        }
        return length - wanted.count
    }
}
