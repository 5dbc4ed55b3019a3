import Foundation

/// The one JSON encoding of arrays the stores keep as text (metadata, skipped rows): sorted keys, slashes as they are,
/// `[]` for none, so equal values are equal bytes on every backend.
package enum StoredJSON {
    package static func array<T: Encodable>(_ values: [T]) -> String {
        guard !values.isEmpty else { return "[]" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(values), as: UTF8.self)) ?? "[]"
    }
}
