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
                let entries = legacy.records.compactMap { record -> (inputHash: String, vector: [Float])? in
                    let hash = Template.inputHash(of: ModelInput.questionAndAnswer.text(question: TextNormalization.trim(record.question),
                                                                                       answer: TextNormalization.trim(record.answer)))
                    return seen.insert(hash).inserted ? (hash, record.vector) : nil
                }
                let store = configuration.makeStore()
                try await store.cache(model: legacy.model, vectors: entries)

                // How much of the current spreadsheet these vectors cover.
                let table = try configuration.source.reader.read(configuration.faqURL)
                let templates = Template.templates(from: table, modelInput: .questionAndAnswer)
                let imported = Set(entries.map(\.inputHash))
                let matched = templates.filter { imported.contains($0.inputHash) }.count
                let output = ImportOutput(model: "\(legacy.model.name) \(legacy.model.version)", dimension: legacy.model.dimension,
                                          records: legacy.records.count, cachedTexts: imported.count, spreadsheet: table.file,
                                          spreadsheetTemplates: templates.count, matchedTemplates: matched)
                if common.json { try JSONOutput.print(output) } else {
                    print("""
                        Imported \(output.records) vectors of \(output.model) (\(output.dimension) dimensions) into the cache of \(store.location).
                        They cover \(matched) of the \(templates.count) templates in \(table.file); \
                        a sync with EMBEDDING_MODEL=\(legacy.model.name) EMBEDDING_MODEL_VERSION=\(legacy.model.version) will embed \(templates.count - matched).
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

    enum CodingKeys: String, CodingKey {
        case model, dimension, records, cachedTexts = "cached_texts", spreadsheet, spreadsheetTemplates = "spreadsheet_templates"
        case matchedTemplates = "matched_templates"
    }
}
