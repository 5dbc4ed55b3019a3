import Foundation
import Testing
import TestSupport
@testable import SpreadsheetReading

@Suite("The real FAQ fixture")
struct FixtureSpreadsheetTests {
    let table: FAQTable

    init() throws {
        table = try SpreadsheetReader().read(Fixtures.faq)
    }

    @Test func readsAll201TemplatesAndSkipsFormattedEmptyRows() {
        #expect(table.rows.count == 201)
        #expect(table.rows.first?.rowNumber == 2)
        #expect(table.rows.last?.rowNumber == 202)
        #expect(table.sheetName == "vtb_belarus_faq_final.csv")
        #expect(table.headerRowNumber == 1)
        // The formatted-but-empty area A1:Y936 was scanned, not reported as templates.
        #expect(table.cellsScanned == 936 * 25)
    }

    @Test func hasSixCategoriesAnd35Subcategories() {
        #expect(Set(table.rows.map(\.category)).count == 6)
        #expect(Set(table.rows.map { "\($0.category)|\($0.subcategory)" }).count == 35)
    }

    @Test func trimsCellsAndKeepsInnerLineBreaks() {
        for row in table.rows {
            for text in [row.category, row.subcategory, row.question, row.answer] + row.metadata.map(\.value) {
                #expect(text == text.trimmingCharacters(in: .whitespacesAndNewlines), "row \(row.rowNumber) has untrimmed text")
            }
        }
        // 21 answers contain line breaks in the file; in 3 of them the breaks are only trailing,
        // which trimming removes, so 18 keep inner line breaks.
        #expect(table.rows.filter { $0.answer.contains("\n") }.count == 18)
        #expect(table.rows.contains { $0.answer.contains("\n\n") })
        #expect(table.rows.map(\.answer.count).max() == 720)
    }

    @Test func keepsPriorityAndAudienceAsMetadata() throws {
        let first = try #require(table.rows.first)
        #expect(first.question == "Как стать клиентом банка онлайн?")
        #expect(first.metadata == [MetadataEntry(name: "Приоритет", value: "высокий"),
                                   MetadataEntry(name: "Целевая аудитория", value: "новые клиенты")])
        #expect(first.id == nil)
    }

    @Test func theDuplicatedQuestionLivesInTwoSubcategories() {
        let rows = table.rows.filter { $0.question == "Какая доходность?" }
        #expect(rows.count == 2)
        #expect(Set(rows.map(\.subcategory)) == ["Рублевые - Великий путь", "Рублевые - Подушка безопасности"])
    }
}
