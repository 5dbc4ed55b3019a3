import Foundation
import SnapshotFormat
import SnapshotPublishing
import SnapshotReader
import Testing
import TestSupport

/// The lexical section of a version 2 snapshot, and version 1 files that keep working.
@Suite("lexical index")
struct LexicalIndexTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("lexical") }

    static let model = SnapshotEncoder.Model(name: "test", version: "1", dimension: 4)

    static func template(_ id: String, _ question: String, _ answer: String, vector: [Float] = [1, 0, 0, 0]) -> SnapshotTemplate {
        SnapshotTemplate(id: id, category: "c", subcategory: "s", question: question, answer: answer, metadataJSON: "[]", vector: vector)
    }

    static let templates = [
        template("limits", "Какой лимит по карте Портмоне 2.0?", "Лимит до 10 000 рублей.", vector: [0, 1, 0, 0]),
        template("open", "Как оформить карту ЧЕРЕПАХА?", "В любом отделении банка.", vector: [0, 0, 1, 0]),
        template("answer-only", "Где принимается карта?", "Везде, где принимают Портмоне.", vector: [0, 0, 0, 1]),
        template("deposit", "Как открыть вклад?", "Вклады открываются онлайн.", vector: [1, 0, 0, 0]),
    ]

    func publish(lexicalIndex: Bool = true) throws -> MappedSnapshot {
        let path = directory.path("lexical-\(lexicalIndex).snapshot")
        _ = try SnapshotFileWriter(path: path).publish(model: Self.model, templates: Self.templates, minimumGeneration: 1, lexicalIndex: lexicalIndex)
        return try MappedSnapshot(path: path)
    }

    @Test func exactTermsFindTheirTemplatesAndAQuestionMatchWeighsMore() throws {
        let snapshot = try publish()
        #expect(snapshot.header.formatVersion == 2)
        let lexical = try #require(snapshot.contents.top.lexical)
        #expect(lexical.count == 4)
        let hits = try snapshot.search(SearchQuery(text: "портмоне", vector: nil, mode: .lexical), k: 5).results
        #expect(hits.map(\.id) == ["limits", "answer-only"], "the question match first; templates without the term are left out")
        #expect(hits.allSatisfy { $0.dense == nil && ($0.lexical ?? 0) > 0 && $0.score == $0.lexical })
        let number = try snapshot.search(SearchQuery(text: "2.0", vector: nil, mode: .lexical), k: 5).results
        #expect(number.map(\.id) == ["limits"])
        let stemmed = try snapshot.search(SearchQuery(text: "вкладами", vector: nil, mode: .lexical), k: 5).results
        #expect(stemmed.map(\.id) == ["deposit"], "another form of the word finds it")
        #expect(try snapshot.search(SearchQuery(text: "ипотека", vector: nil, mode: .lexical), k: 5).results.isEmpty)
    }

    /// One publisher (as `watch` keeps one) remembers terms between publications: an edited
    /// answer is indexed with its new words and without its old ones, and the file is the same as
    /// a fresh publisher writes.
    @Test func aLongRunningPublisherIndexesEditsAsAFreshOneDoes() throws {
        let path = directory.path("reused.snapshot")
        let publisher = SnapshotFileWriter(path: path)
        _ = try publisher.publish(model: Self.model, templates: Self.templates, minimumGeneration: 1)
        var edited = Self.templates
        edited[3] = Self.template("deposit", "Как открыть вклад?", "Через мобильное приложение ЧАЙКА.")
        edited.append(Self.template("new", "Где банкомат?", "Рядом с вкладами."))
        _ = try publisher.publish(model: Self.model, templates: edited, minimumGeneration: 2)
        let reused = try MappedSnapshot(path: path)
        func ids(_ text: String, in snapshot: MappedSnapshot) throws -> [String] {
            try snapshot.search(SearchQuery(text: text, vector: nil, mode: .lexical), k: 5).results.map(\.id)
        }
        #expect(try ids("чайка", in: reused) == ["deposit"])
        #expect(try ids("онлайн", in: reused).isEmpty, "the old answer's words are gone")
        #expect(try ids("банкомат", in: reused) == ["new"])

        let freshPath = directory.path("fresh.snapshot")
        _ = try SnapshotFileWriter(path: freshPath).publish(model: Self.model, templates: edited, minimumGeneration: 2,
                                                           now: Date(timeIntervalSince1970: 0))
        _ = try publisher.publish(model: Self.model, templates: edited, minimumGeneration: 3, now: Date(timeIntervalSince1970: 0))
        func lexicalSection(_ path: String) throws -> Data {
            let header = try MappedSnapshot(path: path).header
            let offset = try #require(header.lexicalOffset), length = try #require(header.lexicalLength)
            return try Data(contentsOf: URL(fileURLWithPath: path))[offset..<offset + length]
        }
        #expect(try lexicalSection(path) == lexicalSection(freshPath), "the lexical section is byte for byte what a fresh publisher writes")
    }

    @Test func hybridCarriesBothComponentsAndFusesThem() throws {
        let snapshot = try publish()
        // The vector points at "deposit", the words at "limits".
        let hits = try snapshot.search(SearchQuery(text: "лимит Портмоне 2.0", vector: [1, 0, 0, 0], mode: .hybrid), k: 4).results
        #expect(Set(hits.prefix(2).map(\.id)) == ["limits", "deposit"], "\(hits.map(\.id))")
        for hit in hits {
            let dense = try #require(hit.dense), lexical = try #require(hit.lexical)
            let best = hits.compactMap(\.lexical).max() ?? 1
            #expect(abs(hit.score - (0.5 * dense + 0.5 * lexical / best)) < 1e-5)
        }
        let dense = try snapshot.search(SearchQuery(text: "лимит Портмоне 2.0", vector: [1, 0, 0, 0], mode: .dense), k: 1).results
        #expect(dense.first?.id == "deposit")
        #expect(dense.first?.lexical == 0, "dense hits carry their lexical component too")
        #expect(throws: SearchError.self) { try snapshot.search(SearchQuery(text: "x", vector: nil, mode: .hybrid), k: 1) }
    }

    @Test func filtersApplyInEveryMode() throws {
        let snapshot = try publish()
        for mode in SearchMode.allCases {
            let hits = try snapshot.search(SearchQuery(text: "карта", vector: [0, 1, 0, 0], mode: mode), k: 5,
                                           filter: SearchFilter(category: "nope")).results
            #expect(hits.isEmpty, "\(mode)")
        }
    }

    /// A version 1 file (no lexical section) is read as before: dense only.
    @Test func aVersionOneFileIsStillRead() throws {
        let snapshot = try publish(lexicalIndex: false)
        #expect(snapshot.header.formatVersion == 1)
        #expect(snapshot.contents.top.lexical == nil)
        let hybrid = try snapshot.search(SearchQuery(text: "портмоне", vector: [0, 1, 0, 0], mode: .hybrid), k: 2).results
        #expect(hybrid.first?.id == "limits" && hybrid.first?.lexical == nil && hybrid.first?.dense != nil)
        #expect {
            try snapshot.search(SearchQuery(text: "портмоне", vector: nil, mode: .lexical), k: 2)
        } throws: { ($0 as? SearchError)?.message.contains("no lexical index") == true }
    }

    /// Counts in the section that do not fit it are refused at open; a directory entry pointing
    /// outside the section reads as no postings.
    @Test func aDamagedSectionIsRefusedOrReadsAsEmpty() throws {
        let snapshot = try publish()
        let header = snapshot.header
        let original = try Data(contentsOf: URL(fileURLWithPath: snapshot.path))
        let sectionStart = try #require(header.lexicalOffset)
        func open(_ bytes: Data) throws -> SnapshotView {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
            copy.copyBytes(from: bytes)
            return try SnapshotView(buffer: UnsafeRawBufferPointer(copy), path: "damaged", verifyChecksum: false)
        }
        var counts = original
        counts.replaceSubrange(sectionStart..<(sectionStart + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect { _ = try open(counts) } throws: { ($0 as? SnapshotError)?.code == .inconsistent }

        var entry = original
        let directory = sectionStart + 24 + 4 * header.count
        entry.replaceSubrange(directory..<(directory + 8), with: [0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F])
        let view = try open(entry)
        _ = try SnapshotContents(whole: view).search(SearchQuery(text: "карта портмоне вклад", vector: nil, mode: .lexical), k: 5)
        let damagedPostings = entry
        var postings = damagedPostings
        let postingStart = directory + 16 * (view.lexical?.termCount ?? 0)
        postings.replaceSubrange(postingStart..<(postingStart + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        _ = try SnapshotContents(whole: open(postings)).search(SearchQuery(text: "карта портмоне вклад", vector: nil, mode: .lexical), k: 5)
    }

    /// Publication proportional to the change: a template the previous snapshot holds unchanged
    /// takes its terms from that snapshot's section, not from tokenising its text again. Shown by
    /// a previous file whose section disagrees with the texts on purpose: the reused template
    /// keeps the previous file's terms, the one marked changed gets its text's terms, and a
    /// section built from the same texts the usual way is byte for byte what reuse builds.
    @Test func unchangedTemplatesTakeTheirTermsFromThePreviousSection() throws {
        let previousPath = directory.path("previous.snapshot")
        let previousTemplates = [Self.template("a", "ипотека", "квартира"), Self.template("b", "вклад", "проценты")]
        _ = try SnapshotFileWriter(path: previousPath).publish(model: Self.model, templates: previousTemplates, minimumGeneration: 1)
        let mapping = try SnapshotMapping(path: previousPath)
        // The texts now say something else; "a" is declared unchanged (index 0), "c" is new.
        let now = [Self.template("a", "кредит", "машина"), Self.template("c", "карта", "лимит")]
        let section = try SnapshotFileWriter.lexicalSection(of: SnapshotRows(templates: now, base: mapping, termsAt: [0, nil]), path: "-")
        let published = directory.path("reused-terms.snapshot")
        _ = try SnapshotFileWriter(path: published).publish(model: Self.model, rows: SnapshotRows(templates: now, base: mapping, termsAt: [0, nil]),
                                                            minimumGeneration: 1)
        let snapshot = try MappedSnapshot(path: published)
        func ids(_ text: String) throws -> [String] {
            try snapshot.search(SearchQuery(text: text, vector: nil, mode: .lexical), k: 5).results.map(\.id)
        }
        #expect(try ids("ипотека") == ["a"], "the reused template's terms are the previous section's")
        #expect(try ids("кредит").isEmpty, "its text was not tokenised")
        #expect(try ids("карта") == ["c"], "the new template's text was")
        #expect(try ids("вклад").isEmpty, "a template the new snapshot does not hold leaves nothing behind")

        // Built from texts that match the previous file, reuse and tokenising agree to the byte.
        let matching = [Self.template("a", "ипотека", "квартира"), Self.template("c", "карта", "лимит")]
        let reused = try SnapshotFileWriter.lexicalSection(of: SnapshotRows(templates: matching, base: mapping, termsAt: [0, nil]), path: "-")
        let tokenised = try SnapshotFileWriter.lexicalSection(of: SnapshotRows(matching), path: "-")
        #expect(reused.bytes == tokenised.bytes)
        #expect(section.bytes == tokenised.bytes, "the first section is the previous texts' terms for «a»")
        #expect(try SnapshotFileWriter.lexicalSection(of: SnapshotRows(now), path: "-").bytes != section.bytes)
        withExtendedLifetime(mapping) {}
    }
}
