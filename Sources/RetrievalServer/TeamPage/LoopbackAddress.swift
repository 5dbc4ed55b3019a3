import Foundation

/// Whether `serve` listens where only this machine can connect: what decides if the page needs
/// `SERVE_TOKEN`.
package enum LoopbackAddress {
    /// `127.0.0.0/8`, `::1`, `localhost`. Anything else (`0.0.0.0`, `::`, a LAN address, a name)
    /// counts as reachable from elsewhere.
    package static func contains(host: String) -> Bool {
        if host == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
        }
        return false
    }

    /// The address a socket (one systemd passed) is bound to, and whether it is loopback.
    package static func of(descriptor: Int32) -> (address: String, isLoopback: Bool) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard bound == 0 else { return ("fd \(descriptor)", false) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
            let host = String(cString: text)
            return ("\(host):\(UInt16(bigEndian: address.sin_port))", contains(host: host))
        case AF_INET6:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
            let host = String(cString: text)
            return ("[\(host)]:\(UInt16(bigEndian: address.sin6_port))", contains(host: host))
        case AF_UNIX:
            // Reachable only through the file system's permissions: as private as loopback.
            return ("a Unix socket", true)
        default:
            return ("fd \(descriptor)", false)
        }
    }
}
