#if canImport(Glibc)
import Glibc
#endif

/// One version of a file, told apart without reading it: where it lives (device, inode), its size,
/// and when its content and its inode last changed. Any write changes the change time, which no
/// user can set back, and a replaced file is another inode.
package struct FileIdentity: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var modifiedSeconds: Int64
    package var modifiedNanoseconds: Int64
    package var changedSeconds: Int64
    package var changedNanoseconds: Int64

    package init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        modifiedSeconds = Int64(status.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(status.st_mtim.tv_nsec)
        changedSeconds = Int64(status.st_ctim.tv_sec)
        changedNanoseconds = Int64(status.st_ctim.tv_nsec)
    }

    /// The later of the two times, in seconds.
    var lastTouched: Double {
        max(Double(modifiedSeconds) + Double(modifiedNanoseconds) / 1e9, Double(changedSeconds) + Double(changedNanoseconds) / 1e9)
    }
}

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
        guard directoryIsPrivate() else { return nil }
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_uid == geteuid(),
              (status.st_mode & 0o022) == 0, status.st_size <= Self.maximumBytes else { return nil }
        var bytes = [UInt8](repeating: 0, count: Self.maximumBytes + 1)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, count <= Self.maximumBytes else { return nil }
        return Self.parse(String(decoding: bytes[0..<count], as: UTF8.self), expecting: identity)
    }

    /// Records that the file with `identity` hashed to `digest`, when the file had been quiet
    /// for `quietPeriod` before `hashStarted` (seconds since the epoch). Best effort.
    @discardableResult
    package func remember(_ identity: FileIdentity, digest: String, hashStarted: Double) -> Bool {
        guard identity.lastTouched < hashStarted - quietPeriod, makeDirectory(), directoryIsPrivate() else { return false }
        let line = Self.line(identity, digest: digest)
        let temporary = path + ".\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        let written = Array(line.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let closed = close(descriptor) == 0
        guard written == line.utf8.count, closed, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
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

    /// Creates the directory (and missing parents, as `mkdir -p`), private to this user.
    private func makeDirectory() -> Bool {
        var prefix = ""
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST { return false }
        }
        return true
    }
}
