import Testing
import RLHF

/// Which matrix kernel runs: the CPUID and XCR0 checks and the `RLHF_KERNEL` rule, as pure functions.
@Suite("Neural: matrix kernel selection")
struct NeuralKernelSelectionTests {
    // CPUID leaf 1 ECX: FMA bit 12, OSXSAVE bit 27, AVX bit 28. Leaf 7 EBX: AVX2 bit 5, AVX-512F bit 16.
    static let ecx1: UInt32 = (1 << 12) | (1 << 27) | (1 << 28)
    static let ebx7: UInt32 = (1 << 5) | (1 << 16)
    /// XCR0 with x87, SSE, AVX (bits 0–2) and opmask/ZMM (bits 5–7) state enabled.
    static let fullXCR0: UInt64 = 0xE7

    @Test("AVX-512 needs the CPU feature and the OS's ZMM state; AVX2 needs AVX2, FMA and YMM state")
    func cpuAndOSChecks() {
        typealias K = GEMM.Kernel
        #expect(K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: Self.ebx7, xcr0: Self.fullXCR0)
                == [.portable, .avx2, .avx512, .avx512TilesOnAVX2])
        // The OS saves YMM but not ZMM state (XCR0 bits 5–7 clear): no AVX-512.
        #expect(K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: Self.ebx7, xcr0: 0x7) == [.portable, .avx2, .avx512TilesOnAVX2])
        // Only part of the ZMM state enabled.
        #expect(!K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: Self.ebx7, xcr0: 0x67).contains(.avx512))
        // No AVX-512F on the CPU.
        #expect(!K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: 1 << 5, xcr0: Self.fullXCR0).contains(.avx512))
        // No OSXSAVE, or YMM state off: portable only, whatever the feature bits.
        #expect(K.available(cpuid1ECX: Self.ecx1 & ~(1 << 27), cpuid7EBX: Self.ebx7, xcr0: Self.fullXCR0) == [.portable])
        #expect(K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: Self.ebx7, xcr0: 0x3) == [.portable])
        #expect(K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: Self.ebx7, xcr0: 0xE3) == [.portable])
        // AVX2 without FMA: portable.
        #expect(K.available(cpuid1ECX: Self.ecx1 & ~(1 << 12), cpuid7EBX: Self.ebx7, xcr0: Self.fullXCR0) == [.portable])
        // AVX-512F alone, without AVX2 (not a real CPU): not used.
        #expect(K.available(cpuid1ECX: Self.ecx1, cpuid7EBX: 1 << 16, xcr0: Self.fullXCR0) == [.portable])
    }

    @Test("RLHF_KERNEL selects an available kernel; unknown or unavailable names fall back to the best")
    func requests() {
        typealias K = GEMM.Kernel
        let all: [K] = [.portable, .avx2, .avx512]
        let noAVX512: [K] = [.portable, .avx2]
        #expect(K.choose(request: nil, among: all) == (.avx512, .honoured))
        #expect(K.choose(request: "", among: all) == (.avx512, .honoured))
        #expect(K.choose(request: "auto", among: noAVX512) == (.avx2, .honoured))
        #expect(K.choose(request: "avx2", among: all) == (.avx2, .honoured))
        #expect(K.choose(request: "avx2+fma", among: all) == (.avx2, .honoured))
        #expect(K.choose(request: "avx512f", among: all) == (.avx512, .honoured))
        #expect(K.choose(request: "portable", among: all) == (.portable, .honoured))
        #expect(K.choose(request: "avx512", among: noAVX512) == (.avx2, .unavailable))
        #expect(K.choose(request: "avx2", among: [.portable]) == (.portable, .unavailable))
        #expect(K.choose(request: "sse9", among: noAVX512) == (.avx2, .unknown))
        // The test-only kernel cannot be selected.
        #expect(K.choose(request: "avx512-tiles-on-avx2", among: [.portable, .avx2, .avx512TilesOnAVX2]) == (.avx2, .unknown))
    }

    @Test("kernel names")
    func names() {
        #expect(GEMM.Kernel.allCases.map(\.description) == ["portable", "avx2+fma", "avx512f", "avx512-tiles-on-avx2"])
        #expect(GEMM.Kernel.portable.isAvailable)
    }
}
