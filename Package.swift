// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-rlhf",
    products: [
        .library(name: "RLHF", targets: ["RLHF"]),
        .executable(name: "rlhf", targets: ["rlhf"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The numerical core: random numbers, environments, feedback, policies, algorithms.
        // Dependency-free and in one module so that generic numeric code is specialized.
        .target(name: "RLHF"),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "RLHF",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RLHFTests", dependencies: ["RLHF"]),
    ]
)
