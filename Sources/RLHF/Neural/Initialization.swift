#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How ``MLP/initialize(_:zeroLastLayer:using:)`` draws the weights (biases always start at 0).
public enum WeightInitialization: Sendable, Equatable {
    /// He (Kaiming) normal: N(0, 2 / ((1 + a²)·fan_in)), a the leaky-ReLU slope (0 for ReLU).
    case he
    /// Xavier/Glorot uniform: U(−l, l), l = √(6 / (fan_in + fan_out)).
    case xavier
    /// He for layers feeding a ReLU or leaky ReLU, Xavier for tanh and identity.
    case automatic
}

extension MLP {
    /// Draws all weights from `rng` layer by layer in buffer order (deterministic for a seed),
    /// sets biases to zero, and zeroes the last layer entirely when `zeroLastLayer` (a softmax
    /// policy then starts uniform, a critic or reward model at 0). Gradients are reset to zero.
    public mutating func initialize(_ scheme: WeightInitialization = .automatic, zeroLastLayer: Bool = false,
                                    using rng: inout Xoshiro256) {
        let layers = self.layers
        parameters.withUnsafeMutableBufferPointer { theta in
            for (l, layer) in layers.enumerated() {
                let w = theta.baseAddress! + layer.weightOffset
                let count = layer.inputSize * layer.outputSize
                (theta.baseAddress! + layer.biasOffset).update(repeating: 0, count: layer.outputSize)
                if zeroLastLayer && l == layers.count - 1 {
                    w.update(repeating: 0, count: count)
                    continue
                }
                var useHe: Bool
                var slope = 0.0
                switch scheme {
                case .he: useHe = true
                case .xavier: useHe = false
                case .automatic:
                    switch layer.activation {
                    case .relu: useHe = true
                    case let .leakyReLU(s): useHe = true; slope = s
                    case .tanh, .identity: useHe = false
                    }
                }
                if scheme == .he, case let .leakyReLU(s) = layer.activation { slope = s }
                if useHe {
                    let std = (2 / ((1 + slope * slope) * Double(layer.inputSize))).squareRoot()
                    for i in 0..<count { w[i] = std * rng.normal() }
                } else {
                    let limit = (6 / Double(layer.inputSize + layer.outputSize)).squareRoot()
                    for i in 0..<count { w[i] = limit * (2 * rng.uniform() - 1) }
                }
            }
        }
        zeroGradients()
    }
}
