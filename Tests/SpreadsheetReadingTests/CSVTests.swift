import Foundation
import Testing
import TestSupport
@testable import SpreadsheetReading

@Suite("csv files")
struct CSVTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory("csv") }

    func read(_ bytes: [UInt8]) throws -> FAQTable {
        let url = directory.file("faq-\(UUID().uuidString.prefix(6)).csv")
        try Data(bytes).write(to: url)
        return try SpreadsheetReader().read(url)
    }

    @Test func commaSeparatedWithBOMAndQuotedLineBreaks() throws {
        let text = "\u{FEFF}Основная категория,Подкатегория,Пример вопроса,Шаблонный ответ\r\n"
            + "Карты,Лимиты,\"Как поднять лимит, если нужно?\",\"Строка 1\r\nСтрока \"\"2\"\"\"\r\n"
        let table = try read(Array(text.utf8))
        #expect(table.rows.count == 1)
        #expect(table.rows[0].question == "Как поднять лимит, если нужно?")
        #expect(table.rows[0].answer == "Строка 1\nСтрока \"2\"")
        #expect(table.rows[0].rowNumber == 2)
    }

    @Test func semicolonSeparatedIsDetected() throws {
        let text = "category;subcategory;question;answer;priority\nA;B;\"Q; with semicolon\";Ans;high\n\nC;D;Q2;A2;\n"
        let table = try read(Array(text.utf8))
        #expect(table.rows.map(\.question) == ["Q; with semicolon", "Q2"])
        #expect(table.rows[0].metadata == [MetadataEntry(name: "priority", value: "high")])
        #expect(table.rows[1].rowNumber == 4)
    }

    @Test func generatedCSVMatchesGeneratedXLSX() throws {
        let faq = GeneratedFAQ(count: 50)
        let csvURL = directory.file("g.csv"), xlsxURL = directory.file("g.xlsx")
        try faq.writeCSV(to: csvURL)
        try faq.writeXLSX(to: xlsxURL)
        let csv = try SpreadsheetReader().read(csvURL), xlsx = try SpreadsheetReader().read(xlsxURL)
        #expect(csv.rows == xlsx.rows)
    }
}
