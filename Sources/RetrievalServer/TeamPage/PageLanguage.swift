import Foundation

/// The page's languages. Russian or English by the browser's `Accept-Language` (a `lang=` query
/// parameter overrides it); English when neither is asked for.
enum PageLanguage: String, Sendable, CaseIterable {
    case english = "en", russian = "ru"

    /// The preferred of our languages in an `Accept-Language` value: the highest q wins, the
    /// earlier entry on a tie; `*` and other languages do not choose.
    static func negotiate(acceptLanguage: String?, override: String? = nil) -> PageLanguage {
        if let override, let chosen = PageLanguage(rawValue: override.lowercased()) { return chosen }
        guard let acceptLanguage else { return .english }
        var best: (language: PageLanguage, quality: Double)?
        // A hostile header is bounded by the server's header limits; only the first 32 entries count.
        for entry in acceptLanguage.split(separator: ",").prefix(32) {
            let parts = entry.split(separator: ";")
            guard let tag = parts.first?.trimmingCharacters(in: .whitespaces).lowercased() else { continue }
            let primary = tag.split(separator: "-").first.map(String.init) ?? tag
            guard let language = PageLanguage(rawValue: primary) else { continue }
            var quality: Double? = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                // A malformed weight makes the entry count for nothing, not for everything.
                if pair.count == 2, pair[0] == "q" { quality = Double(pair[1]).flatMap { (0...1).contains($0) ? $0 : nil } }
            }
            guard let quality else { continue }
            if quality > 0, quality > (best?.quality ?? 0) { best = (language, quality) }
        }
        return best?.language ?? .english
    }

    var text: PageText { self == .russian ? .russian : .english }
}

/// Every phrase the page shows, in one language. Spreadsheet text and errors are shown as they are.
struct PageText: Sendable {
    let code: String
    let title: String
    let liveHeading: String
    let generation: String
    let published: String
    let model: String
    let templates: String
    let lastSync: String
    let succeeded: String
    let failed: String
    let noSnapshot: String
    let noActivity: String
    let activityProblem: String
    let recentHeading: String
    let noSyncs: String
    let time: String
    let file: String
    let new: String
    let modified: String
    let metadataOnly: String
    let deleted: String
    let skipped: String
    let quarantined: String
    let embedded: String
    let fromCache: String
    let duration: String
    let touched: String
    let moreChanges: String
    let needsFixingHeading: String
    let nothingToFix: String
    let row: String
    let column: String
    let reason: String
    let quarantineHeading: String
    let template: String
    let since: String
    let chartHeading: String
    let chartDuration: String
    let chartEmbedded: String
    let tryHeading: String
    let questionLabel: String
    let modeLabel: String
    let ask: String
    let modes: [String]
    let noResults: String
    let score: String
    let category: String
    let subcategory: String
    let question: String
    let answer: String
    let refreshNote: String
    let loginTitle: String
    let tokenLabel: String
    let signIn: String
    let wrongToken: String
    let signOut: String
    let tooManyTries: String
    let crossSite: String
    let kindNames: [String: String]
    let skipReasons: [String: String]
    let ago: @Sendable (TimeInterval) -> String

    static let english = PageText(
        code: "en", title: "FAQ templates: what is live", liveHeading: "Live now", generation: "Snapshot generation",
        published: "Published", model: "Model", templates: "Templates", lastSync: "Last sync", succeeded: "succeeded",
        failed: "FAILED", noSnapshot: "No snapshot has been published yet: the first sync has not finished.",
        noActivity: "No sync has been recorded since the service started.", activityProblem: "The sync history cannot be shown",
        recentHeading: "Recent syncs", noSyncs: "No syncs yet.", time: "Time", file: "File (SHA-256)", new: "new",
        modified: "modified", metadataOnly: "metadata only", deleted: "deleted", skipped: "skipped rows", quarantined: "quarantined",
        embedded: "embedded", fromCache: "from cache", duration: "duration", touched: "Templates this sync touched",
        moreChanges: "more not listed", needsFixingHeading: "Rows to fix in the spreadsheet",
        nothingToFix: "Nothing: every row of the last sync was read.", row: "Row", column: "Column", reason: "What to do",
        quarantineHeading: "Templates in quarantine (the embedding service refused their text)", template: "Template",
        since: "Since", chartHeading: "The last syncs", chartDuration: "Duration, seconds", chartEmbedded: "Texts embedded",
        tryHeading: "Try a question", questionLabel: "A customer's question", modeLabel: "Search", ask: "Ask",
        modes: ["hybrid: meaning and words", "dense: meaning only", "lexical: words only"],
        noResults: "No template matches.", score: "Score", category: "Category", subcategory: "Subcategory",
        question: "Question", answer: "Answer (as the assistant gets it)",
        refreshNote: "This page reloads itself every 5 seconds while no question is asked.",
        loginTitle: "Sign in", tokenLabel: "Access token (SERVE_TOKEN)", signIn: "Sign in",
        wrongToken: "That token is not the one this server was given.",
        signOut: "Sign out",
        tooManyTries: "Too many wrong tokens in the last minute: wait a minute and try again.",
        crossSite: "This sign-in did not come from this page: open the page itself and sign in there.",
        kindNames: ["new": "new", "modified": "modified", "metadata_only": "metadata only", "deleted": "deleted"],
        skipReasons: [:],
        ago: { seconds in
            switch seconds {
            case ..<60: "\(Int(seconds)) s ago"
            case ..<3600: "\(Int(seconds / 60)) min ago"
            case ..<86400: "\(Int(seconds / 3600)) h ago"
            default: "\(Int(seconds / 86400)) days ago"
            }
        })

    static let russian = PageText(
        code: "ru", title: "Шаблоны ответов: что сейчас работает", liveHeading: "Сейчас работает", generation: "Поколение снимка",
        published: "Опубликован", model: "Модель", templates: "Шаблонов", lastSync: "Последняя синхронизация", succeeded: "успешно",
        failed: "ОШИБКА", noSnapshot: "Снимок ещё не опубликован: первая синхронизация не завершилась.",
        noActivity: "С запуска службы синхронизаций ещё не было.", activityProblem: "Историю синхронизаций показать нельзя",
        recentHeading: "Последние синхронизации", noSyncs: "Синхронизаций ещё не было.", time: "Время", file: "Файл (SHA-256)",
        new: "новых", modified: "изменено", metadataOnly: "только метаданные", deleted: "удалено", skipped: "пропущено строк",
        quarantined: "в карантине", embedded: "эмбеддингов", fromCache: "из кэша", duration: "длительность",
        touched: "Шаблоны, которые затронула синхронизация", moreChanges: "ещё не показаны",
        needsFixingHeading: "Строки, которые нужно исправить в таблице",
        nothingToFix: "Таких нет: последняя синхронизация прочитала все строки.", row: "Строка", column: "Столбец",
        reason: "Что сделать", quarantineHeading: "Шаблоны в карантине (сервис эмбеддингов отклонил их текст)", template: "Шаблон",
        since: "С", chartHeading: "Последние синхронизации", chartDuration: "Длительность, секунды", chartEmbedded: "Текстов отправлено на эмбеддинг",
        tryHeading: "Проверить вопрос", questionLabel: "Вопрос клиента", modeLabel: "Поиск", ask: "Найти",
        modes: ["гибридный: смысл и слова", "плотный: только смысл", "лексический: только слова"],
        noResults: "Подходящих шаблонов нет.", score: "Оценка", category: "Категория", subcategory: "Подкатегория",
        question: "Вопрос", answer: "Ответ (как его получит ассистент)",
        refreshNote: "Пока вопрос не задан, страница обновляется каждые 5 секунд.",
        loginTitle: "Вход", tokenLabel: "Токен доступа (SERVE_TOKEN)", signIn: "Войти",
        wrongToken: "Это не тот токен, который задан этому серверу.",
        signOut: "Выйти",
        tooManyTries: "Слишком много неверных токенов за последнюю минуту: подождите минуту и попробуйте снова.",
        crossSite: "Этот вход отправлен не с этой страницы: откройте саму страницу и войдите на ней.",
        kindNames: ["new": "новый", "modified": "изменён", "metadata_only": "изменены метаданные", "deleted": "удалён"],
        skipReasons: [
            "empty-question": "Вопрос пустой, а в строке есть другие данные: заполните вопрос или удалите строку.",
            "empty-answer": "Ответ пустой, а в строке есть другие данные: заполните ответ или удалите строку.",
            "control-character": "В ячейке есть невидимый символ NUL (U+0000), который нельзя сохранить: наберите ячейку заново.",
            "duplicate-identity": "Несколько строк с одним и тем же шаблоном (ID или вопрос): оставьте одну или сделайте их различимыми.",
        ],
        ago: { seconds in
            switch seconds {
            case ..<60: "\(Int(seconds)) с назад"
            case ..<3600: "\(Int(seconds / 60)) мин назад"
            case ..<86400: "\(Int(seconds / 3600)) ч назад"
            default: "\(Int(seconds / 86400)) дн. назад"
            }
        })
}
