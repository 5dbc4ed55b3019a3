import Foundation
import Redaction
import Logging

/// One line per event, in the form the environment wants:
/// - under systemd (`JOURNAL_STREAM` set): `<6>faqsync.watch: message key=value`, the priority
///   prefix journald understands, no timestamp (journald adds its own);
/// - `LOG_FORMAT=json`: one JSON object per line for log shippers;
/// - otherwise: a timestamped line on stderr.
package struct DaemonLogHandler: LogHandler {
    package enum Format: Sendable { case journald, json, text }

    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level
    let label: String
    let format: Format

    package init(label: String, level: Logger.Level, format: Format) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    package static func format(environment: [String: String]) -> Format {
        if environment["LOG_FORMAT"]?.lowercased() == "json" { return .json }
        if environment["JOURNAL_STREAM"] != nil { return .journald }
        return .text
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let line: String
        switch format {
        case .journald:
            line = "<\(Self.priority(event.level))>\(label): \(event.message)\(Self.flatten(merged))"
        case .json:
            var object: [String: String] = ["time": Date().formatted(.iso8601), "level": event.level.rawValue, "logger": label,
                                            "message": Redaction.redact("\(event.message)")]
            for (key, value) in merged { object[key] = Redaction.redact("\(value)") }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        case .text:
            line = "\(Date().formatted(.iso8601)) \(event.level.rawValue) \(label): \(event.message)\(Self.flatten(merged))"
        }
        // Credentials never reach the journal, whoever logged them (an error quoting a URL, a
        // provider's echo of a request); the JSON form is masked field by field above.
        let shown = format == .json ? line : Redaction.redact(line)
        FileHandle.standardError.write(Data((shown.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
    }

    /// syslog priorities, as sd-daemon(3) defines the `<N>` prefixes.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func flatten(_ metadata: Logger.Metadata) -> String {
        guard !metadata.isEmpty else { return "" }
        return " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
