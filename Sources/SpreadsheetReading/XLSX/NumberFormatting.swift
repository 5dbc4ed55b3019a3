import Foundation

/// How numeric cell values become the text an editor saw in the cell.
enum NumberFormatting {
    /// Excel's built-in number formats that show dates or times.
    static let builtInDateFormatIDs: Set<Int> = Set(14...22).union(45...47)

    /// A custom format shows a date when, outside quoted text and `[…]` sections, it has date or
    /// time letters (`yyyy-mm-dd`, `h:mm`), as opposed to digit placeholders (`0.00`, `#,##0`).
    static func isDateFormat(_ code: String) -> Bool {
        var inQuote = false
        var inBracket = false
        var previousWasEscape = false
        for character in code.lowercased() {
            if previousWasEscape { previousWasEscape = false; continue }
            switch character {
            case "\\": previousWasEscape = true
            case "\"": inQuote.toggle()
            case "[" where !inQuote: inBracket = true
            case "]" where !inQuote: inBracket = false
            case "y", "d", "h", "s", "m":
                if !inQuote && !inBracket { return true }
            default: continue
            }
        }
        return false
    }

    /// `3` for 3.0, the shortest round-tripping decimal otherwise; the raw text if not a number.
    static func numberText(_ raw: String) -> String {
        guard let value = Double(raw), value.isFinite else { return raw }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// An Excel serial date as ISO 8601 text: `2024-03-01`, or `2024-03-01 14:30:00` with a time.
    static func dateText(_ raw: String, uses1904Dates: Bool) -> String {
        guard let serial = Double(raw), serial.isFinite, serial >= 0, serial < 2_958_466 else { return numberText(raw) }
        // 1899-12-30 absorbs Excel's phantom 1900-02-29 for every date after March 1900.
        let epochOffset: Double = uses1904Dates ? -2_082_844_800 : -2_209_161_600
        let totalSeconds = (serial * 86_400).rounded()
        let date = Date(timeIntervalSince1970: epochOffset + totalSeconds)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        if totalSeconds.truncatingRemainder(dividingBy: 86_400) == 0 { return day }
        if serial < 1 { return String(format: "%02d:%02d:%02d", parts.hour!, parts.minute!, parts.second!) }
        return day + String(format: " %02d:%02d:%02d", parts.hour!, parts.minute!, parts.second!)
    }
}
