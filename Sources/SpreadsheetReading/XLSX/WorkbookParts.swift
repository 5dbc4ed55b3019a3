import PathNames

/// The small parts of a workbook: sheet list, relationships, shared strings and cell styles.
/// Each parse function takes the inflated bytes of one part.
enum WorkbookParts {
    struct Sheet {
        let name: String
        let relationshipID: String
    }

    struct Relationship {
        let id: String
        let type: String
        let target: String
    }

    struct Workbook {
        let sheets: [Sheet]
        /// Dates count from 1904-01-01 instead of 1899-12-30 (old Mac workbooks).
        let uses1904Dates: Bool
    }

    static func workbook(_ bytes: [UInt8], part: String, maxDepth: Int) throws -> Workbook {
        var parser = XMLPullParser(bytes: bytes, partName: part, maxDepth: maxDepth)
        var sheets: [Sheet] = []
        var uses1904 = false
        while let token = try parser.next() {
            guard case .start(let tag) = token else { continue }
            if parser.equals(tag.localName, "sheet"),
               let name = try parser.attribute("name", of: tag),
               let id = try parser.attribute("id", of: tag) {
                sheets.append(Sheet(name: name, relationshipID: id))
            } else if parser.equals(tag.localName, "workbookPr") {
                let flag = try parser.attribute("date1904", of: tag)
                uses1904 = flag == "1" || flag == "true"
            }
        }
        return Workbook(sheets: sheets, uses1904Dates: uses1904)
    }

    static func relationships(_ bytes: [UInt8], part: String, maxDepth: Int) throws -> [Relationship] {
        var parser = XMLPullParser(bytes: bytes, partName: part, maxDepth: maxDepth)
        var result: [Relationship] = []
        while let token = try parser.next() {
            guard case .start(let tag) = token, parser.equals(tag.localName, "Relationship"),
                  let id = try parser.attribute("Id", of: tag),
                  let target = try parser.attribute("Target", of: tag) else { continue }
            result.append(Relationship(id: id, type: try parser.attribute("Type", of: tag) ?? "", target: target))
        }
        return result
    }

    /// The part `[Content_Types].xml` declares as a workbook (`…spreadsheetml.sheet.main+xml`,
    /// a template's, or a macro-enabled one's), without its leading slash.
    static func workbookPartFromContentTypes(_ bytes: [UInt8], maxDepth: Int) throws -> String? {
        var parser = XMLPullParser(bytes: bytes, partName: "[Content_Types].xml", maxDepth: maxDepth)
        while let token = try parser.next() {
            guard case .start(let tag) = token, parser.equals(tag.localName, "Override"),
                  let type = try parser.attribute("ContentType", of: tag), let name = try parser.attribute("PartName", of: tag) else { continue }
            let lowered = type.lowercased()
            if lowered.hasSuffix(".main+xml"), lowered.contains("spreadsheetml") || lowered.contains("ms-excel") {
                return resolve(name, relativeTo: "")
            }
        }
        return nil
    }

    /// A relationship target resolved against the directory of the part that declares it.
    static func resolve(_ target: String, relativeTo directory: String) -> String {
        if target.hasPrefix("/") { return String(target.dropFirst()) }
        var components = directory.split(separator: "/").map(String.init)
        for piece in target.split(separator: "/") {
            if piece == ".." { _ = components.popLast() } else if piece != "." { components.append(String(piece)) }
        }
        return components.joined(separator: "/")
    }

    /// Where the relationships of `part` are: `xl/_rels/workbook.xml.rels`.
    static func relationshipsPart(of part: String) -> String {
        let directory = PathName.directory(of: part)
        return (directory.isEmpty ? "" : directory + "/") + "_rels/" + PathName.fileName(of: part) + ".rels"
    }

    /// Shared strings in order; rich-text runs concatenated, phonetic hints (`rPh`) left out,
/// `_xHHHH_` escapes decoded.
    static func sharedStrings(_ bytes: [UInt8], part: String, maxDepth: Int) throws -> [String] {
        var parser = XMLPullParser(bytes: bytes, partName: part, maxDepth: maxDepth)
        var strings: [String] = []
        var current = ""
        var inText = false
        var phoneticDepth = 0
        while let token = try parser.next() {
            switch token {
            case .start(let tag):
                if parser.equals(tag.localName, "si") {
                    current = ""
                    if tag.selfClosing { strings.append("") }
                } else if parser.equals(tag.localName, "rPh") {
                    if !tag.selfClosing { phoneticDepth += 1 }
                } else if parser.equals(tag.localName, "t") {
                    inText = !tag.selfClosing && phoneticDepth == 0
                }
            case .end(let name):
                if parser.equals(name, "si") {
                    strings.append(XstringEscapes.decode(current))
                } else if parser.equals(name, "rPh") {
                    phoneticDepth = max(0, phoneticDepth - 1)
                } else if parser.equals(name, "t") {
                    inText = false
                }
            case .text(let range, let hasReferences):
                if inText { current += try parser.text(range, hasReferences: hasReferences) }
            case .cdata(let range):
                if inText { current += parser.string(range) }
            }
        }
        return strings
    }

    /// Which cell style indexes (`s="…"`) format numbers as dates or times.
    static func dateStyles(_ bytes: [UInt8], part: String, maxDepth: Int) throws -> Set<Int> {
        var parser = XMLPullParser(bytes: bytes, partName: part, maxDepth: maxDepth)
        var customFormats: [Int: String] = [:]
        var formatIDs: [Int] = []
        var inCellXfs = false
        while let token = try parser.next() {
            switch token {
            case .start(let tag):
                if parser.equals(tag.localName, "numFmt"),
                   let id = try parser.attribute("numFmtId", of: tag).flatMap({ Int($0) }) {
                    customFormats[id] = try parser.attribute("formatCode", of: tag) ?? ""
                } else if parser.equals(tag.localName, "cellXfs") {
                    inCellXfs = !tag.selfClosing
                } else if inCellXfs, parser.equals(tag.localName, "xf") {
                    formatIDs.append(try parser.attribute("numFmtId", of: tag).flatMap { Int($0) } ?? 0)
                }
            case .end(let name):
                if parser.equals(name, "cellXfs") { inCellXfs = false }
            default:
                break
            }
        }
        var result = Set<Int>()
        for (styleIndex, formatID) in formatIDs.enumerated() {
            if let code = customFormats[formatID] {
                if NumberFormatting.isDateFormat(code) { result.insert(styleIndex) }
            } else if NumberFormatting.builtInDateFormatIDs.contains(formatID) {
                result.insert(styleIndex)
            }
        }
        return result
    }
}
