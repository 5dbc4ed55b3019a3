import Foundation
import RetrievalChecks
import SyncActivity

/// The FAQ team's checks on the page: the result in plain words, a new model version held back
/// by them (with both scores), and every miss with what came first instead.
extension TeamPage {
    struct ChecksText: Sendable {
        let heading: String
        let none: String
        let checkedWith: @Sendable (_ model: String, _ generation: UInt64, _ when: String) -> String
        let held: @Sendable (_ candidate: String, _ current: String, _ candidateTop3: Int, _ currentTop3: Int, _ total: Int, _ command: String) -> String
        let madeCurrent: @Sendable (_ candidate: String) -> String
        let missesHeading: String
        let question: String
        let expected: String
        let place: String
        let cameFirst: String
        let notInTopTen: String
        let skippedHeading: String

        static let russian = ChecksText(
            heading: "Проверки команды FAQ",
            none: "Проверок нет. Добавьте в таблицу лист «Проверка» с колонками «Вопрос клиента» и «Ожидаемый шаблон» (вопрос шаблона или его id): после каждой синхронизации faqsync проверит, находит ли поиск нужные шаблоны.",
            checkedWith: { model, generation, when in "Модель \(model), поколение снимка \(generation), проверено \(when)." },
            held: { candidate, current, candidateTop3, currentTop3, total, command in
                "Новая модель \(candidate) собрана, но не включена: с ней нужный шаблон в первой тройке у \(candidateTop3) из \(total) вопросов, с работающей моделью (\(current)) — у \(currentTop3). Исправьте проверки или настройку модели; включить её всё равно: \(command)."
            },
            madeCurrent: { candidate in "Новая модель \(candidate) включена: по проверкам она не хуже прежней." },
            missesHeading: "Вопросы, для которых нужный шаблон не в первой тройке",
            question: "Вопрос клиента", expected: "Нужный шаблон", place: "Место", cameFirst: "Первым нашёлся",
            notInTopTen: "не в первой десятке", skippedHeading: "Строки листа проверок, которые не указывают на шаблон")

        static let english = ChecksText(
            heading: "The FAQ team's checks",
            none: "No checks yet. Add a sheet named «Проверка» (or Checks) with the columns «Вопрос клиента» and «Ожидаемый шаблон» (Question, Expected template: the template's question or id): after each sync faqsync checks that search finds those templates.",
            checkedWith: { model, generation, when in "Model \(model), snapshot generation \(generation), checked \(when)." },
            held: { candidate, current, candidateTop3, currentTop3, total, command in
                "The new model \(candidate) was built but is not serving: with it \(candidateTop3) of \(total) questions find their template in the top 3, with the current model (\(current)) \(currentTop3). Fix the checks or the model settings; to switch anyway: \(command)."
            },
            madeCurrent: { candidate in "The new model \(candidate) is serving: the checks found it no worse." },
            missesHeading: "Questions whose template is not in the top 3",
            question: "Customer question", expected: "Expected template", place: "Place", cameFirst: "Came first",
            notInTopTen: "not in the top 10", skippedHeading: "Check rows that name no template")
    }

    func checks(_ html: inout HTML) {
        let words = language == .russian ? ChecksText.russian : ChecksText.english
        html.markup("<section id=\"checks\">")
        html.element("<h2>", words.heading, close: "</h2>")
        if let cutOver = activity?.cutOver {
            if cutOver.madeCurrent {
                html.element("<p class=\"ok\" id=\"cut-over\">", words.madeCurrent(cutOver.candidateModel), close: "</p>")
            } else {
                let command = "faqsync versions set \(cutOver.candidateVersionID.map(String.init) ?? "<id>") --force"
                html.element("<p class=\"problem\" id=\"cut-over\">",
                             words.held(cutOver.candidateModel, cutOver.currentModel, cutOver.candidateScore?.top3 ?? 0,
                                        cutOver.currentScore?.top3 ?? 0, cutOver.candidateScore?.total ?? 0, command), close: "</p>")
            }
        }
        guard let report = activity?.checks, let primary = report.primary, primary.total > 0 else {
            html.element("<p id=\"checks-result\">", activity?.checks?.problem.map { "\(words.none) (\($0))" } ?? words.none, close: "</p>")
            html.markup("</section>")
            return
        }
        html.element(primary.top3 == primary.total ? "<p class=\"ok\" id=\"checks-result\">" : "<p id=\"checks-result\">",
                     report.sentence(russian: language == .russian), close: "</p>")
        html.element("<p class=\"note\">", words.checkedWith("\(report.modelName) \(report.modelVersion)", report.generation, timestamp(report.checkedAt)), close: "</p>")
        if !report.misses.isEmpty {
            html.element("<h3>", words.missesHeading, close: "</h3>")
            html.markup("<table id=\"check-misses\">")
            headings(&html, [text.row, words.question, words.expected, words.place, words.cameFirst])
            html.markup("<tbody>")
            for miss in report.misses.prefix(SyncActivity.listedPerRun) {
                html.markup("<tr class=\"miss\">")
                html.element("<td class=\"number\">", "\(miss.row)", close: "</td>")
                html.element("<td>", miss.question, close: "</td>")
                html.element("<td>", miss.expectedQuestion, close: "</td>")
                html.element("<td class=\"number\">", miss.rank.map(String.init) ?? words.notInTopTen, close: "</td>")
                html.element("<td>", miss.firstQuestion ?? "-", close: "</td>")
                html.markup("</tr>")
            }
            html.markup("</tbody></table>")
        }
        if !report.skipped.isEmpty {
            html.element("<h3>", words.skippedHeading, close: "</h3>")
            html.markup("<table id=\"check-skipped\">")
            headings(&html, [text.row, text.reason])
            html.markup("<tbody>")
            for skipped in report.skipped.prefix(SyncActivity.listedPerRun) {
                html.markup("<tr class=\"skipped\">")
                html.element("<td class=\"number\">", "\(skipped.row)", close: "</td>")
                html.element("<td>", skipped.reason, close: "</td>")
                html.markup("</tr>")
            }
            html.markup("</tbody></table>")
        }
        html.markup("</section>")
    }
}
