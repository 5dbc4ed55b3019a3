import CodedErrors
import Foundation

/// Reads settings from the environment with their checks, so every command validates the whole
/// configuration before it reads or writes anything.
///
/// An empty value means unset, for every setting: systemd `EnvironmentFile=` lines such as
/// `METRICS_ADDRESS=` are the norm, and the shipped `etc/faqsync.env` lists every setting that way.
struct SettingsReader {
    let environment: [String: String]

    /// The trimmed value, nil when unset or empty.
    func string(_ key: String) -> String? {
        guard let raw = environment[key]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        return raw
    }

    /// The value exactly as given, spaces kept (a model's prefix such as `query: ` ends in one;
    /// in an EnvironmentFile= write it quoted), nil when unset or empty.
    func untrimmed(_ key: String, maxBytes: Int) throws -> String? {
        guard let raw = environment[key], !raw.isEmpty else { return nil }
        guard raw.utf8.count <= maxBytes else {
            throw ConfigurationError(key: key, message: "must be at most \(maxBytes) bytes, not \(raw.utf8.count)")
        }
        return raw
    }

    /// A whole number within `range`, nil when unset.
    func integer(_ key: String, in range: ClosedRange<Int>, unit: String = "") throws -> Int? {
        guard let raw = string(key) else { return nil }
        guard let number = Int(raw), range.contains(number) else {
            throw ConfigurationError(key: key, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)\(unit), not '\(raw.prefix(40))'")
        }
        return number
    }

    /// `1`, `true`, `yes`, `on` or their opposites; nil when unset.
    func boolean(_ key: String) throws -> Bool? {
        guard let raw = string(key)?.lowercased() else { return nil }
        if ["1", "true", "yes", "on"].contains(raw) { return true }
        if ["0", "false", "no", "off"].contains(raw) { return false }
        throw ConfigurationError(key: key, message: "must be 1 or 0 (true/false, yes/no, on/off), not '\(raw.prefix(40))'")
    }

    /// One of a fixed set of values, compared case-insensitively; nil when unset.
    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _ type: Choice.Type) throws -> Choice? where Choice.RawValue == String {
        guard let raw = string(key) else { return nil }
        return try Self.choice(raw, key: key, type)
    }

    static func choice<Choice: RawRepresentable & CaseIterable>(_ raw: String, key: String, _ type: Choice.Type) throws -> Choice where Choice.RawValue == String {
        if let match = Choice.allCases.first(where: { $0.rawValue.lowercased() == raw.lowercased() }) { return match }
        throw ConfigurationError(key: key, message: "must be one of \(Choice.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")), not '\(raw.prefix(40))'")
    }

    /// Text that must fit `maxBytes` (a snapshot header field, say).
    func text(_ key: String, maxBytes: Int, why: String) throws -> String? {
        guard let raw = string(key) else { return nil }
        guard raw.utf8.count <= maxBytes else {
            throw ConfigurationError(key: key, message: "must be at most \(maxBytes) bytes (\(why)), not '\(raw.prefix(80))' (\(raw.utf8.count) bytes)")
        }
        return raw
    }

    /// An http(s) URL with a host.
    func httpURL(_ key: String) throws -> String? {
        guard let raw = string(key) else { return nil }
        guard let url = URL(string: raw), url.scheme == "http" || url.scheme == "https", let host = url.host, !host.isEmpty else {
            throw ConfigurationError(key: key, message: "must be an http(s) URL such as http://127.0.0.1:8080/v1, not '\(raw.prefix(80))'")
        }
        return raw
    }

    /// `host:port` (`[::1]:9464` for IPv6), nil when unset.
    func address(_ key: String) throws -> ListenAddress? {
        guard let raw = string(key) else { return nil }
        guard let address = ListenAddress(raw) else {
            throw ConfigurationError(key: key, message: "must be host:port such as 127.0.0.1:9464 (port 0 to 65535; 0 picks a free one, logged at start), not '\(raw.prefix(80))'")
        }
        return address
    }
}

/// A host and port to listen on, parsed from `host:port` or `[v6-address]:port`.
package struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    package let host: String
    package let port: Int

    package init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: \.isWhitespace), let port = Int(portPart), (0...65_535).contains(port) else { return nil }
        host = String(hostPart)
        self.port = port
    }

    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A setting that cannot be used, named by its key (or flag), with what it must be.
package struct ConfigurationError: Error, CustomStringConvertible {
    package let key: String
    package let message: String

    package init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    package var description: String { "configuration \(key) \(message)" }
}

extension ConfigurationError: CodedError {
    package var errorCode: String { "configuration" }
}
