import CodedErrors
import Foundation

/// Opens a path from the configuration for reading only if it is a regular file.
///
/// A plain `open(O_RDONLY)` of a FIFO blocks until someone opens it for writing, which may be
/// never: a FIFO at the snapshot's or the activity document's path hung serve's blocking pool, its
/// follower and the writer for good (issue "Hostile neighbours", item 4). So the open never blocks
/// (`O_NONBLOCK`, harmless for regular files, whose reads ignore it), and anything that is not a
/// regular file (FIFO, socket, device, directory) is closed again and refused with what it is.
/// The one way faqsync opens a configured path for reading.
package enum RegularFile {
    package struct OpenError: Error, CustomStringConvertible {
        package let path: String
        /// The `open`/`fstat` errno, or nil when the path is not a regular file.
        package let errno: Int32?
        /// What the path is when it is not a regular file ("a FIFO", "a directory", ...).
        package let kind: String?

        package var doesNotExist: Bool { errno == ENOENT }

        package var description: String {
            if let kind { return "\(path) is \(kind), not a regular file" }
            return "cannot open \(path): \(String(cString: strerror(errno ?? EIO)))"
        }
    }

    /// A descriptor open for reading on the regular file at `path` (the caller closes it), and its `stat`.
    /// - Parameter followSymlinks: false to refuse a symbolic link at `path` itself (`O_NOFOLLOW`).
    package static func open(_ path: String, followSymlinks: Bool = true) throws(OpenError) -> (descriptor: Int32, status: stat) {
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followSymlinks ? 0 : O_NOFOLLOW)
        var descriptor: Int32
        repeat { descriptor = Glibc.open(path, flags) } while descriptor < 0 && Glibc.errno == EINTR
        guard descriptor >= 0 else { throw OpenError(path: path, errno: Glibc.errno, kind: nil) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = Glibc.errno
            Glibc.close(descriptor)
            throw OpenError(path: path, errno: code, kind: nil)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(descriptor)
            throw OpenError(path: path, errno: nil, kind: describe(status.st_mode))
        }
        return (descriptor, status)
    }

    /// A `FileHandle` on the regular file at `path`, closed when released.
    package static func handle(_ path: String) throws(OpenError) -> FileHandle {
        FileHandle(fileDescriptor: try open(path).descriptor, closeOnDealloc: true)
    }

    /// The whole file, refused beyond `maximumBytes` before anything is read.
    package static func contents(of path: String, maximumBytes: Int) throws -> Data {
        let (descriptor, status) = try open(path)
        defer { Glibc.close(descriptor) }
        guard status.st_size <= maximumBytes else { throw SizeError(path: path, size: Int64(status.st_size), maximum: maximumBytes) }
        var data = Data(count: Int(status.st_size))
        var filled = 0
        while filled < data.count {
            let count = data.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, Glibc.errno == EINTR || Glibc.errno == EAGAIN { continue }
            if count < 0 { throw OpenError(path: path, errno: Glibc.errno, kind: nil) }
            if count == 0 { break }
            filled += count
        }
        return data.prefix(filled)
    }

    package struct SizeError: Error, CustomStringConvertible {
        package let path: String
        package let size: Int64
        package let maximum: Int
        package var description: String { "\(path) has \(size) bytes, more than the \(maximum) allowed" }
    }

    /// What a file of this mode is, in words: "a FIFO", "a directory", ...
    package static func describe(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }
}

/// Creates the directories faqsync writes into.
package enum Directories {
    /// Creates `path` and any missing parent with `mode` whatever the process's umask (under
    /// umask 000, `mkdir -p` would leave them world-writable, and anyone could then replace the
    /// snapshot). Directories that exist are left as they are. Errors are left to the write that
    /// follows, which names the path.
    package static func createMissing(_ path: String, mode: mode_t = 0o755) {
        guard !path.isEmpty else { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            guard mkdir(prefix, mode) == 0 else { continue }
            // mkdir applies the umask; the mode is meant as given.
            if chmod(prefix, mode) != 0 { return }
        }
    }
}

extension RegularFile.OpenError: CodedError {
    package var errorCode: String { kind == nil ? "cannot-open" : "not-a-regular-file" }
}

extension RegularFile.SizeError: CodedError {
    package var errorCode: String { "too-large" }
}
