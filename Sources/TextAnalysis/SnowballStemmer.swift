import CSnowball

/// One Snowball stemmer (Russian or English), through Snowball's C library.
///
/// Not thread-safe (Snowball keeps its working buffer in the stemmer), so it is a class that one
/// `Tokenizer` owns and uses from one thread at a time; it is cheap to create.
final class SnowballStemmer {
    enum Language: String { case russian, english }

    private let stemmer: OpaquePointer?

    init(_ language: Language) {
        // Snowball ships both algorithms in UTF-8; nil only if the library lacks them, and then
        // words are left unstemmed rather than failing a search.
        stemmer = sb_stemmer_new(language.rawValue, "UTF_8")
    }

    deinit { if let stemmer { sb_stemmer_delete(stemmer) } }

    /// The stem of a lowercased word; the word itself when Snowball cannot stem it.
    func stem(_ word: String) -> String {
        guard let stemmer else { return word }
        var utf8 = Array(word.utf8)
        let count = Int32(clamping: utf8.count)
        guard let result = utf8.withUnsafeMutableBufferPointer({ sb_stemmer_stem(stemmer, $0.baseAddress, count) }) else { return word }
        let length = Int(sb_stemmer_length(stemmer))
        guard length > 0 else { return word }
        return String(decoding: UnsafeBufferPointer(start: result, count: length), as: UTF8.self)
    }
}
