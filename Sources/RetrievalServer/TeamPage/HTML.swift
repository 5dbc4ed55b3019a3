/// Builds an HTML document in which everything that is not the page's own markup is escaped.
/// Spreadsheet text, error messages, query text: all of it goes through `text`, never `markup`.
package struct HTML {
    private(set) var output = ""

    /// The page's own markup: literals written in this module, never data.
    mutating func markup(_ literal: StaticString) {
        output += literal.description
    }

    /// Data, escaped for element content and for quoted attribute values alike.
    mutating func text(_ value: some StringProtocol) {
        output += HTML.escape(value)
    }

    /// `<tag attributes>escaped text</tag>`, the common case.
    mutating func element(_ open: StaticString, _ value: some StringProtocol, close: StaticString) {
        markup(open)
        text(value)
        markup(close)
    }

    /// Markup assembled by another builder of this module (the chart).
    mutating func append(_ other: HTML) {
        output += other.output
    }

    package static func escape(_ value: some StringProtocol) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            // Characters HTML forbids (NUL, other C0 controls but tab and line breaks) become U+FFFD.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": escaped += "\u{FFFD}"
            // Bidirectional overrides and isolates would reorder what follows them on screen
            // (a template could make a question read backwards): shown as U+FFFD instead.
            case "\u{202A}"..."\u{202E}", "\u{2066}"..."\u{2069}": escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
