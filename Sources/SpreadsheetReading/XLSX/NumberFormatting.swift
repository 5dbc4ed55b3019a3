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
    ///
    /// Plain calendar arithmetic on the serial (no `Calendar`, nothing to unwrap): the serial is
    /// bounded to Excel's last date, 9999-12-31, before anything is computed from it.
    static func dateText(_ raw: String, uses1904Dates: Bool) -> String {
        guard let serial = Double(raw), serial.isFinite, serial >= 0, serial < 2_958_466 else { return numberText(raw) }
        // 1899-12-30 absorbs Excel's phantom 1900-02-29 for every date after March 1900.
        let epochDay = uses1904Dates ? -24_107 : -25_569     // days from 1970-01-01
        let totalSeconds = Int((serial * 86_400).rounded())
        let dayNumber = totalSeconds / 86_400
        let secondOfDay = totalSeconds % 86_400
        let (year, month, day) = civilDate(daysSince1970: epochDay + dayNumber)
        let date = String(format: "%04d-%02d-%02d", year, month, day)
        if secondOfDay == 0 { return date }
        let time = String(format: "%02d:%02d:%02d", secondOfDay / 3_600, secondOfDay % 3_600 / 60, secondOfDay % 60)
        return serial < 1 ? time : "\(date) \(time)"
    }

    /// Proleptic Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's
    /// `civil_from_days`).
    static func civilDate(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
