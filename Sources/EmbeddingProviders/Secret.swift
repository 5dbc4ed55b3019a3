/// A credential that never appears in a description, a log line, an error or `status`.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: String

    public init(_ value: String) { self.value = value }

    /// The value itself, for the one place that needs it (the Authorization header).
    public func reveal() -> String { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
