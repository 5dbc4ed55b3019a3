import Foundation
import SystemIO

/// Remembers that a weights file passed its SHA-256 check, so that the next process that loads
/// the model (each `faqsync query` is one) maps the 72 MB file without hashing it again: at
/// 10,000 templates that hash was 39 % of a whole `query`.
///
/// The record names the file's identity and its digest; it is used only while the file still has
/// exactly that identity, and the digest it gives must still be one the engine trusts. It lives in
/// a directory of the user's own (`EMBEDDING_WEIGHTS_RECORD_DIR`, systemd's `CacheDirectory=`, or
/// `~/.cache/faqsync`), and a record another user could have written is ignored, so nobody else
/// can vouch for a file on this user's behalf.
///
/// A file is remembered only when it has been quiet for `quietPeriod` before the hash began: file
/// times advance in clock ticks, so a write in the same tick as the check would leave the same
/// identity behind ("racily clean", as git calls it). Failing to read or write a record is never
/// an error: the weights are hashed, as with no record at all.
package struct WeightsRecord: Sendable {
    package let directory: String
    package let quietPeriod: Double

    package static let fileName = "verified-weights"
    static let format = "faqsync-verified-weights 1"
    /// A record is one short line; anything longer is not ours.
    static let maximumBytes = 512

    package init(directory: String, quietPeriod: Double = 2) {
        self.directory = directory
        self.quietPeriod = quietPeriod
    }

    package var path: String { directory + "/" + Self.fileName }

    /// The digest recorded for the file with `identity`, if this user recorded one for exactly it.
    package func digest(for identity: FileIdentity) -> String? {
        guard directoryIsPrivate(), let (descriptor, status) = try? RegularFile.open(path, followSymlinks: false) else { return nil }
        defer { SystemCall.close(descriptor) }
        guard status.st_uid == geteuid(), (status.st_mode & 0o022) == 0, status.st_size <= Self.maximumBytes else { return nil }
        var bytes = [UInt8](repeating: 0, count: Self.maximumBytes + 1)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, count <= Self.maximumBytes else { return nil }
        return Self.parse(String(decoding: bytes[0..<count], as: UTF8.self), expecting: identity)
    }

    /// Records that the file with `identity` hashed to `digest`, when the file had been quiet
    /// for `quietPeriod` before `hashStarted` (seconds since the epoch). Best effort.
    @discardableResult
    package func remember(_ identity: FileIdentity, digest: String, hashStarted: Double) -> Bool {
        guard identity.lastTouched < hashStarted - quietPeriod else { return false }
        Directories.createMissing(directory, mode: 0o700)
        guard directoryIsPrivate() else { return false }
        do {
            try AtomicFile(path: path, mode: 0o600).replace(with: Data(Self.line(identity, digest: digest).utf8))
            return true
        } catch {
            return false
        }
    }

    /// The record's line: the format, the identity's fields and the digest, space-separated.
    static func line(_ identity: FileIdentity, digest: String) -> String {
        fields(identity) + " " + digest + "\n"
    }

    private static func fields(_ identity: FileIdentity) -> String {
        [format, String(identity.device), String(identity.inode), String(identity.size),
         String(identity.modifiedSeconds), String(identity.modifiedNanoseconds),
         String(identity.changedSeconds), String(identity.changedNanoseconds)].joined(separator: " ")
    }

    /// The digest in `text` when it is a record of exactly `identity`; nil for anything else.
    static func parse(_ text: String, expecting identity: FileIdentity) -> String? {
        guard text.hasSuffix("\n") else { return nil }
        let expected = fields(identity) + " "
        guard text.hasPrefix(expected) else { return nil }
        let digest = text.dropFirst(expected.count).dropLast()
        guard digest.utf8.count == 64, digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        return String(digest)
    }

    /// The directory must be this user's and writable by nobody else: otherwise another user
    /// could put a record of their own there.
    private func directoryIsPrivate() -> Bool {
        var status = stat()
        guard lstat(directory, &status) == 0 else { return false }
        return (status.st_mode & S_IFMT) == S_IFDIR && status.st_uid == geteuid() && (status.st_mode & 0o022) == 0
    }
}
