import Crypto
import Foundation
import HTTPTypes

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

    func verdict(for headers: HTTPFields) -> Verdict {
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
                    if parts.count == 2, parts[0] == Self.cookieName, Self.sameSecret(parts[1], Self.sessionValue(token: token)) {
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

    /// What the cookie holds: derived from the token, so the token itself is never stored in the
    /// browser, and changing the token signs everybody out.
    static func sessionValue(token: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("faqsync page session v1".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// Compares digests in constant time, so the time taken says nothing about the secret.
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let left = SHA256.hash(data: Data(a.utf8)), right = SHA256.hash(data: Data(b.utf8))
        var difference: UInt8 = 0
        for (x, y) in zip(left, right) { difference |= x ^ y }
        return difference == 0
    }
}
