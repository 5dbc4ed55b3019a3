import Foundation
import SnapshotFormat
import SystemIO

/// One snapshot file mapped read-only into memory and validated.
///
/// Any number of processes mapping the same file share one copy through the page cache. The
/// mapping lives as long as this object: a query holds a reference, so a switch to a newer
/// snapshot never unmaps memory a query is still reading.
public final class MappedSnapshot: Sendable {
    public let path: String
    /// Identifies the file that was mapped, to notice when the path names another one.
    let identity: FileIdentity
    private let mapping: SnapshotMapping

    /// The templates it holds (a delta's with its base's).
    public var contents: SnapshotContents { mapping.contents }
    /// The header of the file at the path (a delta's own, for a delta).
    public var header: SnapshotHeader { mapping.view.header }
    public var generation: UInt64 { mapping.view.header.generation }

    /// Throws `SnapshotError` `changedUnderReader` when the file was truncated or written to in
    /// place since it was mapped: anything read from it since may be torn. Searches check it
    /// after reading; a reader that meets it discards the answer and reloads.
    public func checkIntact() throws { try mapping.checkIntact() }

    /// Whether the mapping still holds the file as it was validated.
    public var isIntact: Bool { (try? mapping.checkIntact()) != nil }

    /// Opens, maps and validates (checksum included) the snapshot at `path`. `known`: the
    /// snapshot served until now, whose file a delta's base may be (mapped once, shared).
    public init(path: String, verifyChecksum: Bool = true, known: MappedSnapshot? = nil) throws {
        self.path = path
        mapping = try SnapshotMapping(path: path, verifyChecksum: verifyChecksum, known: known?.mapping)
        identity = mapping.identity
    }
}
