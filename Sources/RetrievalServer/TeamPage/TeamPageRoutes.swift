import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SnapshotReader
import SyncActivity

/// `GET /` (the FAQ team's page), `GET /v1/syncs` (the same activity as JSON) and the login form
/// that `SERVE_TOKEN` needs beyond loopback. Read-only: nothing here changes the store.
extension RetrievalService {
    func addTeamPage(to router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in await self.page(request) }
        router.get("/v1/syncs") { request, _ in try await self.syncs(request) }
        router.get("/login") { request, _ in self.signInPage(Self.language(of: request), problem: nil, status: .ok) }
        router.post("/login") { request, _ in try await self.signIn(request) }
        router.get("/logout") { request, _ in self.signOut(request) }
        router.post("/logout") { request, _ in self.signOut(request) }
    }

    static let pageResultCount = 5
    static let maximumSignInBody = 8 * 1024

    func page(_ request: Request) async -> Response {
        let language = Self.language(of: request)
        switch pageAccess.verdict(for: request.headers, sessions: sessions) {
        case .allowed: break
        case .signInRequired: return signInPage(language, problem: nil, status: .unauthorized)
        case .refused(let reason): return Self.html(.forbidden, Self.messagePage(language, reason))
        }
        let parameters = request.uri.queryParameters
        var search: TeamPage.Search?
        if let query = parameters.get("q"), !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let modeName = parameters.get("mode") ?? SearchMode.hybrid.rawValue
            if let mode = SearchMode(rawValue: modeName) {
                do {
                    let results = try await perform(query: query, mode: mode, k: Self.pageResultCount, filter: SearchFilter())
                    search = .init(query: query, mode: mode, outcome: .success(results))
                } catch let error as HTTPError {
                    search = .init(query: query, mode: mode, outcome: .failure(.init(message: error.body ?? error.status.reasonPhrase)))
                } catch {
                    search = .init(query: query, mode: mode, outcome: .failure(.init(message: "\(error)")))
                }
            } else {
                search = .init(query: query, mode: .hybrid, outcome: .failure(.init(
                    message: "mode must be one of \(SearchMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(modeName)'")))
            }
        }
        var activity: SyncActivity?
        var problem: String?
        do { activity = try await activitySource.read() } catch { problem = "\(error)" }
        var page = TeamPage(language: language, now: Date(), snapshot: live.current?.header, activity: activity,
                            activityProblem: problem, search: search)
        if case .token = pageAccess { page.signedIn = true }
        return Self.html(.ok, page.render())
    }

    func syncs(_ request: Request) async throws -> Response {
        switch pageAccess.verdict(for: request.headers, sessions: sessions) {
        case .allowed: break
        case .signInRequired:
            var response = JSON.response(.unauthorized, ErrorResponse(error: .init(status: 401, reason: "send Authorization: Bearer <SERVE_TOKEN>"),
                                                                       generation: live.current?.generation), generation: live.current?.generation)
            response.headers[.wwwAuthenticate] = "Bearer realm=\"faqsync\""
            return response
        case .refused(let reason): throw HTTPError(.forbidden, message: reason)
        }
        let activity: SyncActivity?
        do { activity = try await activitySource.read() } catch {
            throw HTTPError(.internalServerError, message: "the sync activity cannot be read: \(error)")
        }
        guard let activity else {
            throw HTTPError(.serviceUnavailable, message: "no sync activity at \(activitySource.origin) yet: the writer publishes it after its next sync")
        }
        let data = (try? SyncActivity.encoder().encode(activity)) ?? Data("{}".utf8)
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "application/json; charset=utf-8"
        // Fetched with a bearer token: no cache (a shared proxy's above all) may keep it.
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func signIn(_ request: Request) async throws -> Response {
        let language = Self.language(of: request)
        guard case .token = pageAccess else {
            return Self.html(.forbidden, Self.messagePage(language, "this server has no SERVE_TOKEN: there is nothing to sign in to"))
        }
        // A form posted from another site (a page the team member happens to visit) is refused.
        guard Self.isSameOrigin(request) else {
            return signInPage(language, problem: language.text.crossSite, status: .forbidden)
        }
        if let wait = sessions.retryAfter() {
            var response = signInPage(language, problem: language.text.tooManyTries, status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: Self.maximumSignInBody) } catch is NIOTooManyBytesError {
            return signInPage(language, problem: language.text.wrongToken, status: .contentTooLarge)
        }
        let token = Self.formValue("token", in: String(buffer: body))
        guard let token, pageAccess.accepts(token: token), case .token(let secret) = pageAccess else {
            sessions.recordFailure()
            return signInPage(language, problem: language.text.wrongToken, status: .unauthorized)
        }
        var response = Response(status: .seeOther)
        response.headers[.location] = "/?lang=\(language.rawValue)"
        let value = PageAccess.sessionValue(token: secret, issuedAt: Date())
        response.headers[.setCookie] = "\(PageAccess.cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(PageAccess.sessionLifetime))"
            + (Self.cameOverTLS(request) ? "; Secure" : "")
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Forgets this browser's sign-in: the cookie is revoked in this server and cleared in the browser.
    func signOut(_ request: Request) -> Response {
        for cookieHeader in request.headers[values: .cookie] {
            for pair in cookieHeader.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == PageAccess.cookieName, parts[1].utf8.count <= 256 { sessions.revoke(parts[1]) }
            }
        }
        var response = Response(status: .seeOther)
        response.headers[.location] = "/login?lang=\(Self.language(of: request).rawValue)"
        response.headers[.setCookie] = "\(PageAccess.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            + (Self.cameOverTLS(request) ? "; Secure" : "")
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// Browsers say where a form was posted from (`Sec-Fetch-Site`, `Origin`): same origin, or
    /// typed by the user, is accepted; another site is not. A client that says neither (curl) is
    /// accepted: it has to know the token anyway.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[secFetchSite]?.lowercased(), !["same-origin", "none"].contains(site) { return false }
        if let origin = request.headers[.origin], origin != "null" {
            guard let host = URLComponents(string: origin)?.host, let authority = request.head.authority else { return false }
            let requestHost = authority.hasPrefix("[") ? String(authority.prefix { $0 != "]" }.dropFirst()) : String(authority.prefix { $0 != ":" })
            return host.lowercased() == requestHost.lowercased()
        } else if request.headers[.origin] == "null" {
            return false
        }
        return true
    }

    /// A reverse proxy terminating TLS says so with `X-Forwarded-Proto: https`: the cookie is then
    /// marked Secure. (serve has no TLS of its own; docs/operating.md, "Security".)
    static func cameOverTLS(_ request: Request) -> Bool {
        request.headers[forwardedProto]?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
    }

    func signInPage(_ language: PageLanguage, problem: String?, status: HTTPResponse.Status) -> Response {
        let text = language.text
        var html = HTML()
        html.markup("<!DOCTYPE html>\n<html lang=\"")
        html.text(text.code)
        html.markup("\"><head><meta charset=\"utf-8\">")
        html.element("<title>", text.loginTitle, close: "</title>")
        html.markup("<style>")
        html.markup(TeamPage.style)
        html.markup("</style></head><body><main>")
        html.element("<h1>", text.title, close: "</h1>")
        if let problem { html.element("<p class=\"problem\">", problem, close: "</p>") }
        html.markup("<form id=\"sign-in\" method=\"post\" action=\"/login?lang=")
        html.text(text.code)
        html.markup("\"><label>")
        html.text(text.tokenLabel)
        html.markup(" <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label> <button type=\"submit\">")
        html.text(text.signIn)
        html.markup("</button></form></main></body></html>\n")
        return Self.html(status, html.output)
    }

    static func messagePage(_ language: PageLanguage, _ message: String) -> String {
        var html = HTML()
        html.markup("<!DOCTYPE html>\n<html lang=\"")
        html.text(language.text.code)
        html.markup("\"><head><meta charset=\"utf-8\">")
        html.element("<title>", language.text.title, close: "</title>")
        html.markup("</head><body>")
        html.element("<p class=\"problem\">", message, close: "</p>")
        html.markup("</body></html>\n")
        return html.output
    }

    static func language(of request: Request) -> PageLanguage {
        PageLanguage.negotiate(acceptLanguage: request.headers[.acceptLanguage], override: request.uri.queryParameters.get("lang"))
    }

    // A constant, valid header name: the unwrap cannot fail.
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    /// An HTML response that can load nothing from elsewhere and run no script.
    static func html(_ status: HTTPResponse.Status, _ document: String) -> Response {
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(string: document)))
        response.headers[.contentType] = "text/html; charset=utf-8"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// One field of an `application/x-www-form-urlencoded` body.
    static func formValue(_ name: String, in body: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }
}
