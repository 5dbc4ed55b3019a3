import Foundation

/// Runs the built `faqsync` binary as a child process, the way a person or systemd runs it.
package struct CLIProcess {
    package struct Result: Sendable {
        package let status: Int32
        package let stdout: String
        package let stderr: String

        package init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }

        package func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw CocoaError(.coderInvalidValue)
            }
            return object
        }
    }

    /// `faqsync` sits next to the test bundle in the build directory (`swift test` builds it,
    /// because the test target depends on it).
    package static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["FAQSYNC_BIN"] { return URL(fileURLWithPath: override) }
        return builtExecutable("faqsync")
    }

    /// An executable of this package, from the build directory the tests run from.
    package static func builtExecutable(_ name: String) -> URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return Fixtures.projectRoot.appendingPathComponent(".build/debug/\(name)")
    }

    /// An environment without the caller's FAQSYNC-relevant settings, plus `extra`.
    ///
    /// The embedder is the model-free `local` one unless `extra` names another: most process
    /// tests measure syncs, daemons and servers, and need fast, deterministic vectors. The tests
    /// of the default model pass `EMBEDDING_PROVIDER: "e5"` (or `""`, for "nothing configured").
    package static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("FAQ_") || key.hasPrefix("EMBEDDING_") || key.hasPrefix("SQLITE_") || key == "STORAGE_BACKEND"
              || key == "STATE_DIRECTORY" || key == "NOTIFY_SOCKET" || key.hasPrefix("POSTGRES_") || key == "DATABASE_URL" || key.hasPrefix("SERVE_TOKEN"))
        }
        environment["EMBEDDING_PROVIDER"] = "local"
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// - Parameter openFileLimit: run it with this open-file limit (soft and hard), as a unit
    ///   without `LimitNOFILE=` gets 1,024; `prlimit` execs it, so the process is faqsync itself.
    package static func start(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
                              openFileLimit: Int? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        if let openFileLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(openFileLimit):\(openFileLimit)", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.environment = Self.environment(environment)
        // Relative defaults (data/faqsync.db, data/faqsync.snapshot) must land in scratch space,
        // never in the project the tests run from.
        process.currentDirectoryURL = directory ?? scratchDirectory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// The working directory of child processes that are not given one.
    package static let scratchDirectory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("faqsync-cli-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Runs another program (python3, a shell tool) the same way.
    package static func runTool(_ path: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    package static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
        let (process, out, err) = try start(arguments, environment: environment, directory: directory)
        // Read before waiting: a full pipe would block the child forever.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}
