// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-rlhf",
    products: [
        .library(name: "RLHF", targets: ["RLHF"]),
        .library(name: "RLHFStudy", targets: ["RLHFStudy"]),
        .executable(name: "rlhf", targets: ["rlhf"]),
    ],
    traits: [
        // Opt-in: route the neural layer's matrix products through OpenBLAS (libopenblas-dev,
        // found with pkg-config). The default build needs no BLAS and uses CKernels.
        .trait(name: "BLAS", description: "Use OpenBLAS (cblas_dgemm) for the neural layer's matrix products"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // The numerical core: random numbers, environments, feedback, policies, algorithms.
        // Dependency-free and in one module so that generic numeric code is specialized.
        .target(
            name: "RLHF",
            dependencies: [
                "CKernels",
                .target(name: "COpenBLAS", condition: .when(traits: ["BLAS"])),
            ],
            swiftSettings: [
                .define("BLAS", .when(traits: ["BLAS"])),
            ]
        ),
        // Matrix kernels in C: AVX2+FMA variants chosen at run time, portable fallback.
        .target(name: "CKernels"),
        // OpenBLAS's CBLAS interface, used only by the BLAS trait.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Studies: YAML study files, the parallel resumable runner, reports and SVG plots.
        // Its own target so that the numerical core stays dependency-free.
        .target(
            name: "RLHFStudy",
            dependencies: [
                "RLHF",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "RLHF",
                "RLHFStudy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A worked example of the open registries: a user-defined environment and algorithm,
        // trained by name and compared with ZPG in a small study (built and run by CI).
        .executableTarget(
            name: "rlhf-example",
            dependencies: ["RLHF", "RLHFStudy"],
            path: "Examples/CustomEnvironment"
        ),
        // Fixtures shared by both test targets (the `classic` setting, temporary folders, …).
        .target(name: "RLHFTestSupport", dependencies: ["RLHF"], path: "Tests/RLHFTestSupport"),
        .testTarget(name: "RLHFTests", dependencies: ["RLHF", "RLHFTestSupport"]),
        .testTarget(name: "RLHFStudyTests", dependencies: ["RLHFStudy", "RLHF", "RLHFTestSupport"]),
    ]
)
