import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An elementwise activation function of a dense layer.
///
/// Every supported activation has a derivative that can be read off its output y = f(x)
/// (ReLU and leaky ReLU: the sign of y; tanh: 1 − y²), so backpropagation keeps only outputs.
public enum Activation: Sendable, Equatable, Hashable {
    /// f(x) = x.
    case identity
    /// f(x) = max(0, x); the derivative at 0 is taken as 0.
    case relu
    /// f(x) = tanh x.
    case tanh
    /// f(x) = x for x > 0, slope·x otherwise (slope ≥ 0, typically 0.01).
    case leakyReLU(slope: Double)

    /// A short name, parsed back by ``init(name:)``: `identity`, `relu`, `tanh`, `leaky-relu(0.01)`.
    public var name: String {
        switch self {
        case .identity: return "identity"
        case .relu: return "relu"
        case .tanh: return "tanh"
        case let .leakyReLU(slope): return "leaky-relu(\(slope))"
        }
    }

    /// Parses ``name`` (also `leaky-relu` alone, slope 0.01); nil for an unknown name.
    public init?(name: String) {
        switch name {
        case "identity", "linear": self = .identity
        case "relu": self = .relu
        case "tanh": self = .tanh
        case "leaky-relu", "leaky_relu", "leakyrelu": self = .leakyReLU(slope: 0.01)
        default:
            guard name.hasPrefix("leaky-relu("), name.hasSuffix(")"),
                  let slope = Double(name.dropFirst("leaky-relu(".count).dropLast()), slope >= 0 else { return nil }
            self = .leakyReLU(slope: slope)
        }
    }

    /// f(x) for one value.
    @inlinable
    public func value(_ x: Double) -> Double {
        switch self {
        case .identity: return x
        case .relu: return x > 0 ? x : 0
        case .tanh: return libmTanh(x)
        case let .leakyReLU(slope): return x > 0 ? x : slope * x
        }
    }

    /// f′ expressed through the output y = f(x).
    @inlinable
    public func derivative(output y: Double) -> Double {
        switch self {
        case .identity: return 1
        case .relu: return y > 0 ? 1 : 0
        case .tanh: return 1 - y * y
        case let .leakyReLU(slope): return y > 0 ? 1 : slope
        }
    }

    /// The activation's code and slope for the C elementwise kernels.
    var kernelCode: (kind: Int32, slope: Double) {
        switch self {
        case .identity: return (Int32(CK_ACT_IDENTITY), 0)
        case .relu: return (Int32(CK_ACT_RELU), 0)
        case .tanh: return (Int32(CK_ACT_TANH), 0)
        case let .leakyReLU(slope): return (Int32(CK_ACT_LEAKY_RELU), slope)
        }
    }

    /// Applies f in place to `count` values.
    public func apply(_ values: UnsafeMutablePointer<Double>, count: Int) {
        switch self {
        case .identity:
            return
        case .tanh:
            for i in 0..<count { values[i] = libmTanh(values[i]) }
        case .relu, .leakyReLU:
            let code = kernelCode
            ck_activation_forward(code.kind, code.slope, count, values)
        }
    }

    /// Writes gradient[i]·f′ into `result` (which may be `gradient` itself), f′ read from the layer's
    /// `output`: turns dL/dy into dL/dx for `count` values.
    public func backpropagate(output: UnsafePointer<Double>, gradient: UnsafePointer<Double>,
                              into result: UnsafeMutablePointer<Double>, count: Int) {
        let code = kernelCode
        ck_activation_backward(code.kind, code.slope, count, output, gradient, result)
    }
}

/// The C library's tanh under a name that does not collide with the enum case.
@usableFromInline @inline(__always)
func libmTanh(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.tanh(x)
    #else
    return Darwin.tanh(x)
    #endif
}
