/// A credential that never appears in a description, a log line, an error or `status`.
package struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    package init(_ value: String) { self.value = value }

    /// The value itself, for the one place that needs it (the Authorization header).
    package func reveal() -> String { value }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
}
