import FuzzDriver

@_cdecl("fuzz_xml_parts_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(.xmlParts, argc, argv)
}
