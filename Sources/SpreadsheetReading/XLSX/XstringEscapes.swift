/// Office Open XML's escapes in cell text (ST_Xstring, ECMA-376 Part 1, 22.9.2.19).
///
/// XML 1.0 cannot carry most control characters, so writers spell a UTF-16 code unit as
/// `_xHHHH_` (Excel writes a carriage return as `_x000D_`). Text that merely looks like an escape
/// has its underscore escaped as `_x005F_`: xlsxwriter writes the literal `_x0041_` as
/// `_x005F_x0041_`. Excel, LibreOffice, openpyxl and calamine all decode both; so does faqsync.
///
/// A surrogate pair written as two escapes becomes one character; an unpaired surrogate, which
/// no string can hold, is left as the text it was.
enum XstringEscapes {
    static func decode(_ text: String) -> String {
        // Fast path: almost every cell has no escape at all (memchr: the generic `contains` on
        // the UTF-8 view was 9 % of reading a 10,000-template sheet).
        guard text.utf8.count >= 7, text.containsByte(Int32(UInt8(ascii: "_"))) else { return text }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        var changed = false
        output.reserveCapacity(bytes.count)
        while index < bytes.count {
            if let unit = codeUnit(bytes, at: index) {
                if UTF16.isLeadSurrogate(unit), let trail = codeUnit(bytes, at: index + 7), UTF16.isTrailSurrogate(trail) {
                    let scalar = Unicode.Scalar(0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(trail) - 0xDC00))
                    if let scalar { append(scalar, to: &output); index += 14; changed = true; continue }
                } else if unit == 0x0D, index + 7 < bytes.count, bytes[index + 7] == UInt8(ascii: "\n") {
                    // `_x000D_` then a line feed is Windows' CR LF: one line break, as Excel shows it.
                    index += 7
                    changed = true
                    continue
                } else if let scalar = Unicode.Scalar(unit) {
                    append(scalar, to: &output)
                    index += 7
                    changed = true
                    continue
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return changed ? String(decoding: output, as: UTF8.self) : text
    }

    /// The code unit of an `_xHHHH_` escape starting at `index`, if one starts there.
    private static func codeUnit(_ bytes: [UInt8], at index: Int) -> UInt16? {
        guard index + 7 <= bytes.count, bytes[index] == UInt8(ascii: "_"), bytes[index + 1] == UInt8(ascii: "x"),
              bytes[index + 6] == UInt8(ascii: "_") else { return nil }
        var value: UInt16 = 0
        for offset in 2..<6 {
            guard let digit = hexValue(bytes[index + offset]) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func append(_ scalar: Unicode.Scalar, to output: inout [UInt8]) {
        var buffer: [UInt8] = []
        UTF8.encode(scalar) { buffer.append($0) }
        output += buffer
    }
}
