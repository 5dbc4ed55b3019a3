import CodedErrors
import CLibPQ
import Foundation

/// One libpq connection. Every call blocks, so a connection is only ever used on the serial
/// queue of the pool slot (or follower thread) that owns it, never on the cooperative pool.
///
/// Parameters go as text, except vectors, which go in pgvector's binary format (exact floats,
/// and 4 bytes a value rather than ~12). Results come back binary, decoded by `PostgresResult`.
package final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    package let settings: PostgresSettings

    private init(handle: OpaquePointer, settings: PostgresSettings) {
        self.handle = handle
        self.settings = settings
    }

    deinit { PQfinish(handle) }

    /// Connects, or throws `.connectionFailed` naming host and port and what to check.
    package static func connect(_ settings: PostgresSettings, applicationName: String = "faqsync") throws -> PostgresConnection {
        guard let handle = PQconnectdb(settings.connectionString(applicationName: applicationName)) else {
            throw PostgresError(code: .connectionFailed, endpoint: settings.endpoint, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(code: .connectionFailed, endpoint: settings.endpoint,
                                message: "cannot connect to PostgreSQL at \(settings.endpoint) (database \(settings.database), user \(settings.user))",
                                cause: reason)
        }
        let connection = PostgresConnection(handle: handle, settings: settings)
        // Notices (e.g. "extension already exists") are chatter, not errors; keep them off stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return connection
    }

    /// False once the server went away; the owner drops the connection and opens a new one.
    package var isAlive: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one statement with parameters ($1, $2, ...).
    @discardableResult
    package func execute(_ sql: String, _ parameters: [PostgresValue?] = []) throws -> PostgresResult {
        let encoded = parameters.map { $0?.encoded() }
        var lengths = encoded.map { Int32($0?.bytes.count ?? 0) }
        var formats = encoded.map { Int32($0?.isBinary == true ? 1 : 0) }
        let result: OpaquePointer? = withParameterPointers(encoded.map { $0?.bytes }) { values in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, &lengths, &formats, 1)
        }
        return try check(result, sql: sql)
    }

    /// Runs statements without parameters (a migration script). Text results, so only for DDL.
    package func executeScript(_ sql: String) throws {
        let result = PQexec(handle, sql)
        _ = try check(result, sql: sql)
    }

    /// `COPY ... FROM STDIN (FORMAT binary)`: the writer encodes rows; data goes to the server in
    /// ~1 MB messages, so a 100k-template sync never holds its whole COPY stream in memory.
    package func copyIn(_ sql: String, _ write: (inout PostgresCopyWriter) throws -> Void) throws {
        let start = PQexec(handle, sql)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try check(start, sql: sql)
            throw PostgresError(code: .queryFailed, endpoint: settings.endpoint, message: "the server did not start COPY", sql: sql)
        }
        PQclear(start)
        var writer = PostgresCopyWriter { chunk in
            let sent = chunk.withUnsafeBufferPointer { buffer -> Int32 in
                guard let base = buffer.baseAddress else { return 1 }     // nothing to send
                return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    PQputCopyData(self.handle, $0, Int32(buffer.count))
                }
            }
            if sent != 1 {
                throw PostgresError(code: .connectionLost, endpoint: self.settings.endpoint, message: "COPY data could not be sent",
                                    cause: Self.trimmed(PQerrorMessage(self.handle)))
            }
        }
        do {
            try write(&writer)
            try writer.finish()
        } catch {
            PQputCopyEnd(handle, "aborted by faqsync")
            while let result = PQgetResult(handle) { PQclear(result) }
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            throw PostgresError(code: .connectionLost, endpoint: settings.endpoint, message: "COPY could not be finished",
                                cause: Self.trimmed(PQerrorMessage(handle)))
        }
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            if failure == nil, PQresultStatus(result) != PGRES_COMMAND_OK { failure = error(from: result, sql: sql) }
            PQclear(result)
        }
        if let failure { throw failure }
    }

    /// Runs `body` between BEGIN and COMMIT; rolls back when it throws.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isAlive { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    // MARK: LISTEN / NOTIFY

    package struct Notification: Sendable {
        package let channel: String
        package let payload: String
    }

    /// Waits up to `timeout` for notifications on channels this connection LISTENs to.
    package func waitForNotifications(timeout: Duration) throws -> [Notification] {
        var notifications = drainNotifications()
        if !notifications.isEmpty { return notifications }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard descriptor.fd >= 0 else {
            throw PostgresError(code: .connectionLost, endpoint: settings.endpoint, message: "the connection to PostgreSQL is closed")
        }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready > 0 {
            guard PQconsumeInput(handle) == 1 else {
                throw PostgresError(code: .connectionLost, endpoint: settings.endpoint, message: "the connection to PostgreSQL was lost",
                                    cause: Self.trimmed(PQerrorMessage(handle)))
            }
            notifications = drainNotifications()
        }
        return notifications
    }

    private func drainNotifications() -> [Notification] {
        var found: [Notification] = []
        while let notice = PQnotifies(handle) {
            found.append(Notification(channel: String(cString: notice.pointee.relname), payload: String(cString: notice.pointee.extra)))
            PQfreemem(notice)
        }
        return found
    }

    // MARK: Results and errors

    private func check(_ result: OpaquePointer?, sql: String) throws -> PostgresResult {
        guard let result else {
            throw PostgresError(code: isAlive ? .queryFailed : .connectionLost, endpoint: settings.endpoint,
                                message: isAlive ? "the statement failed" : "the connection to PostgreSQL was lost",
                                cause: Self.trimmed(PQerrorMessage(handle)), sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(result)
        default:
            let error = error(from: result, sql: sql)
            PQclear(result)
            throw error
        }
    }

    private func error(from result: OpaquePointer, sql: String) -> PostgresError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            ?? Self.trimmed(PQresultErrorMessage(result))
        let alive = isAlive
        return PostgresError(code: alive ? .queryFailed : .connectionLost, endpoint: settings.endpoint,
                             message: alive ? "the statement failed" : "the connection to PostgreSQL was lost",
                             cause: message, sqlState: state, sql: sql)
    }

    static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }

    private func withParameterPointers<R>(_ values: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        // Copies into buffers that live for the call; libpq reads them synchronously. Text
        // parameters are read as C strings (their lengths are ignored), hence the NUL.
        let buffers: [UnsafeMutablePointer<CChar>?] = values.map { bytes in
            guard let bytes else { return nil }
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBufferPointer { source in
                source.baseAddress.map { UnsafeMutableRawPointer(pointer).copyMemory(from: $0, byteCount: bytes.count) }
            }
            pointer[bytes.count] = 0
            return pointer
        }
        defer { buffers.forEach { $0?.deallocate() } }
        return body(buffers.map { $0.map { UnsafePointer($0) } })
    }
}

/// A failed PostgreSQL operation: which server, what, and the server's own words.
package struct PostgresError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable {
        case connectionFailed = "connection-failed"
        case connectionLost = "connection-lost"
        case queryFailed = "query-failed"
        case unexpectedResult = "unexpected-result"
    }

    package let code: Code
    package let endpoint: String
    package let message: String
    package let cause: String?
    package let sqlState: String?
    /// The statement, for debugging; never carries values (parameters are sent separately).
    package let sql: String?

    package init(code: Code, endpoint: String, message: String, cause: String? = nil, sqlState: String? = nil, sql: String? = nil) {
        self.code = code
        self.endpoint = endpoint
        self.message = message
        self.cause = cause
        self.sqlState = sqlState
        self.sql = sql
    }

    /// Worth retrying on a new connection: the server went away or is restarting.
    package var isConnectionProblem: Bool {
        code == .connectionFailed || code == .connectionLost
            // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)
            || ["57P01", "57P02", "57P03"].contains(sqlState ?? "")
    }

    /// Might succeed if tried again unchanged: the connection, resources or a concurrent
    /// transaction failed, not the statement or its data. SQLSTATE classes 08 (connection), 40
    /// (serialization failure, deadlock), 53 (disk full, out of memory, too many connections),
    /// 57 (operator intervention), 58 (system I/O), XX (internal) and 55P03 (lock not
    /// available). Everything else (22 data exception, 23 constraint, 42 syntax or privilege, …)
    /// fails the same way every time, and retrying it only hides it.
    package var isTransient: Bool {
        if isConnectionProblem { return true }
        guard let sqlState else { return code != .unexpectedResult }
        return ["08", "40", "53", "57", "58", "XX"].contains(String(sqlState.prefix(2))) || sqlState == "55P03"
    }

    package var description: String {
        var text = message
        if let cause { text += ": \(cause)" }
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        if code == .connectionFailed { text += "; check that PostgreSQL runs there and accepts this user (POSTGRES_HOST, POSTGRES_PORT or DATABASE_URL)" }
        return text
    }
}

extension PostgresError: CodedError {
    package var errorCode: String { "postgres-\(code.rawValue)" }
}
