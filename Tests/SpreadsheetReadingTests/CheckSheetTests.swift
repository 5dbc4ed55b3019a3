import Foundation
import SpreadsheetReading
import Testing
import TestSupport

/// The FAQ team's checks sheet: found by its name, never taken for the FAQ, rows that name
/// nothing reported, never fatal.
@Suite("checks sheet")
struct CheckSheetTests {
    static let faq: [[XLSXWriter.Cell]] = [
        [.text("Категория"), .text("Подкатегория"), .text("Вопрос"), .text("Ответ")],
        [.text("Карты"), .text("Выпуск"), .text("Как заказать карту?"), .text("В приложении.")],
    ]

    @Test func aChecksSheetBeforeTheFAQIsReadAsChecksNotAsTheFAQ() throws {
        let directory = try TemporaryDirectory("check-sheet")
        defer { directory.remove() }
        let url = directory.file("faq.xlsx")
        // «Вопрос» and «Шаблон» are FAQ header names too (question, answer): the sheet's name decides.
        try XLSXWriter(sheets: [
            .init(name: " проверка ", rows: [
                [.text("Заметка для команды")],
                [.text("Вопрос"), .text("Шаблон")],
                [.text("хочу карту"), .text("Как заказать карту?")],
                [.text(""), .text("Как заказать карту?")],
                [.text("без шаблона"), .absent],
                [.absent, .absent],
                [.text("  по id  "), .text("k0123")],
            ]),
            .init(name: "FAQ", rows: Self.faq),
        ]).write(to: url)
        let table = try SpreadsheetReader().read(url)
        #expect(table.rows.count == 1 && table.rows[0].question == "Как заказать карту?")
        let checks = try #require(try SpreadsheetReader().readCheckSheet(url))
        #expect(checks.sheet == " проверка ")
        #expect(checks.problem == nil)
        #expect(checks.rows == [.init(number: 3, question: "хочу карту", expected: "Как заказать карту?"),
                                .init(number: 7, question: "по id", expected: "k0123")])
        #expect(checks.skipped.map(\.row) == [4, 5])
    }

    @Test func aWorkbookWithoutChecksHasNoneAndABadHeaderIsAProblemNotAFailure() throws {
        let directory = try TemporaryDirectory("check-sheet-none")
        defer { directory.remove() }
        let plain = directory.file("plain.xlsx")
        try XLSXWriter(sheets: [.init(name: "FAQ", rows: Self.faq)]).write(to: plain)
        #expect(try SpreadsheetReader().readCheckSheet(plain) == nil)

        let bad = directory.file("bad.xlsx")
        try XLSXWriter(sheets: [.init(name: "FAQ", rows: Self.faq), .init(name: "Checks", rows: [[.text("что-то"), .text("другое")]])]).write(to: bad)
        let checks = try #require(try SpreadsheetReader().readCheckSheet(bad))
        #expect(checks.rows.isEmpty && checks.problem?.contains("Вопрос клиента") == true)
    }

    @Test func checksFromACSVFile() throws {
        let directory = try TemporaryDirectory("check-csv")
        defer { directory.remove() }
        let url = directory.file("checks.csv")
        try "Customer question;Expected template\nI lost my card;Что делать, если карта украдена?\n;orphan\n".write(to: url, atomically: true, encoding: .utf8)
        let checks = try SpreadsheetReader().readCheckFile(url)
        #expect(checks.rows == [.init(number: 2, question: "I lost my card", expected: "Что делать, если карта украдена?")])
        #expect(checks.skipped.map(\.row) == [3])
    }
}
