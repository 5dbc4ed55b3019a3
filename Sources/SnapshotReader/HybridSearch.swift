#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SnapshotFormat
import TextAnalysis

/// How a query is matched.
public enum SearchMode: String, Sendable, Codable, CaseIterable {
    /// Both, fused (the default): a model's sense of meaning and the lexical index's exact terms.
    case hybrid
    /// Cosine similarity of the query's vector to the templates' (the model alone).
    case dense
    /// BM25 over the templates' question and answer terms (no model at all).
    case lexical
}

/// A query: its text (for the lexical index) and, for dense and hybrid search, its vector from
/// the snapshot's model.
public struct SearchQuery: Sendable {
    public var text: String
    public var vector: [Float]?
    public var mode: SearchMode

    public init(text: String, vector: [Float]?, mode: SearchMode = .hybrid) {
        self.text = text
        self.vector = vector
        self.mode = mode
    }
}

/// BM25 over two fields (BM25F): a question match weighs more than an answer match. The
/// parameters and the fusion below were chosen by measurement (docs/retrieval.md, "Search modes"):
/// the original system's 15 validation queries and the paraphrases in
/// Tests/SnapshotTests/Resources/paraphrases.json.
public struct LexicalScoring: Sendable, Equatable {
    public var k1: Float = 1.2
    public var b: Float = 0.75
    public var questionWeight: Float = 3.0
    public var answerWeight: Float = 1.0
    public init() {}
}

/// How hybrid search combines the two rankings.
public enum Fusion: Sendable, Equatable {
    /// Reciprocal rank fusion: Σ 1 / (k + rank) over both rankings.
    case reciprocalRank(k: Float)
    /// `denseWeight × dense + (1 − denseWeight) × lexical`, each side normalised per query over
    /// its candidates: the cosine as (cosine − the worst dense candidate's) / (the best's − the
    /// worst's), BM25 as BM25 / the best candidate's. A model whose cosines for one query all sit
    /// within a few hundredths (e5) then counts as much as one whose cosines spread widely.
    case weightedSum(denseWeight: Float)

    /// For a snapshot that records no weight (published before weights were recorded).
    public static let unrecorded = Fusion.weightedSum(denseWeight: 0.5)
}

/// Search parameters beyond the query; the defaults are what faqsync ships.
public struct SearchTuning: Sendable, Equatable {
    public var lexical = LexicalScoring()
    /// nil: the weighted sum with the dense weight the snapshot records for its model version
    /// (HybridWeights in the writer), or `Fusion.unrecorded` when it records none.
    public var fusion: Fusion?
    /// Candidates taken from each ranking before fusing.
    public var candidates = 100
    public init() {}
}

extension SnapshotContents {
    /// Top-k templates for `query` in its mode. Every hit carries the score it was ranked by
    /// (`score`: fused, cosine or BM25) and both components where they exist (`dense` needs a
    /// query vector, `lexical` a version 2 snapshot).
    public func search(_ query: SearchQuery, k: Int, filter: SearchFilter = SearchFilter(),
                       tuning: SearchTuning = SearchTuning()) throws -> [SearchHit] {
        guard (1...MappedSnapshot.maximumK).contains(k) else {
            throw SearchError(message: "k must be between 1 and \(MappedSnapshot.maximumK), not \(k)")
        }
        let vector = try query.vector.map(normalizedQuery)
        let compiled = CompiledFilter(filter)
        let scorer = lexical.map { LexicalScorer(index: $0, tuning: tuning.lexical, text: query.text) }
        switch query.mode {
        case .dense:
            guard let vector else { throw SearchError(message: "dense search needs the query's vector from the snapshot's model") }
            let ranked = TopK.scan(view: self, query: vector, k: k, filter: compiled)
            return ranked.map { hit($0.index, score: $0.score, dense: $0.score, lexical: scorer?.score(of: $0.index)) }
        case .lexical:
            guard let scorer else {
                throw SearchError(message: "this snapshot (format version \(header.formatVersion)) has no lexical index; publish it again with this faqsync (`faqsync snapshot publish`)")
            }
            let scores = scorer.accumulate()
            let ranked = Self.top(scores, k: k, minimum: compiled.minimumScore, admits: { index, _ in compiled.admits(self, index) }, strictlyPositive: true)
            return ranked.map { candidate in
                hit(candidate.index, score: candidate.score, dense: vector.map { dot($0, candidate.index) }, lexical: candidate.score)
            }
        case .hybrid:
            guard let vector else { throw SearchError(message: "hybrid search needs the query's vector from the snapshot's model") }
            guard let scorer else {
                // A version 1 snapshot: dense only, as before.
                let ranked = TopK.scan(view: self, query: vector, k: k, filter: compiled)
                return ranked.map { hit($0.index, score: $0.score, dense: $0.score, lexical: nil) }
            }
            let fusion = tuning.fusion ?? header.hybridDenseWeight.map { .weightedSum(denseWeight: $0) } ?? .unrecorded
            return fused(vector: vector, scorer: scorer, k: k, filter: compiled, fusion: fusion, candidates: tuning.candidates)
        }
    }

    private func fused(vector: [Float], scorer: LexicalScorer, k: Int, filter: CompiledFilter, fusion: Fusion, candidates: Int) -> [SearchHit] {
        let unfiltered = CompiledFilter(category: filter.category, subcategory: filter.subcategory, minimumScore: -.infinity)
        let dense = TopK.scan(view: self, query: vector, k: max(k, candidates), filter: unfiltered)
        let scores = scorer.accumulate()
        let lexical = Self.top(scores, k: max(k, candidates), minimum: -.infinity,
                               admits: { index, _ in unfiltered.admits(self, index) }, strictlyPositive: true)
        let best = lexical.first?.score ?? 0
        // The dense side's range over its candidates; a cosine below the worst candidate's counts 0.
        let bestCosine = dense.first?.score ?? 0, worstCosine = dense.last?.score ?? 0
        let cosineRange = bestCosine - worstCosine
        var denseRank: [Int: Int] = [:], lexicalRank: [Int: Int] = [:]
        for (rank, candidate) in dense.enumerated() { denseRank[candidate.index] = rank + 1 }
        for (rank, candidate) in lexical.enumerated() { lexicalRank[candidate.index] = rank + 1 }
        var cosines: [Int: Float] = [:]
        for candidate in dense { cosines[candidate.index] = candidate.score }
        var fused: [TopK.Candidate] = []
        for index in Set(denseRank.keys).union(lexicalRank.keys) {
            let cosine = cosines[index] ?? dot(vector, index), bm25 = scores[index]
            cosines[index] = cosine
            let score: Float
            switch fusion {
            case .reciprocalRank(let constant):
                score = (denseRank[index].map { 1 / (constant + Float($0)) } ?? 0) + (lexicalRank[index].map { 1 / (constant + Float($0)) } ?? 0)
            case .weightedSum(let weight):
                let denseShare = cosineRange > 0 ? min(1, max(0, (cosine - worstCosine) / cosineRange)) : 1
                score = weight * denseShare + (1 - weight) * (best > 0 ? bm25 / best : 0)
            }
            guard score >= filter.minimumScore else { continue }
            TopK.insert(TopK.Candidate(score: score, index: index), into: &fused, k: k)
        }
        return fused.map { hit($0.index, score: $0.score, dense: cosines[$0.index], lexical: scores[$0.index]) }
    }

    /// The query vector checked against the snapshot's dimension and length-normalised.
    func normalizedQuery(_ query: [Float]) throws -> [Float] {
        guard query.count == dimension else {
            throw SearchError(message: "the query vector has \(query.count) values, the snapshot's model has \(dimension)")
        }
        let norm = query.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? query.map { $0 / norm } : query
    }

    private func dot(_ query: [Float], _ index: Int) -> Float {
        query.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            return TopK.dot(vectorStart(index), base, dimension)
        }
    }

    func hit(_ index: Int, score: Float, dense: Float?, lexical: Float?) -> SearchHit {
        SearchHit(id: string(index, .id), score: score, dense: dense, lexical: lexical,
                  category: string(index, .category), subcategory: string(index, .subcategory),
                  question: string(index, .question), answer: string(index, .answer))
    }

    /// The k best entries of `scores` that pass the filter, best first (ties by index).
    static func top(_ scores: [Float], k: Int, minimum: Float, admits: (Int, Float) -> Bool, strictlyPositive: Bool) -> [TopK.Candidate] {
        var best: [TopK.Candidate] = []
        best.reserveCapacity(k + 1)
        for (index, score) in scores.enumerated() {
            guard !strictlyPositive || score > 0, score >= minimum, best.count < k || score > best[best.count - 1].score,
                  admits(index, score) else { continue }
            TopK.insert(TopK.Candidate(score: score, index: index), into: &best, k: k)
        }
        return best
    }
}

/// BM25F scores of one query over a snapshot's lexical index (one section, or a delta's and its
/// base's, with the statistics of the rows the snapshot holds).
struct LexicalScorer {
    let index: LexicalSegments
    let tuning: LexicalScoring
    /// The query's distinct terms with their postings in each segment and IDF; function words
    /// are left out unless the query has nothing else.
    let terms: [(postings: [Range<Int>], idf: Float)]

    init(index: LexicalSegments, tuning: LexicalScoring, text: String) {
        self.index = index
        self.tuning = tuning
        let tokens = Tokenizer().tokens(in: text)
        let content = tokens.filter { !$0.isStopWord }
        var seen = Set<String>()
        let count = Float(index.count)
        terms = (content.isEmpty ? tokens : content).compactMap { token -> (postings: [Range<Int>], idf: Float)? in
            guard seen.insert(token.term).inserted else { return nil }
            let postings = index.segments.map { $0.view.postings(of: token.term) }
            // Document frequency over the rows the snapshot holds: a removed base row's posting
            // does not count (a whole file's postings all do).
            var frequency = 0
            for (segment, range) in postings.enumerated() {
                if index.segments.count == 1 { frequency += range.count; continue }
                for posting in range where index.posting(segment: segment, posting) != nil { frequency += 1 }
            }
            guard frequency > 0 else { return nil }
            let documents = Float(frequency)
            return (postings, logf(1 + (count - documents + 0.5) / (documents + 0.5)))
        }
    }

    /// The score of every template, by number.
    func accumulate() -> [Float] {
        var scores = [Float](repeating: 0, count: index.count)
        for term in terms {
            for (segment, range) in term.postings.enumerated() {
                for posting in range {
                    guard let entry = index.posting(segment: segment, posting) else { continue }
                    scores[entry.template] += term.idf * saturation(question: entry.question, answer: entry.answer,
                                                                    lengths: index.lengths(segment: segment, row: entry.row))
                }
            }
        }
        return scores
    }

    /// The score of one template: each term's postings are ordered by row, so a binary search in
    /// the segment holding it finds it.
    func score(of template: Int) -> Float {
        let (segment, row) = index.locate(template)
        let view = index.segments[segment].view
        let lengths = view.lengths(row)
        var total: Float = 0
        for term in terms {
            var low = term.postings[segment].lowerBound, high = term.postings[segment].upperBound
            while low < high {
                let middle = (low + high) / 2
                guard let entry = view.posting(middle) else { break }
                if entry.template == row { total += term.idf * saturation(question: entry.question, answer: entry.answer, lengths: lengths); break }
                if entry.template < row { low = middle + 1 } else { high = middle }
            }
        }
        return total
    }

    @inline(__always)
    private func saturation(question frequency: Int, answer answerFrequency: Int, lengths: (question: Int, answer: Int)) -> Float {
        let question = Float(frequency) / normalizer(Float(lengths.question), index.averageQuestionLength)
        let answer = Float(answerFrequency) / normalizer(Float(lengths.answer), index.averageAnswerLength)
        let weighted = tuning.questionWeight * question + tuning.answerWeight * answer
        return weighted / (tuning.k1 + weighted)
    }

    @inline(__always)
    private func normalizer(_ length: Float, _ average: Float) -> Float {
        average > 0 ? 1 - tuning.b + tuning.b * length / average : 1
    }
}
