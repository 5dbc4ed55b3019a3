/// An error faqsync reports to a person or a script, as postgres-nio's `PSQLError` and GRDB's
/// `DatabaseError` carry theirs: a stable code, what happened and where (`description`), what to
/// do about it when there is something to do, and the error underneath when there is one.
///
/// The command line prints `faqsync: error [code]: description` and exits 1; `--json` gives the
/// same as `{"error": {"code", "message", "hint"}}`. The code is the one thing scripts and the
/// docs key on: a code once shipped keeps its meaning.
public protocol CodedError: Error, CustomStringConvertible {
    /// Kebab-case, stable: `open-failed`, `snapshot-corrupt`, `embedding-unauthorized`.
    var errorCode: String { get }
    /// What the reader can do about it, when something can be done.
    var hint: String? { get }
    /// The error this one reports, when it wraps one.
    var underlying: (any Error)? { get }
}

extension CodedError {
    public var hint: String? { nil }
    public var underlying: (any Error)? { nil }
}

/// An error kept as what it said, for a `Sendable` error type that wraps one whose type is not
/// known to be `Sendable` (a driver's error, a decoding error).
public struct CapturedError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ error: any Error) { description = String(describing: error) }
}
