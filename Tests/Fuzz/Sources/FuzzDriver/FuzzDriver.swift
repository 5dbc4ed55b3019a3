import FuzzTargets

// libFuzzer's entry for programs that keep their own main (LLVM 12+); linked from
// -sanitize=fuzzer's runtime.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Runs libFuzzer on `target` with the process's arguments (corpus directories, -max_total_time=…).
/// Each binary's main calls this: SwiftPM links an executable's entry as `<module>_main`, so the
/// binaries cannot use libFuzzer's own main.
public func runLibFuzzer(_ target: FuzzTarget, _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    // C callbacks cannot capture: one per target.
    let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = switch target {
    case .xlsx: { FuzzTarget.xlsx.run(UnsafeRawBufferPointer(start: $0, count: $1)); return 0 }
    case .xmlParts: { FuzzTarget.xmlParts.run(UnsafeRawBufferPointer(start: $0, count: $1)); return 0 }
    case .csv: { FuzzTarget.csv.run(UnsafeRawBufferPointer(start: $0, count: $1)); return 0 }
    case .snapshot: { FuzzTarget.snapshot.run(UnsafeRawBufferPointer(start: $0, count: $1)); return 0 }
    }
    return runFuzzerDriver(&count, &arguments, callback)
}
