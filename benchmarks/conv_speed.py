"""How fast does digitnet take one training step of a convolutional network, against PyTorch?

One step (forward, cost, backpropagation, an SGD update) of a conv preset on a batch of 128 real
MNIST digits, float32, timed three ways in one process (``train_speed.py --conv PRESET`` runs it):

ours       ``Network.loss_and_gradient`` and ``SGD.step`` on theta, as ``model.train`` does.
GEMM only  the matrix products of that step alone, same shapes, outputs preallocated: per
           convolution and run of examples (``Conv2D.chunks``) ``cols W``, then ``cols^T dz`` at
           the first layer (which needs no dx) or, at the others, dx and dW from the patches of dz
           (``patches(dz) W_flipped`` and ``x^T patches(dz)``); per dense layer as train_speed's.
           Their time over ours is ``gemm_fraction``; the rest of the step (``1 - gemm_fraction``)
           is the patches' copies, pooling, activations, biases, the cost and the update.
PyTorch    the same layers (Conv2d with padding k // 2, ReLU, MaxPool2d(2), Flatten, Linear), loss
           and SGD, when torch imports. ``torch_ratio`` = its step time / ours (> 1: we are faster).

Steps are taken in turn (ours, GEMM, torch, ours, ...), ``--repeats`` rounds of ``--steps`` steps
after a warm-up; the median of the rounds is reported. Then each of our layers' forward and backward
steps is timed apart (where the time outside the products goes), and one image's ``predict_proba``
and ``input_gradient`` (what a request costs), best of 50.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.architecture import Architecture, layer_list
from model.conv import Conv2D
from model.layers import Dense
from model.network import Network
from model.optim import SGD
from model.pool import MaxPool

Step = Callable[[], None]
BATCH = 128


def ours(net: Network, x: np.ndarray, y: np.ndarray) -> Step:
    optimizer = SGD(net.theta)

    def step() -> None:
        net.loss_and_gradient(x, y)
        optimizer.step(net.theta, net.grad, 0.01)

    return step


def products(net: Network, n: int) -> Step:
    """The matrix products of one step of ``net`` on n examples, on random data of the same shapes."""
    rng = np.random.default_rng(0)
    work: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (a, b, out): out = a @ b

    def rand(*shape: int) -> np.ndarray:
        return rng.random(shape, dtype=np.float32)

    h, w, _ = net.arch.image
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Conv2D):  # run by run, as Conv2D's forward and backward take them,
            k, _, c_in, c_out = layer.W.shape  # each run in the same arrays, as its Scratch has them
            h_out, w_out = layer.out_size(h, w)
            runs = layer.chunks(n, h, w)
            longest = runs[0].stop - runs[0].start
            cols, dz = rand(longest * h_out * w_out, k * k * c_in), rand(longest * h_out * w_out, c_out)
            dz_cols, x_rows = rand(longest * h * w, k * k * c_out), rand(longest * h * w, c_in)
            W, flipped = layer.W.reshape(-1, c_out), rand(k * k * c_out, c_in)
            for run in runs:
                m, m_in = (run.stop - run.start) * h_out * w_out, (run.stop - run.start) * h * w
                work.append((cols[:m], W, np.empty((m, c_out), np.float32)))  # (M, kkC_in) @ (kkC_in, C_out)
                if i == net.first_weighted:  # dW only: (kkC_in, M) @ (M, C_out)
                    work.append((cols[:m].T, dz[:m], np.empty_like(W)))
                    continue
                work += [(dz_cols[:m_in], flipped, np.empty((m_in, c_in), np.float32)),  # dx
                         (x_rows[:m_in].T, dz_cols[:m_in], np.empty((c_in, k * k * c_out), np.float32))]  # dW
            h, w = h_out, w_out
        elif isinstance(layer, MaxPool):
            h, w = h // 2, w // 2
        elif isinstance(layer, Dense):
            n_in, n_out = layer.W.shape
            x, dz = rand(n, n_in), rand(n, n_out)
            work += [(x, layer.W, np.empty((n, n_out), np.float32)), (x.T, dz, np.empty_like(layer.W))]
            if i != net.first_weighted:
                work.append((dz, layer.W.T, np.empty_like(x)))

    def step() -> None:
        for a, b, out in work:
            np.matmul(a, b, out=out)

    return step


def pytorch(arch: Architecture, x: np.ndarray, y: np.ndarray, threads: int) -> Step | None:
    """The same network, loss and SGD in PyTorch on the CPU, channels first as torch has them."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    from model.architecture import parse_image_layer

    torch.manual_seed(0)
    h, w, c_in = arch.image
    modules: list[torch.nn.Module] = []
    for name in arch.image_layers:
        spec = parse_image_layer(name)
        if spec is None:
            modules.append(torch.nn.MaxPool2d(2))
            continue
        pad = spec.k // 2 if spec.padding == "same" else 0
        modules += [torch.nn.Conv2d(c_in, spec.channels, spec.k, padding=pad), torch.nn.ReLU()]
        c_in = spec.channels
    dense = arch.dense_sizes()
    modules.append(torch.nn.Flatten())
    for i, (n_in, n_out) in enumerate(zip(dense[:-1], dense[1:], strict=True)):
        modules += [torch.nn.Linear(n_in, n_out)] + ([torch.nn.ReLU()] if i < len(dense) - 2 else [])
    model = torch.nn.Sequential(*modules)
    loss_fn, opt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01)
    tx = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, h, w, arch.image[2]).transpose(0, 3, 1, 2)))
    ty = torch.from_numpy(y.astype(np.int64))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(tx), ty).backward()
        opt.step()

    return step


def _torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return f"{torch.__version__} threads={torch.get_num_threads()}"


def breakdown(net: Network, x: np.ndarray, y: np.ndarray, steps: int) -> list[tuple[str, float, float]]:
    """(layer, forward ms, backward ms) of each layer of ours, the medians of ``steps`` steps."""
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in net.layers]
    for _ in range(steps):
        a = x
        for layer, (fwd, _) in zip(net.layers[:-1], times, strict=False):
            start = time.perf_counter()
            a = layer.forward(a)
            fwd.append(time.perf_counter() - start)
        start = time.perf_counter()
        _, probs = net.layers[-1].forward_cross_entropy(a, y)
        dz = net.cost.delta(net.layers[-1].z, probs, y, net.layers[-1].f)
        times[-1][0].append(time.perf_counter() - start)
        for i in range(len(net.layers) - 1, net.first_weighted - 1, -1):
            start = time.perf_counter()
            dx = net.layers[i].backward(dz, need_input_grad=i > net.first_weighted)
            if i > net.first_weighted:
                dz = net.layers[i - 1].activation_backward(dx)
            times[i][1].append(time.perf_counter() - start)
    return [(type(layer).__name__, 1e3 * statistics.median(f), 1e3 * statistics.median(b) if b else 0.0)
            for layer, (f, b) in zip(net.layers, times, strict=True)]


def one_image_ms(net: Network, x: np.ndarray, repeats: int = 50) -> dict[str, float]:
    """Best ms of ``predict_proba`` and of ``input_gradient`` for one image (what a request asks)."""
    image = x[:1]
    best = {}
    for name, call in (("predict", net.predict_proba), ("explain", net.input_gradient)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call(image)
            times.append(time.perf_counter() - start)
        best[name] = round(1e3 * min(times), 3)
    return best


@dataclass
class ConvResult:
    preset: str
    layers: list[str]
    batch: int
    ms_per_step: dict[str, float]  # ours, gemm, pytorch (when installed): medians
    gemm_fraction: float  # the products' time / ours
    torch_ratio: float | None  # PyTorch's time / ours (> 1: we are faster)
    torch: str | None
    breakdown_ms: list[tuple[str, float, float]]  # (layer, forward, backward) of ours
    one_image_ms: dict[str, float]


def run(
    preset: str, x: np.ndarray, y: np.ndarray, steps: int, repeats: int, threads: int
) -> ConvResult:
    """Seconds per step of each contender (medians of ``repeats`` rounds of ``steps`` steps)."""
    arch = Architecture.from_layers(layer_list(preset))
    net = Network(arch)
    net.initialize(np.random.default_rng(0))
    contenders = {"ours": ours(net, x, y), "gemm": products(net, len(y))}
    torch_step = pytorch(arch, x, y, threads)
    if torch_step is not None:
        contenders["pytorch"] = torch_step
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeats + 1):
        for name, step in contenders.items():
            start = time.perf_counter()
            for _ in range(steps):
                step()
            if round_:  # the first round warms up
                seconds[name].append((time.perf_counter() - start) / steps)
    median = {name: statistics.median(s) for name, s in seconds.items()}
    return ConvResult(
        preset, arch.layers(), len(y), {name: round(1e3 * s, 2) for name, s in median.items()},
        median["gemm"] / median["ours"],
        median["pytorch"] / median["ours"] if "pytorch" in median else None, _torch_version(),
        [(name, round(f, 2), round(b, 2)) for name, f, b in breakdown(net, x, y, steps)],
        one_image_ms(net, x),
    )


def report(result: ConvResult) -> None:
    """The step times, the ratios, our layers' forward and backward times, one image's passes."""
    print(f"{result.preset}: {', '.join(result.layers)}; batch {result.batch}, float32")
    for name, ms in result.ms_per_step.items():
        print(f"  {name:<8}{ms:>8.2f} ms/step")
    ratio = "n/a" if result.torch_ratio is None else f"{result.torch_ratio:.2f}"
    print(f"gemm_fraction = {result.gemm_fraction:.2f} (the step outside the products: "
          f"{1 - result.gemm_fraction:.2f})")
    print(f"torch_ratio = {ratio} (PyTorch's step time / ours; goal >= 0.6 at 1 thread)")
    print(f"{'layer':<10}{'forward ms':>12}{'backward ms':>13}")
    for name, f, b in result.breakdown_ms:
        print(f"{name:<10}{f:>12.2f}{b:>13.2f}")
    print(f"one image, best of 50: predict_proba {result.one_image_ms['predict']} ms, "
          f"input_gradient {result.one_image_ms['explain']} ms")
