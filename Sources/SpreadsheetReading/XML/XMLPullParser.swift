/// A minimal pull parser for the XML parts of a spreadsheet package.
///
/// Why not FoundationXML's `XMLParser`: on Linux it reports success for truncated documents, splits
/// text at entities, allocates a `String` per element name and attribute, and resolves DTDs. The
/// parts of an xlsx file use a tiny subset of XML, so a byte scanner that refuses everything outside
/// that subset is both safer and an order of magnitude faster.
///
/// What it refuses: a `<!DOCTYPE` (and with it every entity declaration and external entity), any
/// named entity other than the five predefined ones, a document that ends with open elements, and
/// nesting deeper than `maxDepth` (the stack of open elements is the only memory it grows).
struct XMLPullParser {
    enum Token {
        /// A start tag. `selfClosing` tags produce no matching `.end`.
        case start(XMLTag)
        case end(localName: Range<Int>)
        /// Character data between tags; `hasReferences` tells whether `&…;` decoding is needed.
        case text(Range<Int>, hasReferences: Bool)
        case cdata(Range<Int>)
    }

    let bytes: [UInt8]
    let partName: String
    let maxDepth: Int
    private(set) var position = 0
    private var openElements: [Range<Int>] = []

    static let defaultMaxDepth = 256

    init(bytes: [UInt8], partName: String, maxDepth: Int = XMLPullParser.defaultMaxDepth) {
        self.bytes = bytes
        self.partName = partName
        self.maxDepth = maxDepth
    }

    var depth: Int { openElements.count }

    mutating func next() throws -> Token? {
        let count = bytes.count
        while position < count {
            if bytes[position] != UInt8(ascii: "<") {
                let start = position
                var hasReferences = false
                while position < count, bytes[position] != UInt8(ascii: "<") {
                    if bytes[position] == UInt8(ascii: "&") { hasReferences = true }
                    position += 1
                }
                return .text(start..<position, hasReferences: hasReferences)
            }
            // bytes[position] == "<"
            guard position + 1 < count else { throw truncated() }
            let marker = bytes[position + 1]
            if marker == UInt8(ascii: "?") {
                try skip(past: [UInt8(ascii: "?"), UInt8(ascii: ">")])
                continue
            }
            if marker == UInt8(ascii: "!") {
                if hasPrefix("<!--") {
                    try skip(past: Array("-->".utf8))
                    continue
                }
                if hasPrefix("<![CDATA[") {
                    let start = position + 9
                    try skip(past: Array("]]>".utf8))
                    return .cdata(start..<(position - 3))
                }
                if hasPrefix("<!DOCTYPE") || hasPrefix("<!doctype") {
                    throw XMLError(part: partName, offset: position, reason: .doctypeForbidden)
                }
                throw XMLError(part: partName, offset: position, reason: .malformed("unexpected '<!'"))
            }
            if marker == UInt8(ascii: "/") {
                let nameStart = position + 2
                var cursor = nameStart
                while cursor < count, !isNameTerminator(bytes[cursor]) { cursor += 1 }
                let name = nameStart..<cursor
                while cursor < count, bytes[cursor] != UInt8(ascii: ">") { cursor += 1 }
                guard cursor < count else { throw truncated() }
                position = cursor + 1
                guard let open = openElements.popLast() else {
                    throw XMLError(part: partName, offset: nameStart, reason: .malformed("closing tag without an opening tag"))
                }
                guard bytes[open] == bytes[name] else {
                    throw XMLError(part: partName, offset: nameStart, reason: .malformed(
                        "closing tag </\(string(name))> does not match <\(string(open))>"))
                }
                return .end(localName: localName(of: name))
            }
            return .start(try startTag())
        }
        if !openElements.isEmpty { throw truncated() }
        return nil
    }

    // MARK: Reading values

    /// The decoded text of a `.text` token.
    func text(_ range: Range<Int>, hasReferences: Bool) throws -> String {
        if !hasReferences { return String(decoding: bytes[range], as: UTF8.self) }
        var output: [UInt8] = []
        output.reserveCapacity(range.count)
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "&") else {
                output.append(byte)
                index += 1
                continue
            }
            var end = index + 1
            while end < range.upperBound, bytes[end] != UInt8(ascii: ";"), end - index < 12 { end += 1 }
            guard end < range.upperBound, bytes[end] == UInt8(ascii: ";") else {
                throw XMLError(part: partName, offset: index, reason: .malformed("unterminated character reference"))
            }
            let reference = bytes[(index + 1)..<end]
            try appendReference(reference, at: index, to: &output)
            index = end + 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// Whether the bytes in `range` equal an ASCII literal, without allocating.
    func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { literalBytes in
            var index = range.lowerBound
            for byte in literalBytes {
                if bytes[index] != byte { return false }
                index += 1
            }
            return true
        }
    }

    /// The value of the attribute whose local name is `name`, decoded.
    func attribute(_ name: StaticString, of tag: XMLTag) throws -> String? {
        guard let range = attributeRange(name, of: tag) else { return nil }
        return try text(range, hasReferences: bytes[range].contains(UInt8(ascii: "&")))
    }

    /// The raw byte range of an attribute's value (no reference decoding), for numbers and cell refs.
    func attributeRange(_ name: StaticString, of tag: XMLTag) -> Range<Int>? {
        var cursor = tag.attributes.lowerBound
        let end = tag.attributes.upperBound
        while cursor < end {
            while cursor < end, isSpace(bytes[cursor]) { cursor += 1 }
            let nameStart = cursor
            while cursor < end, bytes[cursor] != UInt8(ascii: "="), !isSpace(bytes[cursor]) { cursor += 1 }
            let attributeName = localName(of: nameStart..<cursor)
            while cursor < end, bytes[cursor] != UInt8(ascii: "\""), bytes[cursor] != UInt8(ascii: "'") { cursor += 1 }
            guard cursor < end else { return nil }
            let quote = bytes[cursor]
            let valueStart = cursor + 1
            cursor = valueStart
            while cursor < end, bytes[cursor] != quote { cursor += 1 }
            let value = valueStart..<min(cursor, end)
            cursor += 1
            if equals(attributeName, name) { return value }
        }
        return nil
    }

    // MARK: Internals

    private mutating func startTag() throws -> XMLTag {
        let count = bytes.count
        let nameStart = position + 1
        var cursor = nameStart
        while cursor < count, !isNameTerminator(bytes[cursor]) { cursor += 1 }
        let name = nameStart..<cursor
        guard !name.isEmpty else {
            throw XMLError(part: partName, offset: position, reason: .malformed("empty element name"))
        }
        let attributesStart = cursor
        var quote: UInt8? = nil
        while cursor < count {
            let byte = bytes[cursor]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                break
            }
            cursor += 1
        }
        guard cursor < count else { throw truncated() }
        let selfClosing = cursor > attributesStart && bytes[cursor - 1] == UInt8(ascii: "/")
        let attributes = attributesStart..<(selfClosing ? cursor - 1 : cursor)
        if !selfClosing {
            guard openElements.count < maxDepth else {
                throw XMLError(part: partName, offset: position, reason: .tooDeep(limit: maxDepth))
            }
            openElements.append(name)
        }
        position = cursor + 1
        return XMLTag(localName: localName(of: name), attributes: attributes, selfClosing: selfClosing)
    }

    private func appendReference(_ reference: ArraySlice<UInt8>, at offset: Int, to output: inout [UInt8]) throws {
        switch Array(reference) {
        case Array("amp".utf8): output.append(UInt8(ascii: "&"))
        case Array("lt".utf8): output.append(UInt8(ascii: "<"))
        case Array("gt".utf8): output.append(UInt8(ascii: ">"))
        case Array("quot".utf8): output.append(UInt8(ascii: "\""))
        case Array("apos".utf8): output.append(UInt8(ascii: "'"))
        default:
            guard reference.first == UInt8(ascii: "#") else {
                throw XMLError(part: partName, offset: offset, reason: .entityForbidden(String(decoding: reference, as: UTF8.self)))
            }
            let digits = reference.dropFirst()
            let scalarValue: UInt32?
            if digits.first == UInt8(ascii: "x") || digits.first == UInt8(ascii: "X") {
                scalarValue = UInt32(String(decoding: digits.dropFirst(), as: UTF8.self), radix: 16)
            } else {
                scalarValue = UInt32(String(decoding: digits, as: UTF8.self), radix: 10)
            }
            guard let value = scalarValue, let scalar = Unicode.Scalar(value) else {
                throw XMLError(part: partName, offset: offset, reason: .malformed("invalid character reference"))
            }
            output.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
    }

    private mutating func skip(past terminator: [UInt8]) throws {
        let count = bytes.count
        var cursor = position
        while cursor + terminator.count <= count {
            if bytes[cursor] == terminator[0], bytes[cursor..<(cursor + terminator.count)].elementsEqual(terminator) {
                position = cursor + terminator.count
                return
            }
            cursor += 1
        }
        throw truncated()
    }

    private func hasPrefix(_ literal: String) -> Bool {
        let prefix = Array(literal.utf8)
        guard position + prefix.count <= bytes.count else { return false }
        return bytes[position..<(position + prefix.count)].elementsEqual(prefix)
    }

    /// `x:row` → `row`: some writers prefix the main namespace.
    private func localName(of name: Range<Int>) -> Range<Int> {
        var cursor = name.upperBound - 1
        while cursor >= name.lowerBound {
            if bytes[cursor] == UInt8(ascii: ":") { return (cursor + 1)..<name.upperBound }
            cursor -= 1
        }
        return name
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private func isNameTerminator(_ byte: UInt8) -> Bool {
        isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/")
    }

    private func truncated() -> XMLError {
        XMLError(part: partName, offset: bytes.count, reason: .truncated(openElements: openElements.count))
    }
}

struct XMLTag {
    let localName: Range<Int>
    let attributes: Range<Int>
    let selfClosing: Bool
}

struct XMLError: Error, Sendable {
    enum Reason: Sendable {
        case truncated(openElements: Int)
        case doctypeForbidden
        case entityForbidden(String)
        case malformed(String)
        case tooDeep(limit: Int)
    }

    let part: String
    let offset: Int
    let reason: Reason

    var explanation: String {
        switch reason {
        case .truncated(let open):
            "\(part) ends in the middle of the document (\(open) element(s) still open): the file is truncated or was caught half-saved"
        case .doctypeForbidden:
            "\(part) contains a DOCTYPE declaration, which spreadsheet files never need; it is refused because DTDs and entities can expand without bound or read other files"
        case .entityForbidden(let name):
            "\(part) uses the undeclared entity '&\(name);' (byte \(offset)); only the five predefined XML entities are accepted"
        case .malformed(let detail):
            "\(part) is not well-formed XML at byte \(offset): \(detail)"
        case .tooDeep(let limit):
            "\(part) nests elements more than \(limit) deep (byte \(offset)); spreadsheet parts nest about ten deep"
        }
    }
}
