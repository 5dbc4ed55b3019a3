import Foundation
import TestSupport

/// A real systemd booted as PID 1 in a throwaway root (scripts/systemd-sandbox.sh): an overlay
/// over / whose writes land on a tmpfs, in namespaces of its own. Never the host's systemd, never
/// the host's root filesystem.
final class SystemdSandbox: Sendable {
    static let script = Fixtures.projectRoot.appendingPathComponent("scripts/systemd-sandbox.sh").path

    let state: TemporaryDirectory
    let pid: Int32

    /// Nil when this machine can boot one; otherwise why not (for the skip message).
    static var unavailableReason: String? {
        guard let result = try? tool([script, "check"]) else { return "cannot run \(script)" }
        return result.status == 0 ? nil : "cannot boot systemd in a sandbox here: \(result.stdout)\(result.stderr)"
    }

    /// Runs the script with its output in files, not pipes: `boot` leaves systemd running in the
    /// background, and a pipe it inherited would never see end-of-file.
    static func tool(_ arguments: [String], deadline: Duration = .seconds(180)) throws -> CLIProcess.Result {
        let outcome = try BoundedProcess.run(arguments, deadline: deadline, binary: URL(fileURLWithPath: "/bin/bash"))
        return CLIProcess.Result(status: outcome.exitStatus ?? -1, stdout: outcome.stdout,
                                 stderr: outcome.killedAtDeadline ? "killed after \(deadline): \(outcome.stderr)" : outcome.stderr)
    }

    init() throws {
        state = try TemporaryDirectory("systemd-sandbox")
        let booted = try Self.tool([Self.script, "boot", state.url.path])
        guard booted.status == 0, let pid = Int32(booted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SandboxFailure(message: "boot failed: \(booted.stdout) \(booted.stderr)")
        }
        self.pid = pid
    }

    struct SandboxFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// The sandbox's root as the host reaches it (through systemd's /proc entry): writes land in
    /// the sandbox's overlay or tmpfs, never on the host.
    func hostPath(_ path: String) -> String { "/proc/\(pid)/root\(path)" }

    /// Runs a command inside the sandbox (its mount, PID, network, UTS and IPC namespaces).
    @discardableResult
    func run(_ arguments: [String]) throws -> CLIProcess.Result {
        try Self.tool([Self.script, "run", state.url.path] + arguments)
    }

    @discardableResult
    func shell(_ command: String) throws -> CLIProcess.Result { try run(["/bin/sh", "-c", command]) }

    func systemctl(_ arguments: String...) throws -> CLIProcess.Result { try run(["systemctl", "--no-pager"] + arguments) }

    func property(_ unit: String, _ name: String) throws -> String {
        try systemctl("show", "-P", name, unit).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits for a condition on the sandbox's state, polling; false on timeout.
    func waitFor(_ timeout: Duration = .seconds(60), _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func stop() {
        _ = try? Self.tool([Self.script, "stop", state.url.path])
        state.remove()
    }
}
