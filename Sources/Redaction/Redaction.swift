import Foundation

/// Masks credentials in text that leaves the process: error messages, log lines, the activity
/// document, the FAQ team's page, `/v1/syncs`.
///
/// Text from outside (a provider's error body, which a proxy may fill with the request's own
/// `Authorization` header; a URL an operator typed with a password in it, parsable or not) is
/// passed through `redact` before it is shown anywhere, and bounded. What is masked: a URL's
/// password (everything between `scheme://user:` and the last `@` of the token, so a `#`, `?` or
/// `/` in it cannot hide it) or its whole userinfo when that is one word (a token), `password=` values, `Authorization` header values, bearer
/// tokens, API-key fields and `sk-…` keys, and every known secret verbatim.
package enum Redaction {
    package static let mask = "***"

    /// `text` with credentials masked; `secrets` (an API key, a password) are masked wherever they
    /// appear, whatever their shape. Secrets shorter than 4 characters are not looked for (they
    /// would mask ordinary words).
    package static func redact(_ text: String, secrets: [String] = []) -> String {
        var result = text
        for secret in secrets where secret.count >= 4 {
            result = result.replacingOccurrences(of: secret, with: mask)
        }
        for rule in rules {
            result = apply(rule, to: result)
        }
        return result
    }

    /// `redact`, then at most `limit` characters (with "…" when cut): a relayed message must not
    /// carry a provider's whole page into a log line or the page.
    package static func bounded(_ text: String, limit: Int = 500, secrets: [String] = []) -> String {
        let redacted = redact(text, secrets: secrets)
        guard redacted.count > limit else { return redacted }
        return String(redacted.prefix(limit)) + "…"
    }

    /// Each rule masks what follows its first capture (which it keeps). Compiled per call: a
    /// compiled `Regex` is not `Sendable`, and masking runs on error paths and log lines only.
    private static let rules: [String] = [
        // scheme://user:password@host… — the user kept, the password masked up to the token's
        // last '@' (so a '#', '?', '/' or '@' in it cannot end the match early).
        #"([A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>:/@]*:)[^\s'"<>]*(?=@)"#,
        // scheme://secret@host… (a token as the user name): all of it masked.
        #"([A-Za-z][A-Za-z0-9+.\-]*://)[^\s'"<>:/@]+(?=@)"#,
        // password=…, passwd: …, pwd=… (libpq's keyword/value form, query strings, JSON).
        #"(?i)((?:password|passwd|pwd)"?\s*[=:]\s*"?)(?:'[^']*'|[^\s"'&,;}]+)"#,
        // An echoed Authorization header (to the end of the line or the quoted value).
        #"(?i)(authorization"?\s*[:=]\s*"?)[^\r\n"]+"#,
        // Bearer tokens anywhere.
        #"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"#,
        // api_key=…, "api-key": "…", x-api-key: …
        #"(?i)((?:x-)?api[_\-]?key"?\s*[=:]\s*"?)[^\s"'&,;}]+"#,
        // OpenAI-style keys.
        #"\b(sk-)[A-Za-z0-9_\-]{8,}"#,
    ]

    private static func apply(_ pattern: String, to text: String) -> String {
        // The patterns are constants: one that does not compile is a programming error the tests catch.
        guard let regex = try? Regex(pattern) else { preconditionFailure("invalid redaction pattern \(pattern)") }
        return text.replacing(regex) { match in
            let prefix = match.output.count > 1 ? match.output[1].substring.map(String.init) ?? "" : ""
            return prefix + mask
        }
    }
}
