import Foundation

/// The one tokenisation of faqsync's texts, shared by the lexical index in the snapshot, the
/// queries against it, and the local embedder, so that all three see the same terms.
///
/// - Text is NFKC-normalised and case-folded; `ё` is folded to `е` (Russian writes both).
/// - A token is a run of letters and digits; a dot or comma between two digits stays inside
///   (`2.0`, `0,5`), so version numbers and amounts are one token.
/// - Cyrillic words are stemmed with Snowball's Russian stemmer, Latin words with the English one.
///   Tokens with digits, and words mixing scripts, are kept as they are: card names like
///   "Портмоне 2.0", product codes and numbers must match exactly.
///
/// Not thread-safe (it owns Snowball stemmers); create one per thread or per use.
public final class Tokenizer {
    public struct Token: Sendable, Equatable {
        /// The folded surface form (`черепаха`).
        public let word: String
        /// What the index and the embedder use: the stem, or the word itself (`черепах`).
        public let term: String
        /// True for function words ("и", "как", "the") that say little about which template is meant.
        public let isStopWord: Bool
    }

    private let russian = SnowballStemmer(.russian)
    private let english = SnowballStemmer(.english)
    private var cache: [String: String] = [:]

    public init() {}

    public func tokens(in text: String) -> [Token] {
        Self.words(in: text).map { word in
            Token(word: word, term: term(for: word), isStopWord: StopWords.all.contains(word))
        }
    }

    /// Just the terms, in order.
    public func terms(in text: String) -> [String] { tokens(in: text).map(\.term) }

    private func term(for word: String) -> String {
        if let known = cache[word] { return known }
        let term: String
        switch Script.of(word) {
        case .cyrillic: term = russian.stem(word)
        case .latin: term = english.stem(word)
        case .other: term = word
        }
        if cache.count < 65_536 { cache[word] = term }
        return term
    }

    /// NFKC, case-folded, `ё` → `е`, split at everything that is not a letter or a digit (a dot
    /// or comma between digits stays in the token).
    static func words(in text: String) -> [String] {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        let scalars = Array(folded.unicodeScalars)
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if isWordScalar(scalar) {
                current.append(scalar == "ё" ? "е" : scalar)
            } else if (scalar == "." || scalar == ","), let previous = current.last, isDigit(previous),
                      index + 1 < scalars.count, isDigit(scalars[index + 1]) {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    @inline(__always)
    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x30 && scalar.value <= 0x39 }

    @inline(__always)
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (value >= 0x30 && value <= 0x39) || (value >= 0x61 && value <= 0x7A) || (value >= 0x41 && value <= 0x5A)
        }
        if scalar.value >= 0x0430 && scalar.value <= 0x045F { return true }  // lowercase Cyrillic
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    enum Script {
        case cyrillic, latin, other

        /// Cyrillic or Latin letters only; anything with digits or mixed scripts is `other`.
        static func of(_ word: String) -> Script {
            var cyrillic = false, latin = false
            for scalar in word.unicodeScalars {
                switch scalar.value {
                case 0x0400...0x04FF: cyrillic = true
                case 0x61...0x7A: latin = true
                default: return .other
                }
            }
            return cyrillic == latin ? .other : (cyrillic ? .cyrillic : .latin)
        }
    }
}

/// Function words of Russian and English, compared after folding.
public enum StopWords {
    public static let all: Set<String> = [
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
