import Foundation
import SpreadsheetReading

/// Metadata as a JSON array of {name, value}, keeping the sheet's column order. The one place
/// it is encoded and decoded.
package enum MetadataCoding {
    package static func encode(_ entries: Template.Metadata) -> String { StoredJSON.array(entries) }

    /// The one encoding of `text`: a database that re-formats JSON (PostgreSQL's jsonb adds
    /// spaces) hands it back through this, so every backend returns the same bytes.
    package static func canonical(_ text: String) -> String { encode(decode(text)) }

    package static func decode(_ text: String) -> Template.Metadata {
        (try? JSONDecoder().decode([MetadataEntry].self, from: Data(text.utf8))) ?? []
    }
}
