import Foundation

/// When to retry a request that failed for a reason retrying can fix (429, 5xx, timeouts,
/// connection errors): exponential backoff with jitter, honouring `Retry-After`, within a bounded
/// number of attempts and a bounded total time.
package struct RetryPolicy: Sendable {
    package var maxAttempts: Int
    package var maxTotal: Duration
    package var initialDelay: Duration
    package var maxDelay: Duration

    package init(maxAttempts: Int = 6, maxTotal: Duration = .seconds(60), initialDelay: Duration = .milliseconds(250),
                maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.maxTotal = maxTotal
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1). Full jitter: a random time
    /// between half and all of the exponential delay, so clients that failed together do not
    /// retry together. A server's `Retry-After` wins when it asks for longer.
    package func delay(afterAttempt attempt: Int, retryAfter: Duration?, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = min(attempt - 1, 20)
        let base = min(initialDelay * Int(1 << exponent), maxDelay)
        let jittered = base * (0.5 + 0.5 * random)
        guard let retryAfter else { return jittered }
        return max(retryAfter, jittered)
    }

    /// `Retry-After` as seconds or as an HTTP date.
    package static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds >= 0 { return .milliseconds(Int(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSince(now) * 1000)))
    }
}
