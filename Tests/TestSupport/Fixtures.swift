import Foundation

/// The shared real-world fixtures (`../shared/fixtures` from the project root), read in place.
public enum Fixtures {
    public static var projectRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["FAQSYNC_FIXTURES"] { return URL(fileURLWithPath: override) }
        return projectRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    public static var faq: URL { directory.appendingPathComponent("vtb-belarus-faq.xlsx") }
    public static var legacyStore: URL { directory.appendingPathComponent("legacy-smart-support-embeddings.db") }
    public static var validationQueries: URL { directory.appendingPathComponent("retrieval-validation-v2.json") }
    public static var sampleFAQ: URL { projectRoot.appendingPathComponent("data/faq-sample.xlsx") }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ label: String = "faqsync") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    public func path(_ name: String) -> String { file(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}
