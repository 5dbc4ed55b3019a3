import Foundation

/// Debian's `chromium`, headless: loads a page the way a person's browser does (HTML parser,
/// CSS, no script of ours) and hands back the DOM it built or a screenshot.
package struct HeadlessBrowser {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    package let executable: String
    /// The `Accept-Language` the browser sends, as a person's browser would.
    package var acceptLanguage = "en-US,en"

    package init() throws {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(description: "chromium is not installed; scripts/install-deps.sh installs it (apt-get install chromium)")
        }
        executable = found
    }

    /// The DOM after the page loaded, serialised (`--dump-dom`).
    package func dumpDOM(_ url: String) throws -> String {
        try run(["--dump-dom", url])
    }

    /// A PNG of the page at `width` × `height` CSS pixels.
    package func screenshot(_ url: String, to path: String, width: Int = 1200, height: Int = 1600) throws {
        _ = try run(["--screenshot=\(path)", "--window-size=\(width),\(height)", "--hide-scrollbars", url])
        guard FileManager.default.fileExists(atPath: path) else { throw Failure(description: "chromium wrote no screenshot to \(path)") }
    }

    private func run(_ arguments: [String]) throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("faqsync-chromium-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // --no-sandbox: the tests may run as root, where chromium refuses its sandbox.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                             "--user-data-dir=\(profile.path)", "--accept-lang=\(acceptLanguage)", "--lang=\(acceptLanguage.prefix(2))"]
            + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A hang guard, not a speed assertion: a page that never finishes loading fails the test.
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: deadline)
        let errors = ErrorCollector(err)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        deadline.cancel()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw Failure(description: "chromium \(arguments.joined(separator: " ")) ended with \(process.terminationStatus): \(errors.text.suffix(2_000))")
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}

/// Drains a pipe on its own thread so that a chatty child never blocks on a full pipe.
private final class ErrorCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            if chunk.isEmpty { handle.readabilityHandler = nil; return }
            self.lock.lock()
            if self.data.count < 1 << 20 { self.data.append(chunk) }
            self.lock.unlock()
        }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
