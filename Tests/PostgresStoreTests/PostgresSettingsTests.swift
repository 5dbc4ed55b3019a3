import Foundation
import CLibPQ
@testable import PostgresClient
import Testing
import TestSupport

@Suite("PostgreSQL settings")
struct PostgresSettingsTests {
    @Test func aURLIsParsedAndItsPasswordMasked() throws {
        let settings = try PostgresSettings(url: "postgresql://faq%20user:p%40ss'word@db.example:6543/faq_db?sslmode=verify-full&connect_timeout=7")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6543)
        #expect(settings.user == "faq user")
        #expect(settings.database == "faq_db")
        #expect(settings.sslMode == "verify-full")
        #expect(settings.connectTimeoutSeconds == 7)
        #expect(settings.redactedURL == "postgres://faq user:***@db.example:6543/faq_db?sslmode=verify-full")
        #expect(!"\(settings)".contains("p@ss"), "the password stays out of descriptions")
        #expect(!String(reflecting: settings).contains("p@ss"))
    }

    @Test func aMalformedURLIsRefusedWithoutEchoingThePassword() {
        #expect {
            _ = try PostgresSettings(url: "mysql://u:topsecret@host/db")
        } throws: { error in
            "\(error)".contains("postgres://") && !"\(error)".contains("topsecret")
        }
    }

    /// Quotes, backslashes and spaces in values cannot break out into other keywords: libpq
    /// itself parses the connection string back to the same values.
    @Test func connectionStringValuesSurviveLibpqParsing() throws {
        var settings = PostgresSettings(host: "db host", port: 5432, database: "faq' dbname='evil", user: #"u\ser"#)
        settings.password = PostgresPassword(#"it's a "quoted" \ pass word"#)
        let conninfo = settings.connectionString(applicationName: "faqsync")
        var error: UnsafeMutablePointer<CChar>?
        let options = try #require(PQconninfoParse(conninfo, &error), "libpq could not parse \(error.map { String(cString: $0) } ?? "")")
        defer { PQconninfoFree(options) }
        var parsed: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { parsed[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        #expect(parsed["host"] == "db host")
        #expect(parsed["dbname"] == "faq' dbname='evil")
        #expect(parsed["user"] == #"u\ser"#)
        #expect(parsed["password"] == #"it's a "quoted" \ pass word"#)
    }
}
