/// A backup written by `SQLiteTemplateStore.backup(to:)`.
package struct StoreBackup: Sendable, Codable {
    package let source: String
    package let path: String
    package let bytes: Int
    package let versions: Int
    package let templates: Int

    package init(source: String, path: String, bytes: Int, versions: Int, templates: Int) {
        self.source = source
        self.path = path
        self.bytes = bytes
        self.versions = versions
        self.templates = templates
    }
}
