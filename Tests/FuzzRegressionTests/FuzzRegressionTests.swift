import Foundation
import Testing
import TestSupport

/// Every input that ever crashed, hung or bloated a parser (`Tests/FuzzRegressions/TARGET/`), replayed
/// through the fuzz targets' own entry points, one input per `faqsync-fuzz replay` process: each
/// must end normally, within the deadline and 1 GiB. The fuzzers themselves run outside CI
/// (`scripts/fuzz.sh`); their findings are added here once fixed.
@Suite("fuzz regressions")
struct FuzzRegressionTests {
    static let corpus = Fixtures.projectRoot.appendingPathComponent("Tests/FuzzRegressions")
    static let targets = ["xlsx", "xml-parts", "csv", "snapshot"]

    static var inputs: [String] {
        targets.flatMap { target in
            ((try? FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(target).path)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted().map { "\(target)/\($0)" }
        }
    }

    @Test func everyTargetHasRegressionInputs() {
        for target in Self.targets {
            #expect(Self.inputs.contains { $0.hasPrefix("\(target)/") }, "\(target) has inputs")
        }
    }

    @Test(arguments: FuzzRegressionTests.inputs)
    func replaysWithoutCrashHangOrBloat(_ input: String) throws {
        let target = String(input.split(separator: "/")[0])
        let outcome = try BoundedProcess.run(["replay", target, Self.corpus.appendingPathComponent(input).path],
                                             binary: CLIProcess.builtExecutable("faqsync-fuzz"))
        #expect(outcome.exitStatus == 0, "\(input): \(outcome)")
        #expect(outcome.signal == nil && !outcome.killedAtDeadline, "\(input): \(outcome)")
        #expect(outcome.peakResidentBytes < 1 << 30, "\(input): \(outcome)")
        #expect(outcome.stdout.contains("accepted") || outcome.stdout.contains("refused"), "\(input): \(outcome)")
    }
}
