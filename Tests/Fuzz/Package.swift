// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the parsers that read untrusted bytes: the ELF reader,
// the CPython line-table decoders, string decoding, _Py_DebugOffsets, and the
// /proc and folded-text parsers. Built and run by `make fuzz` (briefly, in
// `make test`):  swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
let targets = ["FuzzElf", "FuzzLineTable", "FuzzPythonString", "FuzzDebugOffsets", "FuzzProcText"]

let package = Package(
  name: "sampswift-fuzz",
  dependencies: [.package(name: "sampswift", path: "../..")],
  targets: [.target(name: "FuzzSupport")] + targets.map {
    .executableTarget(name: $0, dependencies: ["FuzzSupport", .product(name: "SampCore", package: "sampswift")])
  },
  swiftLanguageModes: [.v5]
)
