// swift-tools-version:6.0
import PackageDescription

// Layering (see Docs/ARCHITECTURE.md):
//   CSampShims, CLibdw  - C only: what Swift cannot call directly.
//   SampSystem          - the only Swift target that imports C or touches Unsafe*.
//   SampCore            - pure Swift: Python model, sampler loop, aggregation, writers.
//   sampswift           - the command line, thin.
// Release builds skip the run-time exclusivity checks (swift_beginAccess on every
// access to a class's stored property): about a tenth of the sampler's instructions
// per sample (callgrind, Tests/Benchmarks/notes.md). The code is single-threaded
// and the compiler still checks what it can see statically; debug builds and the
// tests keep the run-time checks.
let sampleLoopSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
  name: "sampswift",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "sampswift", targets: ["sampswift"]),
    // For the fuzz targets in Tests/Fuzz (a package of their own, built with -sanitize=fuzzer).
    .library(name: "SampCore", targets: ["SampCore"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibdw", pkgConfig: "libdw", providers: [.apt(["libdw-dev", "libelf-dev"])]),
    .target(
      name: "CSampShims",
      cSettings: [.define("_GNU_SOURCE")],
      linkerSettings: [
        .linkedLibrary("unwind-ptrace"), .linkedLibrary("unwind-generic"),
        .linkedLibrary("unwind"), .linkedLibrary("lzma"), .linkedLibrary("stdc++"),
      ]),
    .target(name: "SampSystem", dependencies: ["CSampShims", "CLibdw"], swiftSettings: sampleLoopSettings),
    .target(
      name: "SampCore", dependencies: ["SampSystem"],
      exclude: ["Python/Layouts/generate_layouts.py", "Python/Layouts/offsets.c"],
      swiftSettings: sampleLoopSettings),
    .executableTarget(
      name: "sampswift",
      dependencies: ["SampCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .testTarget(name: "SampCoreTests", dependencies: ["SampCore", "SampSystem"]),
    .testTarget(
      name: "IntegrationTests", dependencies: ["SampCore", "SampSystem", "sampswift"],
      resources: [.copy("Fixtures")]),
  ],
  swiftLanguageModes: [.v5]
)
