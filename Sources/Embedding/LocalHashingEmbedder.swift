import Foundation
import TextAnalysis

/// A model-free embedder: normalised words, their Snowball stems, word pairs and character
/// n-grams hashed into a fixed number of dimensions (the "hashing trick"), weighted and
/// L2-normalised. Words and stems come from `TextAnalysis.Tokenizer`, the tokenisation the
/// snapshot's lexical index uses too.
///
/// It needs no network and no model download, is deterministic across runs and machines, and
/// handles Cyrillic and Latin alike. A text's vector depends on that text alone (no corpus
/// statistics), which is what lets the content-addressed cache reuse it.
package struct LocalHashingEmbedder: Embedder {
    package static let modelName = "faqsync-local-hash"
    /// Bump when the features change: vectors of different versions must not be mixed.
    /// 2: Snowball stems instead of five-letter prefixes.
    package static let modelVersion = "2"
    package static let defaultDimension = 1024

    package let model: ModelIdentity
    package let preferredBatchSize: Int

    /// - Parameter version: what the store records as the model's version (`EMBEDDING_MODEL_VERSION`):
    ///   another value starts a new version on purpose, with the same vectors.
    package init(dimension: Int = LocalHashingEmbedder.defaultDimension, batchSize: Int = 64, version: String = LocalHashingEmbedder.modelVersion) {
        // Configuration validates EMBEDDING_DIMENSIONS (1...16000) before anything is built.
        precondition(dimension > 0, "dimension must be positive")
        model = ModelIdentity(name: Self.modelName, version: version, dimension: dimension)
        preferredBatchSize = batchSize
    }

    /// Symmetric: a question and a template are embedded alike, whatever `role` says.
    package func embed(_ texts: [String], as role: EmbeddingRole) async throws -> [[Float]] {
        let tokenizer = Tokenizer()
        return texts.map { vector(for: $0, tokenizer: tokenizer) }
    }

    /// The vector for one text; synchronous because it is pure computation.
    package func vector(for text: String) -> [Float] { vector(for: text, tokenizer: Tokenizer()) }

    /// Features are hashed straight from unicode scalars, without building a string per feature.
    func vector(for text: String, tokenizer: Tokenizer) -> [Float] {
        var vector = [Float](repeating: 0, count: model.dimension)
        let tokens = tokenizer.tokens(in: text)
        let words = tokens.map { Array($0.word.unicodeScalars) }
        let wordHashes = words.map { Self.hash(.word, $0[...]) }
        let stop = tokens.map(\.isStopWord)
        var padded: [Unicode.Scalar] = []
        for (index, word) in words.enumerated() {
            let weight: Float = stop[index] ? 0.15 : 1.0
            add(wordHashes[index], weight: weight, to: &vector)
            if tokens[index].term != tokens[index].word {
                // The stem: Russian inflects word endings (вклад, вклада, вкладе), so forms of one
                // word meet at their Snowball stem where whole words would miss.
                add(Self.hash(.stem, Array(tokens[index].term.unicodeScalars)[...]), weight: weight * 0.8, to: &vector)
            }
            guard !stop[index] else { continue }
            padded.removeAll(keepingCapacity: true)
            padded.append("<")
            padded.append(contentsOf: word)
            padded.append(">")
            for n in 3...4 where padded.count >= n {
                let share = 0.6 / Float(padded.count - n + 1).squareRoot()
                for start in 0...(padded.count - n) {
                    add(Self.hash(n == 3 ? .trigram : .fourgram, padded[start..<(start + n)]), weight: share, to: &vector)
                }
            }
            if index + 1 < words.count, !stop[index + 1] {
                add(Self.hash(.pair, word[...], then: words[index + 1][...]), weight: 0.5, to: &vector)
            }
        }
        // Dampen words repeated many times in long answers (sublinear term frequency).
        for index in vector.indices where vector[index] != 0 {
            let magnitude = abs(vector[index])
            vector[index] = (vector[index] < 0 ? -1 : 1) * (magnitude > 1 ? 1 + log(magnitude) : magnitude)
        }
        return VectorCoding.l2Normalized(vector)
    }

    @inline(__always)
    private func add(_ hash: UInt64, weight: Float, to vector: inout [Float]) {
        let index = Int(hash % UInt64(vector.count))
        vector[index] += (hash >> 63) == 0 ? weight : -weight
    }

    enum Feature: UInt8 { case word = 1, stem, trigram, fourgram, pair }

    /// 64-bit FNV-1a over a feature tag and scalar values: stable across processes and
    /// platforms, unlike `Hasher`.
    static func hash(_ feature: Feature, _ scalars: ArraySlice<Unicode.Scalar>, then next: ArraySlice<Unicode.Scalar>? = nil) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ value: UInt32) {
            var remaining = value
            repeat {
                hash ^= UInt64(remaining & 0xFF)
                hash &*= 0x0000_0100_0000_01B3
                remaining >>= 8
            } while remaining != 0
        }
        mix(UInt32(feature.rawValue))
        for scalar in scalars { mix(scalar.value) }
        if let next {
            mix(0x20)
            for scalar in next { mix(scalar.value) }
        }
        return hash
    }
}
