import Foundation
import Reconciliation
import SpreadsheetReading
import Testing
import TestSupport

/// The daemon's memo of the last sheet's templates: a remembered row must make exactly the
/// template a fresh read makes, whatever moved, changed or was respelled around it.
@Suite("the template memo")
struct TemplateMemoTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory("template-memo") }

    func table(_ rows: [[String]], name: String) throws -> FAQTable {
        let url = directory.file(name)
        try XLSXWriter.table([["Основная категория", "Подкатегория", "Пример вопроса", "Приоритет", "Шаблонный ответ"]] + rows).write(to: url)
        return try SpreadsheetReader().read(url)
    }

    /// Templates with the memo and without it, for the same table.
    func both(_ table: FAQTable, memo: TemplateMemo, input: ModelInput = .questionAndAnswer) -> (remembered: SheetTemplates, fresh: SheetTemplates) {
        (Template.sheetTemplates(from: table, modelInput: input, memo: memo), Template.sheetTemplates(from: table, modelInput: input))
    }

    @Test func aRememberedRowMakesTheTemplateAFreshReadMakes() throws {
        defer { directory.remove() }
        var rows = (0..<40).map { ["Карты", "Блокировка", "Как заблокировать карту \($0)?", $0 % 2 == 0 ? "high" : "", "Позвоните по номеру \($0)."] }
        rows[7][2] = "Как заблокировать карту 7, если она чужой \u{439}?"  // й, one scalar
        let memo = TemplateMemo()
        let first = both(try table(rows, name: "first.xlsx"), memo: memo)
        #expect(first.remembered.templates == first.fresh.templates)
        #expect(memo.count == 40)

        // A row inserted at the top moves every other one down; one answer edited; one priority
        // changed; one question respelled in decomposed form (the same text to Unicode, other
        // bytes, so another content hash); one row deleted.
        var edited = rows
        edited[3][4] = "Новый ответ."
        edited[5][3] = "low"
        edited[7][2] = "Как заблокировать карту 7, если она чужой \u{438}\u{306}?"  // й as и and a combining breve
        edited.remove(at: 20)
        edited.insert(["Вклады", "Открытие", "Как открыть вклад?", "", "В приложении."], at: 0)
        let second = both(try table(edited, name: "second.xlsx"), memo: memo)
        #expect(second.fresh.templates.first { $0.question.unicodeScalars.contains("\u{306}") } != nil, "the respelling reached the sheet")
        #expect(second.remembered.templates == second.fresh.templates)
        #expect(second.remembered.templates.map(\.rowNumber) == second.fresh.templates.map(\.rowNumber))
        #expect(memo.count == 40, "the memo holds the last sheet's rows only")

        // The same rows embedded from the question alone: other model inputs, other hashes.
        let questionOnly = both(try table(edited, name: "second.xlsx"), memo: memo, input: .question)
        #expect(questionOnly.remembered.templates == questionOnly.fresh.templates)
        #expect(questionOnly.remembered.templates.map(\.inputHash) != second.fresh.templates.map(\.inputHash))
    }

    @Test func rowsThatShareAnIdentityAreStillReported() throws {
        defer { directory.remove() }
        let rows = [["К", "П", "Вопрос", "", "Ответ 1"], ["К", "П", "вопрос", "", "Ответ 2"], ["К", "П", "Другой", "", "Ответ 3"]]
        let memo = TemplateMemo()
        for _ in 0..<2 {
            let (remembered, fresh) = both(try table(rows, name: "duplicates.xlsx"), memo: memo)
            #expect(remembered.templates == fresh.templates)
            #expect(remembered.templates.count == 1)
            #expect(remembered.skippedRows == fresh.skippedRows)
            #expect(remembered.heldIdentities == fresh.heldIdentities)
        }
    }
}
