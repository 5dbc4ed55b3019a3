import CodedErrors
import Dispatch
import SnapshotFormat

/// What to search for besides similarity.
public struct SearchFilter: Sendable, Equatable {
    public var category: String?
    public var subcategory: String?
    /// Results scoring below this cosine similarity are left out.
    public var minimumScore: Float?

    public init(category: String? = nil, subcategory: String? = nil, minimumScore: Float? = nil) {
        self.category = category
        self.subcategory = subcategory
        self.minimumScore = minimumScore
    }
}

public struct SearchHit: Sendable, Codable, Equatable {
    public let id: String
    /// What the hit was ranked by: the fused score (hybrid), the cosine (dense) or BM25 (lexical).
    public let score: Float
    /// Cosine similarity to the query's vector; nil without one.
    public let dense: Float?
    /// BM25 over the question and answer terms; nil for a version 1 snapshot.
    public let lexical: Float?
    public let category: String
    public let subcategory: String
    public let question: String
    public let answer: String
}

/// Hits from one snapshot generation: a result never mixes two.
public struct SearchResults: Sendable, Codable, Equatable {
    public let generation: UInt64
    public let results: [SearchHit]
}

public struct SearchError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension MappedSnapshot {
    public static let maximumK = 100

    /// Top-k templates for a query in its mode (hybrid by default); see `SnapshotView.search(_:k:filter:tuning:)`.
    public func search(_ query: SearchQuery, k: Int, filter: SearchFilter = SearchFilter(),
                       tuning: SearchTuning = SearchTuning()) throws -> SearchResults {
        let results = try contents.search(query, k: k, filter: filter, tuning: tuning)
        try checkIntact()
        return SearchResults(generation: generation, results: results)
    }

    /// Top-k templates by cosine similarity to `query` (any length-normalisation is applied here).
    ///
    /// Scans the mapped matrix with SIMD, split over the cores for large snapshots; memory use is
    /// O(k × cores), independent of the number of templates.
    public func search(_ query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> SearchResults {
        let results = try contents.search(query, k: k, filter: filter)
        try checkIntact()
        return SearchResults(generation: generation, results: results)
    }

    /// The template with this id, if the snapshot has it.
    public func template(id: String) throws -> SearchHit? {
        let hit = contents.template(id: id)
        try checkIntact()
        return hit
    }
}

extension SnapshotContents {
    /// Top-k hits in these templates; see `MappedSnapshot.search`. Their owner keeps them mapped.
    public func search(_ query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> [SearchHit] {
        let normalized = try normalizedQuery(query)
        guard (1...MappedSnapshot.maximumK).contains(k) else {
            throw SearchError(message: "k must be between 1 and \(MappedSnapshot.maximumK), not \(k)")
        }
        let ranked = TopK.scan(view: self, query: normalized, k: k, filter: CompiledFilter(filter))
        return ranked.map { hit($0.index, score: $0.score, dense: $0.score, lexical: nil) }
    }

    /// The template with this id, if the snapshot has it.
    public func template(id: String) -> SearchHit? {
        let wanted = Array(id.utf8)
        for index in 0..<count where field(index, .id, equals: wanted) {
            return SearchHit(id: id, score: 1, dense: nil, lexical: nil, category: string(index, .category),
                             subcategory: string(index, .subcategory), question: string(index, .question), answer: string(index, .answer))
        }
        return nil
    }
}

struct CompiledFilter: Sendable {
    let category: [UInt8]?
    let subcategory: [UInt8]?
    let minimumScore: Float

    init(_ filter: SearchFilter) {
        category = filter.category.map { Array($0.utf8) }
        subcategory = filter.subcategory.map { Array($0.utf8) }
        minimumScore = filter.minimumScore ?? -.infinity
    }

    init(category: [UInt8]?, subcategory: [UInt8]?, minimumScore: Float) {
        self.category = category
        self.subcategory = subcategory
        self.minimumScore = minimumScore
    }

    func admits(_ view: SnapshotContents, _ index: Int) -> Bool {
        if let category, !view.field(index, .category, equals: category) { return false }
        if let subcategory, !view.field(index, .subcategory, equals: subcategory) { return false }
        return true
    }
}

enum TopK {
    struct Candidate: Sendable {
        var score: Float
        var index: Int
    }

    /// Rows per parallel slice; below this a single thread is faster than the hand-off.
    static let rowsPerSlice = 4_096

    static func scan(view: SnapshotContents, query: [Float], k: Int, filter: CompiledFilter) -> [Candidate] {
        let count = view.count
        let slices = max(1, min(ProcessInfoCores.count, count / rowsPerSlice))
        if slices == 1 { return scan(view: view, query: query, rows: 0..<count, k: k, filter: filter) }
        let partial = SliceResults(count: slices)
        let sliceSize = (count + slices - 1) / slices
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let rows = (slice * sliceSize)..<min(count, (slice + 1) * sliceSize)
            partial.store(slice, scan(view: view, query: query, rows: rows, k: k, filter: filter))
        }
        var merged: [Candidate] = []
        for candidate in partial.all() { insert(candidate, into: &merged, k: k) }
        return merged
    }

    static func scan(view: SnapshotContents, query: [Float], rows: Range<Int>, k: Int, filter: CompiledFilter) -> [Candidate] {
        query.withUnsafeBufferPointer { queryBuffer in
            // `search` checked query.count == dimension, which the header validation keeps above 0.
            guard let base = queryBuffer.baseAddress else { return [] }
            return scan(view: view, query: base, rows: rows, k: k, filter: filter)
        }
    }

    static func scan(view: SnapshotContents, query queryBase: UnsafePointer<Float>, rows: Range<Int>, k: Int, filter: CompiledFilter) -> [Candidate] {
        var best: [Candidate] = []
        best.reserveCapacity(k + 1)
        let dimension = view.dimension
        for row in rows {
            let score = dot(view.vectorStart(row), queryBase, dimension)
            guard score >= filter.minimumScore, best.count < k || score > best[best.count - 1].score else { continue }
            guard filter.admits(view, row) else { continue }
            insert(Candidate(score: score, index: row), into: &best, k: k)
        }
        return best
    }

    /// Keeps `best` sorted by descending score (ties by row order), at most k long.
    @inline(__always)
    static func insert(_ candidate: Candidate, into best: inout [Candidate], k: Int) {
        var position = best.count
        while position > 0, best[position - 1].score < candidate.score
                || (best[position - 1].score == candidate.score && best[position - 1].index > candidate.index) {
            position -= 1
        }
        guard position < k else { return }
        best.insert(candidate, at: position)
        if best.count > k { best.removeLast() }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>()
        var index = 0
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        while index + 32 <= count {
            sum0 += rawA.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<Float>.self)
            sum1 += rawA.loadUnaligned(fromByteOffset: (index + 16) * 4, as: SIMD16<Float>.self)
                * rawB.loadUnaligned(fromByteOffset: (index + 16) * 4, as: SIMD16<Float>.self)
            index += 32
        }
        var total = (sum0 + sum1).sum()
        while index < count {
            total += a[index] * b[index]
            index += 1
        }
        return total
    }
}

/// Per-slice results written from `concurrentPerform`; each slot has one writer and is read only
/// after all slices finished, hence `@unchecked Sendable`.
private final class SliceResults: @unchecked Sendable {
    private var slots: [[TopK.Candidate]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func store(_ index: Int, _ candidates: [TopK.Candidate]) { slots.withUnsafeMutableBufferPointer { $0[index] = candidates } }
    func all() -> [TopK.Candidate] { slots.flatMap { $0 } }
}

enum ProcessInfoCores {
    static let count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#endif

extension SearchError: CodedError {
    public var errorCode: String { "search" }
}
