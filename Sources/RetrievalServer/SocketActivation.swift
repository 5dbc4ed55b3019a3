import CSystemd

/// Listening sockets passed by systemd socket activation (`faqsync-serve.socket`).
package enum SystemdSockets {
    /// The file descriptors systemd passed, starting at 3; empty when not socket-activated.
    /// `sd_listen_fds(1)` also unsets `LISTEN_FDS`/`LISTEN_PID`, so children do not inherit them.
    package static func take() -> [Int32] {
        let count = sd_listen_fds(1)
        guard count > 0 else { return [] }
        return (0..<count).map { SD_LISTEN_FDS_START + $0 }
    }
}
