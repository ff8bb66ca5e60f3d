#!/usr/bin/env python3
"""Reference timing for `rlhf bench`'s MLP figures: the same forward + backward pass in PyTorch
(or, without torch, NumPy), single-threaded, float64.

What is timed matches NeuralBenchmark.forwardBackwardMicros (Sources/RLHF/Neural/NeuralBenchmark.swift):
an MLP of 3 dense layers width→width→width→width, ReLU on the two hidden layers, identity output;
a fixed random input batch (256 rows) and a fixed random output gradient G (normal / batch). One
pass is the forward pass plus the backward pass of that output gradient into every weight and bias
gradient (accumulated, as the Swift code adds into its gradient buffer), no input gradient, no
optimizer step — i.e. the gradient of the linear loss sum(output * G). Weights are He-normal and
biases zero, as MLP's automatic initialization does for ReLU.

Timing also follows the Swift bench: warm-up, then `rounds` rounds of `iterations / rounds` passes;
the fastest round's mean is reported (best-of-N), in µs per pass.

Usage:
    python3 scripts/bench_pytorch.py                 # torch if importable, else NumPy
    python3 scripts/bench_pytorch.py --backend numpy
    python3 scripts/bench_pytorch.py --json

The first output line names the backend used ("torch <version>" or "numpy <version> (torch not
installed)") and its threading. Run it on the machine and in the same session as `rlhf bench`.
"""

import argparse
import json
import os
import sys
import time

# One thread for every BLAS that NumPy or torch might load; must be set before they are imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(var, "1")


def he_weights(rng, fan_in, fan_out):
    """He-normal weights N(0, 2 / fan_in), stored fan_in × fan_out (x @ W)."""
    return rng.standard_normal((fan_in, fan_out)) * (2.0 / fan_in) ** 0.5


def time_passes(step, iterations, rounds):
    """Warm-up, then the fastest of `rounds` rounds: mean seconds per call of `step`."""
    for _ in range(max(iterations // 10, 1)):
        step()
    per_round = max(iterations // rounds, 1)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            step()
        best = min(best, (time.perf_counter() - start) / per_round)
    return best


def bench_torch(torch, width, layers, batch, iterations, rounds):
    import numpy as np

    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    weights = [torch.tensor(he_weights(rng, width, width), dtype=torch.float64, requires_grad=True)
               for _ in range(layers)]
    biases = [torch.zeros(width, dtype=torch.float64, requires_grad=True) for _ in range(layers)]
    x = torch.tensor(rng.standard_normal((batch, width)), dtype=torch.float64)
    g = torch.tensor(rng.standard_normal((batch, width)) / batch, dtype=torch.float64)

    def step():
        h = x
        for i in range(layers):
            h = torch.addmm(biases[i], h, weights[i])
            if i < layers - 1:
                h = torch.relu(h)
        h.backward(g)   # accumulates into .grad, as the Swift code adds into its gradient buffer

    with torch.autograd.set_grad_enabled(True):
        return time_passes(step, iterations, rounds)


def bench_numpy(np, width, layers, batch, iterations, rounds):
    rng = np.random.default_rng(1)
    weights = [he_weights(rng, width, width) for _ in range(layers)]
    biases = [np.zeros(width) for _ in range(layers)]
    grad_w = [np.zeros_like(w) for w in weights]
    grad_b = [np.zeros_like(b) for b in biases]
    x = rng.standard_normal((batch, width))
    g = rng.standard_normal((batch, width)) / batch
    acts = [None] * (layers + 1)

    def step():
        # Forward: a_{i+1} = relu(a_i W_i + b_i), identity on the last layer.
        acts[0] = x
        for i in range(layers):
            z = acts[i] @ weights[i]
            z += biases[i]
            if i < layers - 1:
                np.maximum(z, 0.0, out=z)
            acts[i + 1] = z
        # Backward of the output gradient: dW_i += a_iᵀ δ_i, db_i += Σ_rows δ_i,
        # δ_{i-1} = (δ_i W_iᵀ) ⊙ [a_i > 0].
        delta = g
        for i in range(layers - 1, -1, -1):
            grad_w[i] += acts[i].T @ delta
            grad_b[i] += delta.sum(axis=0)
            if i > 0:
                delta = (delta @ weights[i].T) * (acts[i] > 0)

    return time_passes(step, iterations, rounds)


def numpy_blas():
    """The BLAS NumPy is linked against, as far as NumPy says."""
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:   # older NumPy: no mode="dicts"
        return "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["auto", "torch", "numpy"], default="auto")
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    torch = None
    if args.backend in ("auto", "torch"):
        try:
            import torch as torch_module
            torch = torch_module
        except ImportError:
            if args.backend == "torch":
                sys.exit("torch is not installed (pip install torch); --backend numpy uses NumPy instead")
    if torch is not None:
        backend = f"torch {torch.__version__}"
        torch.set_num_threads(1)
        detail = f"threads {torch.get_num_threads()}, CPU capability {torch.backends.cpu.get_cpu_capability()}"
    else:
        import numpy as np
        backend = f"numpy {np.__version__}" + (" (torch not installed)" if args.backend == "auto" else "")
        detail = f"BLAS {numpy_blas()}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"

    results = {}
    for width in args.widths:
        if torch is not None:
            seconds = bench_torch(torch, width, args.layers, args.batch, args.iterations, args.rounds)
        else:
            import numpy as np
            seconds = bench_numpy(np, width, args.layers, args.batch, args.iterations, args.rounds)
        results[width] = seconds * 1e6

    if args.json:
        print(json.dumps({"backend": backend, "detail": detail, "layers": args.layers, "batch": args.batch,
                          "dtype": "float64",
                          "micros_per_pass": {str(w): us for w, us in results.items()}}, sort_keys=True))
        return
    print(f"backend {backend}; {detail}")
    for width, us in results.items():
        print(f"MLP fwd+bwd, width {width:<4} {us:10.1f} µs   ({'-'.join([str(width)] * (args.layers + 1))} ReLU, "
              f"batch {args.batch}, float64, best of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
