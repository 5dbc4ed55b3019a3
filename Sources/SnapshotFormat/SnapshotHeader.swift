import CodedErrors
/// The decoded header of a snapshot file.
public struct SnapshotHeader: Sendable, Hashable {
    public let formatVersion: UInt32
    public let generation: UInt64
    public let createdMillis: Int64
    public let modelName: String
    public let modelVersion: String
    public let dimension: Int
    public let count: Int
    public let vectorsOffset: Int
    public let vectorsLength: Int
    public let indexOffset: Int
    public let indexLength: Int
    public let stringsOffset: Int
    public let stringsLength: Int
    public let checksum: UInt64
    /// The lexical section (version 2), nil in a version 1 file.
    public let lexicalOffset: Int?
    public let lexicalLength: Int?
    /// Hybrid search's dense weight recorded for the model version (0...1), nil in files
    /// published before it was recorded.
    public let hybridDenseWeight: Float?
    /// The base this file is a delta over (version 3), nil in a whole file.
    public let base: BaseReference?

    /// What a delta (version 3) says of its base and of the snapshot the two make.
    public struct BaseReference: Sendable, Hashable {
        public let generation: UInt64
        /// The base header's payload checksum: which file of that generation it is.
        public let checksum: UInt64
        public let removedOffset: Int
        public let removedLength: Int
        /// BM25's average field lengths over every row of the snapshot (the base's that are not
        /// removed and the delta's).
        public let averageQuestionLength: Float
        public let averageAnswerLength: Float
    }

    /// Validated when the header was read: the sum fits the file.
    public var fileSize: Int {
        if let base { return base.removedOffset + base.removedLength }
        if let lexicalOffset, let lexicalLength { return lexicalOffset + lexicalLength }
        return stringsOffset + stringsLength
    }
}

/// Why a snapshot file was not accepted. Readers keep serving the previous snapshot and log this.
public struct SnapshotError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case missing, truncated, badMagic = "bad-magic", unsupportedVersion = "unsupported-version"
        case inconsistent, checksumMismatch = "checksum-mismatch", io, tooLarge = "too-large"
        /// The mapped file was written to or truncated in place while it was being read.
        case changedUnderReader = "changed-under-reader"
        /// A delta's base file is missing, or is not the file the delta was written over.
        case baseMismatch = "base-mismatch"
    }

    public let code: Code
    public let path: String
    public let message: String

    public init(code: Code, path: String, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "snapshot \(path): \(message)" }
}

extension SnapshotError: CodedError {
    public var errorCode: String { "snapshot-\(code.rawValue)" }
}
