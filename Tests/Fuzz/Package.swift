// swift-tools-version:6.0
// The libFuzzer binaries: one per fuzz target, each a thin shell over FuzzTargets in the main
// package. Built and run by scripts/fuzz.sh (`swift build -Xswiftc -sanitize=fuzzer,address`);
// not part of the main build or of CI.
import Foundation
import PackageDescription

/// The main package is two levels up; its identity is its directory's name.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
let targets = ["xlsx", "xml-parts", "csv", "snapshot"]

let package = Package(
    name: "faqsync-fuzz-binaries",
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "FuzzDriver", dependencies: [.product(name: "FuzzTargets", package: root.lastPathComponent.lowercased())]),
    ] + targets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzDriver"], path: "Sources/fuzz-\(name)")
    }
)
