import Crypto
import Foundation
import HTTPTypes
import Reconciliation
import Synchronization

/// Who may see the FAQ team's page and `GET /v1/syncs`. Once `SERVE_TOKEN` is set, only holders of
/// it, as a bearer token or as the cookie the sign-in form sets, wherever `serve` listens (a
/// reverse proxy on the host may publish a loopback port). Without a token: anyone who can
/// connect on loopback (the default address); on any other address the page is refused and says
/// how to set one. The search API is not affected: it answers as it always did.
package enum PageAccess: Sendable {
    case open
    case token(String)
    case tokenMissing(address: String)

    /// From where `serve` listens and the configured token (nil when unset).
    package static func forListening(onLoopback: Bool, address: String, token: String?) -> PageAccess {
        if let token { return .token(token) }
        return onLoopback ? .open : .tokenMissing(address: address)
    }

    enum Verdict: Equatable {
        case allowed
        case signInRequired
        case refused(String)
    }

    static let cookieName = "faqsync_page"
    /// How long a sign-in lasts, checked by the server from the time the cookie was issued (the
    /// browser's Max-Age alone would let a copied cookie work forever).
    static let sessionLifetime: TimeInterval = 30 * 24 * 3600

    func verdict(for headers: HTTPFields, sessions: PageSessions = PageSessions(), now: Date = Date()) -> Verdict {
        switch self {
        case .open: return .allowed
        case .tokenMissing(let address):
            return .refused("faqsync serve listens on \(address), beyond loopback, and has no SERVE_TOKEN: set SERVE_TOKEN (or SERVE_TOKEN_FILE, or the systemd credential serve-token) and restart it to open this page")
        case .token(let token):
            if let authorization = headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
                return Self.sameSecret(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces), token) ? .allowed : .signInRequired
            }
            for cookieHeader in headers[values: .cookie] {
                for pair in cookieHeader.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    if parts.count == 2, parts[0] == Self.cookieName, Self.isValidSession(parts[1], token: token, now: now),
                       !sessions.isRevoked(parts[1]) {
                        return .allowed
                    }
                }
            }
            return .signInRequired
        }
    }

    /// Whether `candidate` is the token: the check the login form makes.
    func accepts(token candidate: String) -> Bool {
        guard case .token(let token) = self else { return false }
        return Self.sameSecret(candidate, token)
    }

    /// What the cookie holds: `v2.<issued, Unix seconds>.<HMAC-SHA256(token, issued)>`. Derived
    /// from the token, so the token itself is never stored in the browser and changing it signs
    /// everybody out; bound to its issue time, so the server refuses it after `sessionLifetime`.
    package static func sessionValue(token: String, issuedAt: Date) -> String {
        let issued = Int64(issuedAt.timeIntervalSince1970)
        return "v2.\(issued).\(signature(token: token, issued: issued))"
    }

    static func signature(token: String, issued: Int64) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("faqsync page session v2|\(issued)".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return ContentHash.hex(code)
    }

    /// A cookie this token signed, issued no more than `sessionLifetime` ago (and not in the future).
    static func isValidSession(_ value: String, token: String, now: Date) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v2", parts[1].count <= 19, let issued = Int64(parts[1]) else { return false }
        let age = now.timeIntervalSince1970 - Double(issued)
        guard age >= -300, age <= sessionLifetime else { return false }
        return sameSecret(String(parts[2]), signature(token: token, issued: issued))
    }

    /// Compares digests in constant time, so the time taken says nothing about the secret.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let left = SHA256.hash(data: Data(a.utf8)), right = SHA256.hash(data: Data(b.utf8))
        var difference: UInt8 = 0
        for (x, y) in zip(left, right) { difference |= x ^ y }
        return difference == 0
    }
}

/// What one `serve` remembers about sign-ins: cookies signed out before they expired, and the
/// recent failed sign-ins, which it throttles. In memory: a restart forgets the sign-outs (change
/// the token to sign everybody out for good).
package final class PageSessions: Sendable {
    private struct State {
        var revoked: [String: Date] = [:]
        var failures: [Date] = []
    }
    private let state = Mutex(State())
    /// Failed sign-ins allowed per `failureWindow`, for the whole process (a 16-byte token is out
    /// of reach at this rate; 1,900 tries a second were possible before).
    static let failuresPerWindow = 20
    static let failureWindow: TimeInterval = 60
    /// Sign-outs remembered at once; beyond it the oldest are forgotten (they expire anyway).
    static let revokedCapacity = 10_000

    package init() {}

    func isRevoked(_ value: String) -> Bool { state.withLock { $0.revoked[value] != nil } }

    func revoke(_ value: String, now: Date = Date()) {
        state.withLock { state in
            state.revoked = state.revoked.filter { now.timeIntervalSince($0.value) < PageAccess.sessionLifetime }
            if state.revoked.count >= Self.revokedCapacity, let oldest = state.revoked.min(by: { $0.value < $1.value }) {
                state.revoked.removeValue(forKey: oldest.key)
            }
            state.revoked[value] = now
        }
    }

    /// Seconds to wait before another try, or nil when a sign-in may be tried now.
    func retryAfter(now: Date = Date()) -> Int? {
        state.withLock { state in
            state.failures.removeAll { now.timeIntervalSince($0) >= Self.failureWindow }
            guard state.failures.count >= Self.failuresPerWindow, let oldest = state.failures.first else { return nil }
            return max(1, Int((Self.failureWindow - now.timeIntervalSince(oldest)).rounded(.up)))
        }
    }

    func recordFailure(now: Date = Date()) {
        state.withLock { $0.failures.append(now) }
    }
}
