import Embedding
import Reconciliation
import SpreadsheetReading
import Testing

@Suite("the reconciler's plan")
struct ReconcilerTests {
    func template(_ question: String, answer: String = "answer", priority: String = "high", input: ModelInput = .questionAndAnswer) -> Template {
        Template(id: TemplateIdentity.derived(category: "c", subcategory: "s", question: question), rowNumber: 2,
                 category: "c", subcategory: "s", question: question, answer: answer,
                 metadata: [MetadataEntry(name: "priority", value: priority)], modelInput: input)
    }

    func state(_ template: Template) -> StoredTemplateState {
        StoredTemplateState(inputHash: template.inputHash, contentHash: template.contentHash)
    }

    @Test func classifiesNewModifiedMetadataOnlyDeletedAndUnchanged() {
        let kept = template("kept"), edited = template("edited"), retagged = template("retagged"), gone = template("gone")
        let stored = [kept.id: state(kept), edited.id: state(edited), retagged.id: state(retagged), gone.id: state(gone)]
        let desired = [kept, template("edited", answer: "new answer"), template("retagged", priority: "low"), template("added")]
        let plan = Reconciler.plan(desired: desired, stored: stored)
        #expect(plan.new.map(\.question) == ["added"])
        #expect(plan.modified.map(\.question) == ["edited"])
        #expect(plan.metadataOnly.map(\.question) == ["retagged"])
        #expect(plan.deleted == [gone.id])
        #expect(plan.unchanged == [kept.id])
    }

    /// A sheet of several parallel chunks plans as one: every kind in sheet order across chunk
    /// borders, and deletions found whether or not the sheet's count matches the store's.
    @Test func aLargeSheetIsPlannedInChunksAsOne() {
        let count = 30_000
        let originals = (0..<count).map { template("q\($0)") }
        var stored = Dictionary(uniqueKeysWithValues: originals.map { ($0.id, state($0)) })
        let gone = template("gone")
        stored[gone.id] = state(gone)
        var desired = originals
        // Around the chunk borders (8,192): an edited answer, a new priority, a new template.
        desired[8_191] = template("q8191", answer: "new answer")
        desired[8_192] = template("q8192", priority: "low")
        desired.insert(template("added"), at: 16_384)
        let plan = Reconciler.plan(desired: desired, stored: stored)
        #expect(plan.new.map(\.question) == ["added"])
        #expect(plan.modified.map(\.question) == ["q8191"])
        #expect(plan.metadataOnly.map(\.question) == ["q8192"])
        #expect(plan.deleted == [gone.id], "one stored template more than the sheet matched")
        #expect(plan.unchanged == desired.map(\.id).filter { ![desired[8_191].id, desired[8_192].id, template("added").id].contains($0) })
        // The same count on both sides, one template swapped for another: still a deletion.
        stored[gone.id] = nil
        stored.removeValue(forKey: originals[0].id)
        stored[template("elsewhere").id] = state(template("elsewhere"))
        let swapped = Reconciler.plan(desired: originals, stored: stored)
        #expect(swapped.deleted == [template("elsewhere").id])
        #expect(swapped.new.map(\.question) == ["q0"])
        // A held identity is neither deleted nor changed.
        #expect(Reconciler.plan(desired: originals, stored: stored, held: [template("elsewhere").id]).deleted.isEmpty)
    }

    @Test func identicalTextsAreEmbeddedOnceAndKnownTextsNotAtAll() {
        let a = template("same", answer: "x"), b = Template(id: "other", rowNumber: 3, category: "c2", subcategory: "s",
                                                            question: "same", answer: "x", metadata: [], modelInput: .questionAndAnswer)
        let c = template("cached")
        let plan = Reconciler.plan(desired: [a, b, c], stored: [:])
        let texts = plan.textsToEmbed(skipping: { $0 == c.inputHash })
        #expect(texts.map(\.text) == ["same x"])
    }

    @Test func forceTreatsEveryStoredTemplateAsModified() {
        let a = template("a")
        let plan = Reconciler.plan(desired: [a], stored: [a.id: state(a)], reembedAll: true)
        #expect(plan.modified.count == 1)
        #expect(plan.textsToEmbed(skipping: { _ in false }).count == 1)
    }

    @Test func identityIgnoresCaseAndSpacingButNotSubcategory() {
        let one = TemplateIdentity.derived(category: "Вклады", subcategory: "Великий путь", question: "Какая доходность?")
        #expect(one == TemplateIdentity.derived(category: "вклады", subcategory: "Великий  путь", question: " какая доходность? "))
        #expect(one != TemplateIdentity.derived(category: "Вклады", subcategory: "Подушка безопасности", question: "Какая доходность?"))
    }

    /// Identities are stored: the folding's fast path for ASCII and Cyrillic must lowercase
    /// exactly as `String.lowercased()` did when they were made, for every scalar there is.
    @Test func foldingLowercasesEveryScalarAsTheStandardLibraryDoes() {
        var differing: [String] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value), !TextNormalization.isWhitespace(scalar) else { continue }
            let text = "A" + String(scalar) + "Я"
            let expected = Array(text.lowercased().utf8)
            if TextNormalization.foldedKeyUTF8(text) != expected { differing.append(String(value, radix: 16)) }
        }
        #expect(differing.isEmpty, "differ from lowercased(): U+\(differing.prefix(20).joined(separator: ", U+"))")
        let mixed = "  Ёжик  В Тумане:\tÉTÉ İstanbul ΣΟΦΙΑ  "
        #expect(TextNormalization.foldedKey(mixed) == "ёжик в тумане: été i̇stanbul σοφια")
    }

    @Test func hashesSeparateFields() {
        #expect(ContentHash.fields(["ab", "c"]) != ContentHash.fields(["a", "bc"]))
        #expect(template("q", input: .question).modelInput == "q")
        #expect(template("q", answer: "a").modelInput == "q a")
        #expect(template("q").inputHash == ContentHash.sha256Hex("q answer"))
    }
}
