import Foundation
import SyncActivity

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

/// Every phrase the page shows, in one language, in the words of the people who edit the FAQ;
/// engineers' terms (generation, model, hashes) appear only under "details for operators".
/// Spreadsheet text is shown as it is.
struct PageText: Sendable {
    let code: String
    let title: String
    let liveHeading: String
    /// "201 answer templates from faq.xlsx, published 2026-12-05 15:41:07 (Europe/Minsk), 3 min ago."
    let liveSummary: @Sendable (_ templates: Int, _ file: String?, _ published: String, _ ago: String) -> String
    let operatorDetails: String
    /// The summary over the program's own error message.
    let programMessage: String
    let secondsUnit: String
    let generation: String
    let published: String
    let model: String
    let fileHash: String
    let templates: String
    let lastSync: String
    let succeeded: String
    let failed: String
    let keepsServing: String
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
    let lastSaveUnread: String
    let fromLastReadVersion: String
    let row: String
    let column: String
    let reason: String
    let quarantineHeading: String
    let template: String
    let since: String
    let chartHeading: String
    let chartDuration: String
    let chartEmbedded: String
    /// Before the tallest bar's value at the top of a chart.
    let chartLargest: String
    let tryHeading: String
    let questionLabel: String
    let modeLabel: String
    let ask: String
    let modes: [String]
    let noResults: String
    let score: String
    let templateID: String
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
    /// What went wrong with a save, for the person who saved it.
    let problem: @Sendable (SyncActivity.Problem) -> String
    let ago: @Sendable (TimeInterval) -> String

    static let english = PageText(
        code: "en", title: "FAQ answers: what the assistant uses", liveHeading: "What the assistant uses now",
        liveSummary: { count, file, published, ago in
            "\(count) answer template\(count == 1 ? "" : "s")\(file.map { " from “\($0)”" } ?? ""), published \(published), \(ago)."
        },
        operatorDetails: "Details for operators", programMessage: "The program's message, for operators", secondsUnit: "s", generation: "Snapshot generation",
        published: "Published", model: "Model", fileHash: "File (SHA-256)", templates: "Templates", lastSync: "Last save",
        succeeded: "applied", failed: "NOT APPLIED",
        keepsServing: "The assistant keeps using the last good version until the file is saved again without the problem.",
        noSnapshot: "Nothing is live yet: the first sync has not finished.",
        noActivity: "No save has been synced since the service started.", activityProblem: "The history of saves cannot be shown",
        recentHeading: "Recent saves", noSyncs: "No saves yet.", time: "Time", file: "File", new: "added",
        modified: "changed", metadataOnly: "other columns only", deleted: "removed", skipped: "rows skipped",
        quarantined: "refused by the model", embedded: "texts sent to the model", fromCache: "reused", duration: "took",
        touched: "Answers this save changed", moreChanges: "more not listed", needsFixingHeading: "Rows to fix in the spreadsheet",
        nothingToFix: "Nothing: every row of the last save was read.",
        lastSaveUnread: "The last save could not be read, so its rows were not checked. Fix the problem above and save again.",
        fromLastReadVersion: "Rows skipped in the last version that could be read:",
        row: "Row", column: "Column", reason: "What to do",
        quarantineHeading: "Answers the model refused (the embedding service rejected their text)", template: "Template",
        since: "Since", chartHeading: "The last saves", chartDuration: "Time taken, seconds", chartEmbedded: "Texts sent to the model", chartLargest: "largest:",
        tryHeading: "Try a question", questionLabel: "A customer's question", modeLabel: "Find by", ask: "Find",
        modes: ["meaning and words (recommended)", "meaning only", "exact words only"],
        noResults: "No answer matches.", score: "fits", templateID: "template id", category: "Category", subcategory: "Subcategory",
        question: "Question", answer: "Answer (as the assistant gets it)",
        refreshNote: "This page reloads itself every 5 seconds while no question is asked.",
        loginTitle: "Sign in", tokenLabel: "Access token (SERVE_TOKEN)", signIn: "Sign in",
        wrongToken: "That token is not the one this server was given.",
        signOut: "Sign out",
        tooManyTries: "Too many wrong tokens in the last minute: wait a minute and try again.",
        crossSite: "This sign-in did not come from this page: open the page itself and sign in there.",
        kindNames: ["new": "added", "modified": "changed", "metadata_only": "other columns changed", "deleted": "removed"],
        skipReasons: [
            "empty-question": "The question is empty but the row has other content: fill in the question or delete the row.",
            "empty-answer": "The answer is empty but the row has other content: fill in the answer or delete the row.",
            "control-character": "A cell holds an invisible NUL character (U+0000) that cannot be stored: type the cell again.",
            "duplicate-identity": "Several rows are the same template (same ID or question): keep one, or make them different.",
        ],
        problem: EditorProblems.english,
        ago: { seconds in
            switch seconds {
            case ..<60: "\(Int(seconds)) s ago"
            case ..<3600: "\(Int(seconds / 60)) min ago"
            case ..<86400: "\(Int(seconds / 3600)) h ago"
            default: "\(Int(seconds / 86400)) days ago"
            }
        })

    static let russian = PageText(
        code: "ru", title: "Ответы FAQ: что использует ассистент", liveHeading: "Что сейчас использует ассистент",
        liveSummary: { count, file, published, ago in
            "Шаблонов ответов: \(count)\(file.map { ", из файла «\($0)»" } ?? ""); опубликованы \(published), \(ago)."
        },
        operatorDetails: "Подробности для администратора", programMessage: "Сообщение программы, для администратора", secondsUnit: "с", generation: "Поколение снимка",
        published: "Опубликован", model: "Модель", fileHash: "Файл (SHA-256)", templates: "Шаблонов", lastSync: "Последнее сохранение",
        succeeded: "применено", failed: "НЕ ПРИМЕНЕНО",
        keepsServing: "Ассистент продолжает работать с последней исправной версией, пока файл не сохранят без этой ошибки.",
        noSnapshot: "Пока ничего не опубликовано: первая синхронизация не завершилась.",
        noActivity: "С запуска службы сохранений ещё не было.", activityProblem: "Историю сохранений показать нельзя",
        recentHeading: "Последние сохранения", noSyncs: "Сохранений ещё не было.", time: "Время", file: "Файл",
        new: "добавлено", modified: "изменено", metadataOnly: "только другие столбцы", deleted: "удалено", skipped: "строк пропущено",
        quarantined: "не принято моделью", embedded: "отправлено модели", fromCache: "взято готовыми", duration: "заняло",
        touched: "Что изменило сохранение", moreChanges: "ещё не показаны",
        needsFixingHeading: "Строки, которые нужно исправить в таблице",
        nothingToFix: "Таких нет: все строки последнего сохранения прочитаны.",
        lastSaveUnread: "Последнее сохранение прочитать не удалось, поэтому его строки не проверены. Исправьте ошибку выше и сохраните файл снова.",
        fromLastReadVersion: "Строки, пропущенные в последней версии, которую удалось прочитать:",
        row: "Строка", column: "Столбец",
        reason: "Что сделать", quarantineHeading: "Ответы, которые модель не приняла (сервис отклонил их текст)", template: "Шаблон",
        since: "С", chartHeading: "Последние сохранения", chartDuration: "Сколько заняло, секунды", chartEmbedded: "Текстов отправлено модели", chartLargest: "наибольшее:",
        tryHeading: "Проверить вопрос", questionLabel: "Вопрос клиента", modeLabel: "Искать", ask: "Найти",
        modes: ["по смыслу и словам (рекомендуется)", "только по смыслу", "только по точным словам"],
        noResults: "Подходящих ответов нет.", score: "подходит на", templateID: "идентификатор шаблона", category: "Категория",
        subcategory: "Подкатегория", question: "Вопрос", answer: "Ответ (как его получит ассистент)",
        refreshNote: "Пока вопрос не задан, страница обновляется каждые 5 секунд.",
        loginTitle: "Вход", tokenLabel: "Токен доступа (SERVE_TOKEN)", signIn: "Войти",
        wrongToken: "Это не тот токен, который задан этому серверу.",
        signOut: "Выйти",
        tooManyTries: "Слишком много неверных токенов за последнюю минуту: подождите минуту и попробуйте снова.",
        crossSite: "Этот вход отправлен не с этой страницы: откройте саму страницу и войдите на ней.",
        kindNames: ["new": "добавлен", "modified": "изменён", "metadata_only": "изменены другие столбцы", "deleted": "удалён"],
        skipReasons: [
            "empty-question": "Вопрос пустой, а в строке есть другие данные: заполните вопрос или удалите строку.",
            "empty-answer": "Ответ пустой, а в строке есть другие данные: заполните ответ или удалите строку.",
            "control-character": "В ячейке есть невидимый символ NUL (U+0000), который нельзя сохранить: наберите ячейку заново.",
            "duplicate-identity": "Несколько строк с одним и тем же шаблоном (ID или вопрос): оставьте одну или сделайте их различимыми.",
        ],
        problem: EditorProblems.russian,
        ago: { seconds in
            switch seconds {
            case ..<60: "\(Int(seconds)) с назад"
            case ..<3600: "\(Int(seconds / 60)) мин назад"
            case ..<86400: "\(Int(seconds / 3600)) ч назад"
            default: "\(Int(seconds / 86400)) дн. назад"
            }
        })
}

/// A failed save in the editor's terms, by the error's code: what happened to *their file* and
/// what to do in Excel or LibreOffice. The full error stays under "details for operators".
enum EditorProblems {
    static func quoted(_ names: [String], _ open: String, _ close: String) -> String {
        names.map { "\(open)\($0)\(close)" }.joined(separator: ", ")
    }

    static let english: @Sendable (SyncActivity.Problem) -> String = { problem in
        let file = problem.fileName.map { "“\($0)”" } ?? "The spreadsheet"
        switch problem.code {
        case "file-not-found":
            return "\(file) was not found where the service looks for it: was it moved or renamed? Save it under its old name."
        case "header-not-found":
            let missing = problem.missingColumns.isEmpty ? "the FAQ columns" : "the column\(problem.missingColumns.count == 1 ? "" : "s") \(quoted(problem.missingColumns, "“", "”"))"
            let found = problem.foundHeaders.isEmpty ? "" : " The first row now has: \(quoted(problem.foundHeaders, "“", "”"))."
            return "\(file): \(missing) \(problem.missingColumns.count == 1 ? "was" : "were") not found in the header row.\(found) Give the columns their usual names again and save."
        case "sheet-not-found":
            return "\(file) has no sheet with the FAQ: was the sheet renamed or deleted? Restore it and save."
        case "not-a-zip", "truncated", "not-a-workbook":
            return "\(file) could not be opened as an Excel workbook: it may have been saved only partly, or in another format. Save it again as .xlsx."
        case "password-protected":
            return "\(file) is protected with a password, so the service cannot read it. Save it without a password."
        case "legacy-format":
            return "\(file) is in the old Excel 97–2003 format (.xls). Save it as an Excel workbook (.xlsx)."
        case "invalid-encoding":
            return "\(file) is not in UTF-8. Save it again as .xlsx, or as CSV in UTF-8."
        case "limit-exceeded", "zip-bomb":
            return "\(file) is larger than the service accepts. Check that nothing big (pictures, other sheets) was pasted in, and save again."
        default:
            return "The last save could not be applied. The details below are for whoever runs the service."
        }
    }

    static let russian: @Sendable (SyncActivity.Problem) -> String = { problem in
        let file = problem.fileName.map { "Файл «\($0)»" } ?? "Таблица"
        switch problem.code {
        case "file-not-found":
            return "\(file) не найден там, где его ищет служба: его переместили или переименовали? Сохраните его под прежним именем."
        case "header-not-found":
            let plural = problem.missingColumns.count > 1
            let missing = problem.missingColumns.isEmpty ? "столбцы FAQ" : "\(plural ? "столбцы" : "столбец") \(quoted(problem.missingColumns, "«", "»"))"
            let found = problem.foundHeaders.isEmpty ? "" : " Сейчас в первой строке: \(quoted(problem.foundHeaders, "«", "»"))."
            return "\(file): в строке заголовков не \(plural ? "найдены" : "найден") \(missing).\(found) Верните столбцам привычные названия и сохраните файл."
        case "sheet-not-found":
            return "\(file): нет листа с FAQ. Лист переименовали или удалили? Верните его и сохраните файл."
        case "not-a-zip", "truncated", "not-a-workbook":
            return "\(file) не удалось открыть как книгу Excel: возможно, он сохранился не полностью или в другом формате. Сохраните его ещё раз в формате .xlsx."
        case "password-protected":
            return "\(file) защищён паролем, и служба не может его прочитать. Сохраните его без пароля."
        case "legacy-format":
            return "\(file) в старом формате Excel 97–2003 (.xls). Сохраните его как книгу Excel (.xlsx)."
        case "invalid-encoding":
            return "\(file) не в кодировке UTF-8. Сохраните его ещё раз как .xlsx или как CSV в UTF-8."
        case "limit-exceeded", "zip-bomb":
            return "\(file) больше, чем принимает служба. Проверьте, не вставлено ли что-то большое (картинки, другие листы), и сохраните снова."
        default:
            return "Последнее сохранение применить не удалось. Подробности ниже — для администратора службы."
        }
    }
}
