import Foundation
import FuzzTargets
import SnapshotFormat
import SnapshotPublishing
import TestSupport
import ZIPFoundation

/// `faqsync-fuzz`: the fuzzers' companion, for where libFuzzer is not wanted.
///
///     faqsync-fuzz replay TARGET FILE...   run each input through the target's entry point (what
///                                          the regression test does, one input per process)
///     faqsync-fuzz seeds DIR               write the seed corpora: DIR/xlsx, DIR/xml-parts, DIR/csv, DIR/snapshot
///
/// TARGET is one of: xlsx, xml-parts, csv, snapshot.
let arguments = Array(CommandLine.arguments.dropFirst())
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("faqsync-fuzz: \(message)\n".utf8))
    exit(2)
}

switch arguments.first {
case "replay":
    guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]) else {
        fail("usage: faqsync-fuzz replay \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
    }
    for path in arguments.dropFirst(2) {
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        let started = ContinuousClock.now
        let accepted = target.run(data)
        let elapsed = ContinuousClock.now - started
        print("\(path): \(accepted ? "accepted" : "refused") in \(elapsed.formatted(.units(allowed: [.milliseconds], fractionalPart: .show(length: 1))))")
    }
case "seeds":
    guard arguments.count == 2 else { fail("usage: faqsync-fuzz seeds DIR") }
    do { try SeedCorpus.write(to: URL(fileURLWithPath: arguments[1])) } catch { fail("\(error)") }
default:
    fail("usage: faqsync-fuzz replay TARGET FILE... | faqsync-fuzz seeds DIR")
}

/// The seed corpora: the real fixture, the sample, generated sheets, the hostile files and small
/// hand-made edge cases, for each target in the shape it reads.
enum SeedCorpus {
    static func write(to directory: URL) throws {
        let scratch = try TemporaryDirectory("seeds")
        defer { scratch.remove() }
        var xlsx: [String: Data] = [:]
        for url in [Fixtures.faq, Fixtures.sampleFAQ] where FileManager.default.fileExists(atPath: url.path) {
            xlsx[url.lastPathComponent] = try Data(contentsOf: url)
        }
        for (name, faq, strings) in [("generated-shared", GeneratedFAQ(count: 40), XLSXWriter.StringStorage.shared),
                                     ("generated-inline", GeneratedFAQ(count: 40, seed: 7), .inline)] {
            let url = scratch.file("\(name).xlsx")
            try faq.writeXLSX(to: url, strings: strings)
            xlsx["\(name).xlsx"] = try Data(contentsOf: url)
        }
        for hostile in HostileSpreadsheet.all where hostile.fileExtension == "xlsx" && hostile.name != "deeply-nested" {
            xlsx["hostile-\(hostile.fileName)"] = try hostile.data()
        }
        xlsx["deeply-nested-small.xlsx"] = try HostileSpreadsheet.deeplyNested(bytes: 4_096)
        xlsx["last-column.xlsx"] = try HostileSpreadsheet.cellInLastColumn()
        xlsx["long-merge.xlsx"] = try HostileSpreadsheet.package(sheetXML: Data(HostileSpreadsheet.sheetWithMerge("A2:C9").utf8))
        try save(xlsx, in: directory.appendingPathComponent("xlsx"))

        // Every XML part of those workbooks, behind the selector byte of the part it stands for.
        var parts: [String: Data] = [:]
        for (name, data) in xlsx {
            let archive = try Archive(data: data, accessMode: .read)
            for entry in archive where entry.uncompressedSize < 256 << 10 {
                var bytes = Data()
                _ = try archive.extract(entry) { bytes.append($0) }
                guard let input = FuzzTarget.xmlPartsInput(part: entry.path, bytes: Array(bytes)) else { continue }
                parts["\(name)-\(entry.path.replacingOccurrences(of: "/", with: "_"))"] = Data(input)
            }
        }
        for (part, text) in FuzzTarget.validParts {
            if let input = FuzzTarget.xmlPartsInput(part: part, bytes: Array(text.utf8)) { parts["valid-\(part.replacingOccurrences(of: "/", with: "_"))"] = Data(input) }
        }
        try save(parts, in: directory.appendingPathComponent("xml-parts"))

        var csv: [String: Data] = [:]
        let generated = scratch.file("generated.csv")
        try GeneratedFAQ(count: 40).writeCSV(to: generated)
        csv["generated.csv"] = try Data(contentsOf: generated)
        for hostile in HostileSpreadsheet.all where hostile.fileExtension == "csv" { csv["hostile-\(hostile.fileName)"] = try hostile.data() }
        csv["bom-crlf-quotes.csv"] = Data("\u{FEFF}category,subcategory,question,answer\r\nc,s,\"q, \"\"quoted\"\"\r\nline\",a\r\n".utf8)
        csv["semicolons.csv"] = Data("category;subcategory;question;answer;priority\nA;B;\"Q; x\";Ans;high\n\nC;D;Q2;A2;\n".utf8)
        csv["unclosed.csv"] = Data("category,subcategory,question,answer\nc,s,\"never closed,a\n".utf8)
        csv["latin1.csv"] = Data([UInt8]("category,subcategory,question,answer\nc,s,Caf".utf8) + [0xE9] + [UInt8](",a\n".utf8))
        try save(csv, in: directory.appendingPathComponent("csv"))

        var snapshots: [String: Data] = [:]
        let path = scratch.path("seed.snapshot")
        let templates = (0..<6).map { index in
            SnapshotTemplate(id: "t\(index)", category: "c\(index % 2)", subcategory: "s", question: "Question \(index)?",
                             answer: "Answer \(index).", metadataJSON: #"[{"name":"priority","value":"high"}]"#,
                             vector: (0..<8).map { Float(($0 + index) % 5) / 5 })
        }
        _ = try SnapshotFileWriter(path: path).publish(model: .init(name: "faqsync-local-hash", version: "1", dimension: 8),
                                                       templates: templates, minimumGeneration: 3)
        let published = try Data(contentsOf: URL(fileURLWithPath: path))
        snapshots["valid"] = Data([0]) + published
        snapshots["valid-fixed-checksum"] = Data([1]) + published
        for damage in SnapshotHeaderDamage.allCases { snapshots["damaged-\(damage.rawValue)"] = Data([1]) + damage.apply(to: published) }
        // A delta over that file (format version 3): flag 2, the base's length, the base, the delta.
        let base = try SnapshotMapping(path: path)
        let header = base.view.header
        let deltaPath = scratch.path("seed-delta.snapshot")
        try? FileManager.default.removeItem(atPath: SnapshotLayout.basePath(of: deltaPath, generation: header.generation))
        _ = try SnapshotFileWriter(path: deltaPath).publishDelta(
            model: .init(name: "faqsync-local-hash", version: "1", dimension: 8),
            rows: SnapshotRows(base: base, rows: [.template(templates[2], termsAt: 2), .template(templates[0], termsAt: nil)]),
            over: DeltaBase(generation: header.generation, checksum: header.checksum, removedRows: [0b0001_0010], keptCount: 4,
                            keptQuestionLength: 8, keptAnswerLength: 8),
            base: base, minimumGeneration: header.generation + 1)
        let delta = try Data(contentsOf: URL(fileURLWithPath: deltaPath))
        let pair = withUnsafeBytes(of: UInt32(published.count).littleEndian) { Data($0) } + published + delta
        snapshots["delta"] = Data([2]) + pair
        snapshots["delta-fixed-checksums"] = Data([3]) + pair
        try save(snapshots, in: directory.appendingPathComponent("snapshot"))
    }

    static func save(_ files: [String: Data], in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: directory.appendingPathComponent(name)) }
        print("\(files.count) seeds in \(directory.path)")
    }
}
