import Foundation

/// Deterministic FAQ content of any size, for tests and benchmarks that need more than 201 rows.
package struct GeneratedFAQ: Sendable {
    package struct Entry: Sendable, Hashable {
        package var category: String
        package var subcategory: String
        package var question: String
        package var answer: String
        package var priority: String
    }

    package static let header = ["Основная категория", "Подкатегория", "Пример вопроса", "Приоритет", "Шаблонный ответ"]

    package var entries: [Entry]

    package init(count: Int, seed: Int = 0) {
        let categories = ["Карты", "Вклады", "Кредиты", "Переводы", "Приложение", "Новые клиенты"]
        let topics = ["лимит", "комиссия", "срок", "ставка", "документы", "отделение", "перевыпуск", "приложение", "валюта", "кэшбэк"]
        entries = (0..<count).map { index in
            let category = categories[index % categories.count]
            let topic = topics[(index / categories.count) % topics.count]
            return Entry(
                category: category,
                subcategory: "\(category) — раздел \(index % 37)",
                question: "Вопрос \(index + seed * 1_000_000): как узнать \(topic) по продукту номер \(index)?",
                answer: "Ответ \(index): \(topic) для продукта \(index) указан в приложении и на сайте банка. "
                    + "Подробности уточняйте в контакт-центре по номеру 500; условия действуют с \(1 + index % 28).01.2026.",
                priority: index % 3 == 0 ? "высокий" : "средний")
        }
    }

    package var rows: [[String]] {
        [Self.header] + entries.map { [$0.category, $0.subcategory, $0.question, $0.priority, $0.answer] }
    }

    package func writeXLSX(to url: URL, strings: XLSXWriter.StringStorage = .shared) throws {
        try XLSXWriter.table(rows, strings: strings).write(to: url)
    }

    package func writeCSV(to url: URL) throws {
        let text = rows.map { row in
            row.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",")
        }.joined(separator: "\n")
        try Data(text.utf8).write(to: url)
    }
}
