import Foundation

/// Checks a JSON value against the schemas in docs/schemas: the subset of JSON Schema 2020-12
/// those files use (type, const, enum, required, properties, additionalProperties: false, items,
/// maxItems, minimum, maximum, oneOf, $ref into `$defs` of the same or a sibling file). A keyword
/// outside that subset is reported as a problem rather than ignored, so a schema cannot grow a
/// rule this check would silently skip.
package struct JSONSchemaCheck {
    private let directory: URL
    private var files: [String: [String: Any]] = [:]
    private static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$defs"]

    /// The project's docs/schemas.
    package init() throws {
        directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/schemas")
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".schema.json") {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            files[name] = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
    }

    /// Every place `value` breaks the schema in `file`, as `path: problem`; empty when it conforms.
    package func problems(_ value: Any, against file: String) -> [String] {
        guard let schema = files[file] else { return ["no schema \(file) in \(directory.path)"] }
        return check(value, schema, file: file, at: "$")
    }

    private func check(_ value: Any, _ schema: [String: Any], file: String, at path: String) -> [String] {
        var problems: [String] = []
        for (keyword, rule) in schema {
            switch keyword {
            case _ where Self.annotations.contains(keyword):
                continue
            case "$ref":
                guard let reference = rule as? String, let (target, targetFile) = resolve(reference, from: file) else {
                    problems.append("\(path): cannot resolve $ref \(rule)")
                    continue
                }
                problems += check(value, target, file: targetFile, at: path)
            case "type":
                let allowed = (rule as? [String]) ?? [(rule as? String) ?? ""]
                if !allowed.contains(where: { Self.has(value, type: $0) }) { problems.append("\(path): is not \(allowed.joined(separator: " or "))") }
            case "const":
                if !Self.equal(value, rule) { problems.append("\(path): is not \(rule)") }
            case "enum":
                if !((rule as? [Any]) ?? []).contains(where: { Self.equal(value, $0) }) { problems.append("\(path): \(value) is not one of \(rule)") }
            case "required":
                guard let object = value as? [String: Any] else { continue }
                for name in (rule as? [String]) ?? [] where object[name] == nil { problems.append("\(path): lacks \(name)") }
            case "properties":
                guard let object = value as? [String: Any], let properties = rule as? [String: Any] else { continue }
                for (name, member) in object {
                    guard let memberSchema = properties[name] as? [String: Any] else { continue }
                    problems += check(member, memberSchema, file: file, at: "\(path).\(name)")
                }
            case "additionalProperties":
                guard let object = value as? [String: Any], (rule as? Bool) == false else { continue }
                let declared = Set(((schema["properties"] as? [String: Any]) ?? [:]).keys)
                for name in object.keys.sorted() where !declared.contains(name) { problems.append("\(path): has undeclared \(name)") }
            case "items":
                guard let array = value as? [Any], let itemSchema = rule as? [String: Any] else { continue }
                for (index, item) in array.enumerated() { problems += check(item, itemSchema, file: file, at: "\(path)[\(index)]") }
            case "maxItems":
                if let array = value as? [Any], let limit = rule as? Int, array.count > limit { problems.append("\(path): more than \(limit) items") }
            case "minimum", "maximum":
                guard let number = (value as? NSNumber)?.doubleValue, let bound = (rule as? NSNumber)?.doubleValue, !(value is Bool) else { continue }
                if keyword == "minimum" ? number < bound : number > bound { problems.append("\(path): \(number) is beyond \(keyword) \(bound)") }
            case "oneOf":
                let matching = ((rule as? [[String: Any]]) ?? []).filter { check(value, $0, file: file, at: path).isEmpty }
                if matching.count != 1 { problems.append("\(path): matches \(matching.count) of oneOf, not 1") }
            default:
                problems.append("\(path): the schema uses \(keyword), which this check does not know")
            }
        }
        return problems
    }

    private func resolve(_ reference: String, from file: String) -> ([String: Any], String)? {
        let parts = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let targetFile = parts[0].isEmpty ? file : String(parts[0])
        guard parts.count == 2, let root = files[targetFile] else { return nil }
        var node: Any = root
        for component in parts[1].split(separator: "/") {
            guard let object = node as? [String: Any], let next = object[String(component)] else { return nil }
            node = next
        }
        return (node as? [String: Any]).map { ($0, targetFile) }
    }

    private static func has(_ value: Any, type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "string": return value is String
        case "boolean": return isBoolean(value)
        case "integer": return !isBoolean(value) && (value as? NSNumber).map { $0.doubleValue.rounded() == $0.doubleValue } ?? false
        case "number": return !isBoolean(value) && value is NSNumber
        default: return false
        }
    }

    /// JSONSerialization gives booleans as NSNumber too: told apart by their Core Foundation type.
    private static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        if let a = a as? String, let b = b as? String { return a == b }
        if let a = a as? NSNumber, let b = b as? NSNumber { return isBoolean(a) == isBoolean(b) && a == b }
        return false
    }
}
