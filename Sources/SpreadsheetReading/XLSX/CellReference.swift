/// A1-style cell references, parsed with the format's limits: a reference beyond column XFD or
/// row 1,048,576 is refused as it is read, so no arithmetic on it can overflow and no
/// allocation is sized by it.
enum CellReference {
    /// A parsed reference: `AB12` → column 27, row 12. Either part may be absent (`AB`, `12`).
    struct Parsed: Equatable {
        let column: Int?
        let row: Int?
    }

    /// Parses `AB12`, `$AB$12`, `AB` or `12`. Nil when the text is not a reference or names a
    /// cell outside `SheetDimensions`.
    static func parse<Bytes: Collection>(_ reference: Bytes) -> Parsed? where Bytes.Element == UInt8 {
        var index = reference.startIndex
        func skipDollar() {
            if index < reference.endIndex, reference[index] == UInt8(ascii: "$") { index = reference.index(after: index) }
        }
        skipDollar()
        var column = 0
        var letters = 0
        while index < reference.endIndex {
            let upper = reference[index] & 0xDF
            guard upper >= 0x41, upper <= 0x5A else { break }
            column = column * 26 + Int(upper - 0x40)
            letters += 1
            // Checked per letter: at most 4 letters reach this line, so `column` stays small.
            guard column <= SheetDimensions.maxColumns else { return nil }
            index = reference.index(after: index)
        }
        skipDollar()
        var row = 0
        var digits = 0
        while index < reference.endIndex {
            let byte = reference[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            row = row * 10 + Int(byte - 0x30)
            digits += 1
            guard row <= SheetDimensions.maxRows else { return nil }
            index = reference.index(after: index)
        }
        guard letters > 0 || digits > 0 else { return nil }
        if digits > 0, row == 0 { return nil }
        return Parsed(column: letters > 0 ? column - 1 : nil, row: digits > 0 ? row : nil)
    }

    /// A range such as `A1:C4` (both corners complete), nil when malformed or out of limits.
    static func range<Bytes: Collection>(_ reference: Bytes) -> MergedRange? where Bytes.Element == UInt8 {
        guard let colon = reference.firstIndex(of: UInt8(ascii: ":")),
              let first = parse(reference[reference.startIndex..<colon]),
              let last = parse(reference[reference.index(after: colon)...]),
              let firstColumn = first.column, let firstRow = first.row,
              let lastColumn = last.column, let lastRow = last.row else { return nil }
        return MergedRange(rows: min(firstRow, lastRow)...max(firstRow, lastRow),
                           columns: min(firstColumn, lastColumn)...max(firstColumn, lastColumn))
    }

    /// `0` → `A`, `27` → `AB`.
    static func letters(forColumn index: Int) -> String {
        var result: [UInt8] = []
        var remaining = max(0, index) + 1
        while remaining > 0 {
            result.append(UInt8(65 + (remaining - 1) % 26))
            remaining = (remaining - 1) / 26
        }
        return String(decoding: result.reversed(), as: UTF8.self)
    }
}

/// Decimal integers from a file, bounded: nil for anything but digits or a value above `maximum`,
/// checked digit by digit so it never overflows.
enum BoundedInteger {
    static func parse<Bytes: Collection>(_ digits: Bytes, maximum: Int) -> Int? where Bytes.Element == UInt8 {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = shifted + Int(byte - 0x30)
            guard value <= maximum else { return nil }
        }
        return value
    }
}
