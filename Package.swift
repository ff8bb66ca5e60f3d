// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-rlhf",
    products: [
        .library(name: "RLHF", targets: ["RLHF"]),
        .library(name: "RLHFStudy", targets: ["RLHFStudy"]),
        .library(name: "RLHFService", targets: ["RLHFService"]),
        .library(name: "RLHFGym", targets: ["RLHFGym"]),
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
        // The labeling service (RLHFService): HTTP server, SQLite and PostgreSQL storage, hashing.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
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
        // The labeling service: real people (or bots over HTTP) answer comparisons; trainers
        // submit pairs and wait for answers. Docs/LabelingService.md is its contract.
        .target(
            name: "RLHFService",
            dependencies: [
                "RLHF",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Assets")]
        ),
        // Gymnasium environments (`--env gym:ID`): a Python worker process (gym_worker.py,
        // embedded in the binary) steps them over a binary pipe protocol. No Swift dependency;
        // Python and Gymnasium are needed only when a gym: environment runs.
        .target(
            name: "RLHFGym",
            dependencies: ["RLHF"],
            resources: [.embedInCode("gym_worker.py"), .embedInCode("gym_reference.py")]
        ),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "RLHF",
                "RLHFStudy",
                "RLHFService",
                "RLHFGym",
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
        .testTarget(name: "RLHFGymTests", dependencies: ["RLHFGym", "RLHF", "RLHFTestSupport"]),
        .testTarget(name: "RLHFServiceTests", dependencies: [
            "RLHFService", "RLHF",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ]
)
