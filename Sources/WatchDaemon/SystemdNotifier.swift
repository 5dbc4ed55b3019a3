import CSystemd
import Foundation

/// Talks to systemd through `sd_notify` (a datagram on `NOTIFY_SOCKET`). Without `NOTIFY_SOCKET`
/// every call is a no-op, so the daemon runs the same in a terminal.
package struct SystemdNotifier: Sendable {
    package init() {}

    package var isActive: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    /// Half of `WATCHDOG_USEC`, as systemd recommends, when the watchdog is enabled for us.
    package var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds / 2))
    }

    package func ready(status: String) { send("READY=1\nSTATUS=\(Self.oneLine(status))") }
    package func status(_ text: String) { send("STATUS=\(Self.oneLine(text))") }

    /// A reload (here: a sync) has started; `MONOTONIC_USEC` lets systemd match it to the READY=1 after.
    package func reloading(status: String) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        send("RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=\(Self.oneLine(status))")
    }

    package func stopping() { send("STOPPING=1\nSTATUS=Stopping") }
    package func watchdog() { send("WATCHDOG=1") }

    private func send(_ state: String) {
        guard isActive else { return }
        _ = sd_notify(0, state)
    }

    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").prefix(400).description
    }
}
