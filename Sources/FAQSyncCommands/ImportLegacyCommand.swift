import ArgumentParser
import Foundation
import Reconciliation
import SpreadsheetReading
import Settings
import SQLiteStore
import TemplateStore

extension FAQSyncCommand {
    struct ImportLegacy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-legacy",
            abstract: "Put the original Python system's vectors into the embedding cache, so switching to its model costs no API call.",
            discussion: """
                Vectors are keyed by the text they embedded (question + " " + answer, cells trimmed as faqsync reads them), \
                under the old store's model identity (bge-m3 v1, 1024 dimensions). Then sync with EMBEDDING_MODEL=bge-m3 \
                EMBEDDING_MODEL_VERSION=v1: templates whose text did not change come from the cache.
                """)

        @OptionGroup var common: CommonOptions
        @Argument(help: "The old system's SQLite file.") var legacyPath: String

        func run() async throws {
            try await withFailureHandling(json: common.json) {
                let configuration = try common.configuration()
                let legacy = try LegacyStore(path: legacyPath).read()
                // The old store can hold one text twice with slightly different vectors (the
                // fixture's "Какая доходность?" pair, cosine 0.999995). The cache keeps one vector
                // per text: the first record's, by template id, so the result does not depend on order.
                var seen = Set<String>()
                let hashes = legacy.records.map { record in
                    Template.inputHash(of: ModelInput.questionAndAnswer.text(question: TextNormalization.trim(record.question),
                                                                            answer: TextNormalization.trim(record.answer)))
                }
                let entries = zip(legacy.records, hashes).compactMap { record, hash -> (inputHash: String, vector: [Float])? in
                    seen.insert(hash).inserted ? (hash, record.vector) : nil
                }
                let store = configuration.makeStore()
                try await store.cache(model: legacy.model, vectors: entries)

                // How much of the current spreadsheet these vectors cover.
                let table = try configuration.source.reader.read(configuration.faqURL)
                let templates = Template.templates(from: table, modelInput: .questionAndAnswer)
                let imported = Set(entries.map(\.inputHash))
                let matched = templates.filter { imported.contains($0.inputHash) }.count
                // The old ids (`tmpl_NNN`) against faqsync's, through the text each vector embedded.
                let byText = Dictionary(templates.map { ($0.inputHash, $0) }, uniquingKeysWith: { first, _ in first })
                let ids = zip(legacy.records, hashes).map { record, hash in
                    ImportOutput.IDMapping(legacyID: record.templateID, templateID: byText[hash]?.id, row: byText[hash]?.rowNumber)
                }
                let output = ImportOutput(model: "\(legacy.model.name) \(legacy.model.version)", dimension: legacy.model.dimension,
                                          records: legacy.records.count, cachedTexts: imported.count, spreadsheet: table.file,
                                          spreadsheetTemplates: templates.count, matchedTemplates: matched, ids: ids)
                if common.json { try JSONOutput.print(output) } else {
                    print("""
                        Imported \(output.records) vectors of \(output.model) (\(output.dimension) dimensions) into the cache of \(store.location).
                        They cover \(matched) of the \(templates.count) templates in \(table.file); \
                        a sync with EMBEDDING_MODEL=\(legacy.model.name) EMBEDDING_MODEL_VERSION=\(legacy.model.version) will embed \(templates.count - matched).
                        `faqsync import-legacy --json` lists each old id with the faqsync id and sheet row of the template it matches.
                        """)
                }
            }
        }
    }
}

struct ImportOutput: Encodable {
    let model: String
    let dimension: Int
    let records: Int
    let cachedTexts: Int
    let spreadsheet: String
    let spreadsheetTemplates: Int
    let matchedTemplates: Int
    /// Each old record's id with the template whose text it embedded; nil when the spreadsheet
    /// no longer has that text.
    let ids: [IDMapping]

    struct IDMapping: Encodable {
        let legacyID: String
        let templateID: String?
        let row: Int?

        enum CodingKeys: String, CodingKey { case legacyID = "legacy_id", templateID = "template_id", row }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(legacyID, forKey: .legacyID)
            try c.encode(templateID, forKey: .templateID)
            try c.encode(row, forKey: .row)
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, dimension, records, cachedTexts = "cached_texts", spreadsheet, spreadsheetTemplates = "spreadsheet_templates"
        case matchedTemplates = "matched_templates", ids
    }
}
