import Foundation

/// Runs `faqsync` as a child with a deadline and reports how it ended, how long it took and its
/// own peak memory (from `wait4`'s rusage, which covers exactly that child).
///
/// For the hostile-input tests: a parser that traps shows as a signal, one that hangs is killed
/// at the deadline and reported as such, one that bloats shows its peak. The deadline is a hang
/// guard, not a speed assertion: benchmarks measure speed.
package struct BoundedProcess {
    package struct Outcome: CustomStringConvertible {
        /// The exit status, nil when a signal ended the process.
        package let exitStatus: Int32?
        package let signal: Int32?
        package let killedAtDeadline: Bool
        package let seconds: Double
        /// Peak resident memory of the child, in bytes.
        package let peakResidentBytes: Int
        package let stdout: String
        package let stderr: String

        package var description: String {
            let end = killedAtDeadline ? "killed at the deadline" : signal.map { "signal \($0)" } ?? "exit \(exitStatus ?? -1)"
            return "\(end) after \(String(format: "%.2f", seconds)) s, peak RSS \(peakResidentBytes >> 20) MiB; stderr: \(stderr.prefix(600))"
        }

        package func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw CocoaError(.coderInvalidValue)
            }
            return object
        }
    }

    package static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
                           deadline: Duration = .seconds(10), binary: URL = CLIProcess.binary) throws -> Outcome {
        let scratch = try TemporaryDirectory("bounded")
        defer { scratch.remove() }
        let outPath = scratch.path("stdout"), errPath = scratch.path("stderr")

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        // The shell changes directory and execs faqsync in its place: same pid, so wait4's
        // rusage is faqsync's own.
        let binary = binary.path
        let shell = ["/bin/sh", "-c", #"cd "$1" && shift && exec "$@""#, "sh", (directory ?? CLIProcess.scratchDirectory).path, binary]
        let argv = (shell + arguments).map { strdup($0) } + [nil]
        let envp = CLIProcess.environment(environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }

        let started = ContinuousClock.now
        var status: Int32 = 0
        var usage = rusage()
        var killed = false
        while true {
            let waited = wait4(pid, &status, WNOHANG, &usage)
            if waited == pid { break }
            if waited < 0, errno != EINTR { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD) }
            if !killed, ContinuousClock.now - started > deadline {
                kill(pid, SIGKILL)
                killed = true
            }
            usleep(5_000)
        }
        let elapsed = ContinuousClock.now - started
        let exited = (status & 0x7F) == 0
        return Outcome(
            exitStatus: exited ? (status >> 8) & 0xFF : nil, signal: exited ? nil : status & 0x7F, killedAtDeadline: killed,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            peakResidentBytes: Int(usage.ru_maxrss) * 1024,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}
