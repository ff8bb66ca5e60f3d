import CKernels

extension GEMM {
    /// A matrix kernel of `CKernels`: the run-time variants that ``GEMM`` chooses between.
    ///
    /// The one in use is the best that the CPU and the operating system support — ``avx512`` where
    /// the CPU has AVX-512F and the OS enabled ZMM state (XCR0 bits 5–7), else ``avx2`` where it
    /// has AVX2+FMA and the OS enabled YMM state (XCR0 bits 1–2), else ``portable`` — unless the
    /// environment variable `RLHF_KERNEL` (`avx512`, `avx2`, `portable`, `auto`) names another
    /// available one. An unknown or unavailable name falls back to the best available kernel, with
    /// one line on standard error saying so.
    public enum Kernel: Int32, CaseIterable, Sendable, CustomStringConvertible {
        /// Plain C vector code (SSE2 on x86-64, NEON on ARM), 4×8 register tiles. Always available.
        case portable = 0
        /// AVX2 + FMA, 6×8 register tiles of YMM registers.
        case avx2 = 1
        /// AVX-512F, 8×16 register tiles of ZMM registers.
        case avx512 = 2
        /// The ``avx512`` kernel's blocking (8×16 tiles) compiled for AVX2: for tests only, so that
        /// machines without AVX-512 run that kernel's tile, edge and packing code. Available where
        /// ``avx2`` is; never selected for use and not in ``GEMM/availableKernels``.
        case avx512TilesOnAVX2 = 3

        /// The kernel's name as `rlhf bench` prints it: `portable`, `avx2+fma`, `avx512f`, `avx512-tiles-on-avx2`.
        public var description: String { String(cString: ck_kernel_name(rawValue)) }

        /// Whether this CPU and OS can run the kernel.
        public var isAvailable: Bool { (ck_available_kernels() >> UInt32(rawValue)) & 1 == 1 }

        /// Whether `RLHF_KERNEL` can select it (every kernel but the test-only ``avx512TilesOnAVX2``).
        public var isSelectable: Bool { self != .avx512TilesOnAVX2 }
    }

    /// The selectable kernels this CPU and OS can run, best first (``Kernel/portable`` always last).
    public static var availableKernels: [Kernel] {
        Kernel.allCases.filter { $0.isSelectable && $0.isAvailable }.sorted { $0.rawValue > $1.rawValue }
    }

    /// Every kernel that can run here, the test-only ``Kernel/avx512TilesOnAVX2`` included.
    public static var runnableKernels: [Kernel] {
        Kernel.allCases.filter(\.isAvailable)
    }

    /// The CKernels kernel in use (also with the BLAS trait, where it serves only the fused forms
    /// outside ``multiply(transposeA:transposeB:m:n:k:a:lda:b:ldb:c:ldc:accumulate:bias:)``).
    public static var kernel: Kernel { Kernel(rawValue: ck_selected_kernel()) ?? .portable }
}

extension GEMM.Kernel {
    /// How ``choose(request:among:)`` treated a request.
    public enum Request: Sendable, Equatable {
        /// The named kernel, or the best for no request, `""` or `"auto"`.
        case honoured
        /// Not a kernel name: the best available kernel instead.
        case unknown
        /// A kernel this CPU cannot run: the best available kernel instead.
        case unavailable
    }

    /// The kernel that `RLHF_KERNEL=request` selects when `available` can run: the rule the
    /// library applies at start-up, as a pure function for tests.
    public static func choose(request: String?, among available: [GEMM.Kernel]) -> (kernel: GEMM.Kernel, request: Request) {
        let mask = available.reduce(UInt32(0)) { $0 | (1 << UInt32($1.rawValue)) }
        var status: Int32 = 0
        let id: Int32
        if let request {
            id = request.withCString { ck_kernel_choose(mask, $0, &status) }
        } else {
            id = ck_kernel_choose(mask, nil, &status)
        }
        let outcome: Request = status == Int32(CK_KERNEL_REQUEST_UNKNOWN) ? .unknown
            : status == Int32(CK_KERNEL_REQUEST_UNAVAILABLE) ? .unavailable : .honoured
        return (GEMM.Kernel(rawValue: id) ?? .portable, outcome)
    }

    /// The kernels that a CPU reporting CPUID leaf 1 ECX `cpuid1ECX`, leaf 7 EBX `cpuid7EBX` and
    /// XCR0 `xcr0` can run (x86-64 decoding; for tests of the CPU and OS checks).
    public static func available(cpuid1ECX: UInt32, cpuid7EBX: UInt32, xcr0: UInt64) -> [GEMM.Kernel] {
        let mask = ck_kernel_mask_from_cpuid(cpuid1ECX, cpuid7EBX, xcr0)
        return allCases.filter { (mask >> UInt32($0.rawValue)) & 1 == 1 }
    }
}
