import Testing
import TextAnalysis

/// The one tokenisation the lexical index, the queries and the local embedder share.
@Suite("tokenizer")
struct TokenizerTests {
    let tokenizer = Tokenizer()

    @Test func russianFormsMeetAtOneStemAndYoIsFolded() {
        let forms = ["вклад", "вклада", "вкладе", "вкладами"].map { tokenizer.terms(in: $0) }
        #expect(Set(forms.flatMap { $0 }).count == 1, "\(forms)")
        #expect(tokenizer.terms(in: "Ёлка") == tokenizer.terms(in: "елка"))
        #expect(tokenizer.terms(in: "карточку") == tokenizer.terms(in: "карточка"))
    }

    @Test func englishIsStemmedWithTheEnglishStemmer() {
        #expect(tokenizer.terms(in: "cards") == tokenizer.terms(in: "card"))
        #expect(tokenizer.terms(in: "Limits") == ["limit"])
    }

    @Test func numbersAndProductNamesAreKept() {
        let tokens = tokenizer.tokens(in: "Карта «Портмоне 2.0» и PLAT/ON, ставка 0,5% до 31.12")
        #expect(tokens.map(\.word) == ["карта", "портмоне", "2.0", "и", "plat", "on", "ставка", "0,5", "до", "31.12"])
        #expect(tokens.first { $0.word == "2.0" }?.term == "2.0", "a number is its own term")
        #expect(tokenizer.terms(in: "ЧЕРЕПАХА") == tokenizer.terms(in: "черепаха"), "case folded")
        #expect(tokenizer.terms(in: "bge-m3") == ["bge", "m3"])
        #expect(tokenizer.terms(in: "mBank") == ["mbank"])
    }

    @Test func punctuationSeparatesAndStopWordsAreMarked() {
        let tokens = tokenizer.tokens(in: "Как открыть вклад? — Никак.")
        #expect(tokens.map(\.word) == ["как", "открыть", "вклад", "никак"])
        #expect(tokens.map(\.isStopWord) == [true, false, false, false])
        #expect(tokenizer.tokens(in: "…!?").isEmpty)
        #expect(tokenizer.tokens(in: "").isEmpty)
    }

    @Test func aDotOrCommaOnlyJoinsDigits() {
        #expect(tokenizer.tokens(in: "1.5.2024, 3,").map(\.word) == ["1.5.2024", "3"])
        #expect(tokenizer.tokens(in: "a.b").map(\.word) == ["a", "b"])
    }
}
