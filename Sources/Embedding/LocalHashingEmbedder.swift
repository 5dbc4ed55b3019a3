import Foundation

/// A model-free embedder: normalised words, word stems, word pairs and character n-grams hashed
/// into a fixed number of dimensions (the "hashing trick"), weighted and L2-normalised.
///
/// It needs no network and no model download, is deterministic across runs and machines, and
/// handles Cyrillic and Latin alike. A text's vector depends on that text alone (no corpus
/// statistics), which is what lets the content-addressed cache reuse it.
package struct LocalHashingEmbedder: Embedder {
    package static let modelName = "faqsync-local-hash"
    /// Bump when the features change: vectors of different versions must not be mixed.
    package static let modelVersion = "1"
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

    package func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map(vector(for:))
    }

    /// The vector for one text; synchronous because it is pure computation.
    ///
    /// Features are hashed straight from unicode scalars, without building a string per feature.
    package func vector(for text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: model.dimension)
        let words = Self.words(in: text)
        let wordHashes = words.map { Self.hash(.word, $0[...]) }
        let stop = wordHashes.map { Self.stopWordHashes.contains($0) }
        var padded: [Unicode.Scalar] = []
        for (index, word) in words.enumerated() {
            let weight: Float = stop[index] ? 0.15 : 1.0
            add(wordHashes[index], weight: weight, to: &vector)
            if word.count > 5 {
                // A crude stem: Russian inflects word endings (вклад, вклада, вкладе), so the
                // first five letters match forms of one word that whole words would miss.
                add(Self.hash(.stem, word.prefix(5)), weight: weight * 0.8, to: &vector)
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

    /// NFKC, lowercased, `ё` folded to `е`, split at everything that is not a letter or a digit.
    static func words(in text: String) -> [[Unicode.Scalar]] {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in folded.unicodeScalars {
            if isWordScalar(scalar) {
                current.append(scalar == "ё" ? "е" : scalar)
            } else if !current.isEmpty {
                words.append(current)
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    @inline(__always)
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (value >= 0x30 && value <= 0x39) || (value >= 0x61 && value <= 0x7A) || (value >= 0x41 && value <= 0x5A)
        }
        if scalar.value >= 0x0430 && scalar.value <= 0x045F { return true }  // lowercase Cyrillic
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    static let stopWordHashes: Set<UInt64> = Set(stopWords.map { hash(.word, Array($0.unicodeScalars)[...]) })

    /// Function words that say little about which template is meant.
    static let stopWords: Set<String> = [
        "и", "в", "во", "не", "что", "он", "на", "я", "с", "со", "как", "а", "то", "все", "она", "так",
        "его", "но", "да", "ты", "к", "у", "же", "вы", "за", "бы", "по", "только", "ее", "мне", "было",
        "вот", "от", "меня", "еще", "нет", "о", "из", "ему", "теперь", "когда", "даже", "ну", "ли",
        "если", "уже", "или", "ни", "быть", "был", "него", "до", "вас", "нибудь", "опять", "уж", "вам",
        "ведь", "там", "потом", "себя", "ничего", "ей", "может", "они", "тут", "где", "есть", "надо",
        "ней", "для", "мы", "тебя", "их", "чем", "была", "сам", "чтоб", "без", "будто", "чего", "раз",
        "тоже", "себе", "под", "будет", "ж", "тогда", "кто", "этот", "того", "потому", "этого", "какой",
        "совсем", "ним", "здесь", "этом", "один", "почти", "мой", "тем", "чтобы", "нее", "были", "куда",
        "зачем", "всех", "никогда", "можно", "при", "наконец", "два", "об", "другой", "хоть", "после",
        "над", "больше", "тот", "через", "эти", "нас", "про", "всего", "них", "какая", "много", "разве",
        "три", "эту", "моя", "впрочем", "хорошо", "свою", "этой", "перед", "иногда", "лучше", "чуть",
        "том", "нельзя", "такой", "им", "более", "всегда", "конечно", "всю", "между", "это", "ваш",
        "вашей", "ваши", "вашего", "также", "the", "a", "an", "and", "or", "of", "to", "in", "on", "for",
        "is", "are", "be", "it", "with", "as", "by", "at", "from", "that", "this", "you", "your", "can",
        "do", "does", "how", "what", "i", "my", "we", "our", "if", "not", "will", "which",
    ]
}
