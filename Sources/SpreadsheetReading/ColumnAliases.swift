/// Header names recognised for each FAQ field, compared case- and whitespace-insensitively.
package struct ColumnAliases: Sendable {
    package private(set) var names: [FAQField: [String]]

    /// Russian names from the original FAQ and their English equivalents.
    package static let standard = ColumnAliases(names: [
        .id: ["id", "template id", "template_id", "идентификатор"],
        .category: ["основная категория", "категория", "category", "main category"],
        .subcategory: ["подкатегория", "subcategory", "sub-category"],
        .question: ["пример вопроса", "вопрос", "question", "example question"],
        .answer: ["шаблонный ответ", "ответ", "answer", "template answer", "template"],
    ])

    package init(names: [FAQField: [String]]) {
        self.names = names.mapValues { $0.map(Self.normalize) }
    }

    /// Adds a header name for a field (from configuration, e.g. `FAQ_COLUMN_QUESTION=Frage`).
    package mutating func add(_ header: String, for field: FAQField) {
        names[field, default: []].insert(Self.normalize(header), at: 0)
    }

    package func field(forHeader header: String) -> FAQField? {
        let key = Self.normalize(header)
        guard !key.isEmpty else { return nil }
        for field in FAQField.allCases where names[field]?.contains(key) == true {
            return field
        }
        return nil
    }

    /// Lowercased, trimmed, inner whitespace runs folded to one space.
    static func normalize(_ text: String) -> String {
        TextNormalization.foldedKey(text)
    }
}
