import Foundation
import Settings
import SpreadsheetReading
import Testing
import TestSupport

/// The configuration reference cannot drift from the code: docs/configuration.md is what
/// `faqsync settings` prints, every key the settings code reads is described, every described key
/// is read, and the shipped environment file lists each one an operator sets.
@Suite("configuration reference")
struct ConfigurationReferenceTests {
    static let catalogKeys = Set(SettingsCatalog.all.map(\.key))

    /// The keys the settings code reads: its string literals that look like environment names,
    /// the `_FILE` twin of every secret, and one `FAQ_COLUMN_` per field. The catalog's own file
    /// is left out, or it would describe itself.
    static func keysReadBySettingsCode() throws -> Set<String> {
        let directory = Fixtures.projectRoot.appendingPathComponent("Sources/Settings")
        var keys = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".swift") && file != "SettingsCatalog.swift" {
            let source = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            keys.formUnion(source.matches(of: /"([A-Z][A-Z0-9_]{2,})"/).map { String($0.output.1) })
            keys.formUnion(source.matches(of: /secret\(settings, key: "([A-Z0-9_]+)"/).map { "\($0.output.1)_FILE" })
        }
        keys.formUnion(FAQField.allCases.map { "FAQ_COLUMN_\($0.rawValue.uppercased())" })
        return keys
    }

    @Test func theDocumentIsWhatFaqsyncSettingsPrints() throws {
        let document = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        #expect(document == SettingsCatalog.markdown(), "regenerate it: swift run faqsync settings > docs/configuration.md")
        let printed = try CLIProcess.run(["settings"])
        #expect(printed.status == 0)
        #expect(printed.stdout == document)
    }

    @Test func everyKeyTheCodeReadsIsDescribedAndEveryDescribedKeyIsRead() throws {
        let read = try Self.keysReadBySettingsCode()
        #expect(read.subtracting(Self.catalogKeys).sorted() == [], "read but not described in SettingsCatalog")
        #expect(Self.catalogKeys.subtracting(read).sorted() == [], "described but never read")
        #expect(SettingsCatalog.all.count == Self.catalogKeys.count, "a key described twice")
    }

    @Test func theShippedEnvironmentFileListsEverySettingAnOperatorSets() throws {
        let environmentFile = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("etc/faqsync.env"), encoding: .utf8)
        let listed = Set(environmentFile.matches(of: /(?m)^#?([A-Z][A-Z0-9_]+)=/).map { String($0.output.1) })
        let operatorSet = SettingsCatalog.all.filter { $0.group != .systemd }.map(\.key)
        #expect(Set(operatorSet).subtracting(listed).sorted() == [], "missing from etc/faqsync.env")
        #expect(listed.subtracting(Self.catalogKeys).sorted() == [], "etc/faqsync.env sets a key faqsync does not read")
    }
}
