# ResNet-18/50-style and MobileNetV2-style graphs with seeded random weights, written as ONNX.
"""Usage: python scripts/export_models.py [--out models]        # the small test-size variants
          python scripts/export_models.py --full --out DIR       # 224x224 ImageNet-size models

The architectures are written once against a small "graph writer" interface and rendered two
ways: OnnxWriter emits ONNX nodes (Conv, BatchNormalization, Relu, Clip, Add, MaxPool,
GlobalAveragePool, Flatten, Gemm) and needs only numpy + onnx; TorchRunner evaluates the same
graph with the same weights through torch.nn.functional, for comparisons against PyTorch.
Weights are random but seeded; BatchNormalization statistics are random around identity and
the last BN of every residual branch is scaled down so activations stay O(1) with depth.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _Weights:
    """Seeded weight source shared by both writers so they hold identical parameters."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def conv(self, cout, cin_per_group, k):
        fan_in = cin_per_group * k * k
        w = self.rng.standard_normal((cout, cin_per_group, k, k)) * np.sqrt(2.0 / fan_in)
        return w.astype(np.float32)

    def bn(self, c, gamma_scale=1.0):
        gamma = self.rng.uniform(0.5, 1.0, c) * gamma_scale
        beta = self.rng.uniform(-0.1, 0.1, c)
        mean = self.rng.normal(0.0, 0.1, c)
        var = self.rng.uniform(0.5, 1.5, c)
        return [a.astype(np.float32) for a in (gamma, beta, mean, var)]

    def fc(self, cout, cin):
        w = self.rng.standard_normal((cout, cin)) / np.sqrt(cin)
        return w.astype(np.float32), self.rng.uniform(-0.1, 0.1, cout).astype(np.float32)


class OnnxWriter:
    def __init__(self, seed=0):
        self.w = _Weights(seed)
        self.nodes, self.inits, self.count = [], [], 0

    def _name(self, kind):
        self.count += 1
        return f"{kind}_{self.count}"

    def _init(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def _node(self, op, inputs, **attrs):
        name = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv_bn(self, x, cin, cout, k, stride=1, groups=1, act="relu", bn_scale=1.0):
        n = self._name("conv")
        w = self._init(n + ".weight", self.w.conv(cout, cin // groups, k))
        y = self._node(
            "Conv",
            [x, w],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[k // 2] * 4,
            group=groups,
        )
        g, b, m, v = self.w.bn(cout, bn_scale)
        names = [self._init(f"{n}.bn.{s}", a) for s, a in zip("gbmv", (g, b, m, v))]
        y = self._node("BatchNormalization", [y] + names, epsilon=1e-5)
        return self.act(y, act)

    def act(self, x, act):
        if act == "relu":
            return self._node("Relu", [x])
        if act == "relu6":
            lo = self._init(self._name("clip_min"), np.array(0.0, np.float32))
            hi = self._init(self._name("clip_max"), np.array(6.0, np.float32))
            return self._node("Clip", [x, lo, hi])
        return x

    def add(self, a, b):
        return self._node("Add", [a, b])

    def maxpool(self, x):
        return self._node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)

    def head(self, x, cin, classes):
        y = self._node("Flatten", [self._node("GlobalAveragePool", [x])], axis=1)
        w, b = self.w.fc(classes, cin)
        self.classes = classes
        n = self._name("fc")
        return self._node(
            "Gemm", [y, self._init(n + ".weight", w), self._init(n + ".bias", b)], transB=1
        )

    def model(self, build, size, name):
        build(self, "input")
        self.nodes[-1].output[0] = "logits"  # the head's Gemm is the last node
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])
        y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", self.classes])
        graph = helper.make_graph(self.nodes, name, [x], [y], self.inits)
        m = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="clrt/scripts/export_models.py",
        )
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


class _Replay:
    """Records what a _Weights generator returns (as device tensors) and replays it in order."""

    def __init__(self, weights, to_device):
        self._w, self._to, self._rec, self._i = weights, to_device, [], None

    def rewind(self):
        self._i = 0

    def __getattr__(self, name):
        fn = getattr(self._w, name)

        def call(*args, **kwargs):
            if self._i is None:
                out = fn(*args, **kwargs)
                out = tuple(map(self._to, out)) if isinstance(out, (tuple, list)) else self._to(out)
                self._rec.append(out)
                return out
            self._i += 1
            return self._rec[self._i - 1]

        return call


class TorchRunner:
    """Runs an architecture eagerly with torch.nn.functional and the same seeded weights."""

    def __init__(self, seed=0, device="cpu", dtype=None):
        import torch

        self.torch, self.F = torch, torch.nn.functional
        self.w, self.device, self.dtype = _Weights(seed), device, dtype

    def _t(self, a):
        if isinstance(a, self.torch.Tensor):
            return a
        t = self.torch.from_numpy(a).to(self.device)
        return t.to(self.dtype) if self.dtype is not None and t.is_floating_point() else t

    def replaying(self):
        """Keeps the weights of the first forward pass on the device and hands the same tensors
        to every later pass, so timing measures the network, not weight generation."""
        self.w = _Replay(self.w, self._t)
        return self

    def conv_bn(self, x, cin, cout, k, stride=1, groups=1, act="relu", bn_scale=1.0):
        w = self._t(self.w.conv(cout, cin // groups, k))
        y = self.F.conv2d(x, w, stride=stride, padding=k // 2, groups=groups)
        g, b, m, v = (self._t(a) for a in self.w.bn(cout, bn_scale))
        return self.act(self.F.batch_norm(y, m, v, g, b, False, 0.0, 1e-5), act)

    def act(self, x, act):
        if act == "relu":
            return self.F.relu(x)
        if act == "relu6":
            return self.F.relu6(x)
        return x

    def add(self, a, b):
        return a + b

    def maxpool(self, x):
        return self.F.max_pool2d(x, 3, 2, 1)

    def head(self, x, cin, classes):
        w, b = self.w.fc(classes, cin)
        return self.F.linear(self.F.adaptive_avg_pool2d(x, 1).flatten(1), self._t(w), self._t(b))


def resnet(depth=18, width=64, classes=1000, small_input=False):
    """ResNet-18 (basic blocks) or ResNet-50 (bottlenecks); small_input: CIFAR-style 3x3 stem."""
    blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}[depth]
    bottleneck = depth >= 50
    expansion = 4 if bottleneck else 1

    def build(g, x):
        if small_input:
            x = g.conv_bn(x, 3, width, 3)
        else:
            x = g.maxpool(g.conv_bn(x, 3, width, 7, stride=2))
        cin = width
        for stage, n in enumerate(blocks):
            mid = width * 2**stage
            cout = mid * expansion
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                if bottleneck:
                    y = g.conv_bn(x, cin, mid, 1)
                    y = g.conv_bn(y, mid, mid, 3, stride)
                    y = g.conv_bn(y, mid, cout, 1, act=None, bn_scale=0.3)
                else:
                    y = g.conv_bn(x, cin, mid, 3, stride)
                    y = g.conv_bn(y, mid, cout, 3, act=None, bn_scale=0.3)
                if stride != 1 or cin != cout:
                    x = g.conv_bn(x, cin, cout, 1, stride, act=None)
                x = g.act(g.add(y, x), "relu")
                cin = cout
        return g.head(x, cin, classes)

    return build


def mobilenetv2(width_mult=1.0, classes=1000, small_input=False):
    """MobileNetV2: inverted residuals (1x1 expand, 3x3 depthwise, 1x1 project) with ReLU6."""
    settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]

    def ch(c):  # channels rounded to a multiple of 8, as the reference implementation does
        return max(8, int(c * width_mult + 4) // 8 * 8)

    last = ch(1280) if width_mult < 1.0 else 1280

    def build(g, x):
        cin = ch(32)
        x = g.conv_bn(x, 3, cin, 3, 1 if small_input else 2, act="relu6")
        for t, c, n, s in settings:
            cout = ch(c)
            for i in range(n):
                # CIFAR-style variant: 32x32 inputs keep full resolution through the 24-ch stage.
                stride = s if i == 0 and not (small_input and c == 24) else 1
                hidden = cin * t
                y = x if t == 1 else g.conv_bn(x, cin, hidden, 1, act="relu6")
                y = g.conv_bn(y, hidden, hidden, 3, stride, groups=hidden, act="relu6")
                y = g.conv_bn(y, hidden, cout, 1, act=None, bn_scale=0.3)
                x = g.add(y, x) if stride == 1 and cin == cout else y
                cin = cout
        x = g.conv_bn(x, cin, last, 1, act="relu6")
        return g.head(x, last, classes)

    return build


# name -> (architecture, input size); the first group is committed to models/, the second is
# exported on demand (benchmarks) because the files are tens of MB.
SMALL = {
    "resnet18_style": (resnet(18, width=8, classes=10, small_input=True), 32),
    "mobilenetv2_style": (mobilenetv2(0.25, classes=10, small_input=True), 32),
}
FULL = {
    "resnet18": (resnet(18), 224),
    "resnet50": (resnet(50), 224),
    "mobilenetv2": (mobilenetv2(1.0), 224),
}


def make_onnx(name, seed=0):
    """The ModelProto of a model in SMALL or FULL (input "input" [batch,3,S,S], output "logits")."""
    build, size = {**SMALL, **FULL}[name]
    return OnnxWriter(seed).model(build, size, name)


def torch_forward(name, x, seed=0):
    """Runs the same model (same seeded weights) in PyTorch eager; x is a torch tensor."""
    build, _ = {**SMALL, **FULL}[name]
    return build(TorchRunner(seed, x.device), x)


def export(name, out_dir, seed=0):
    path = Path(out_dir) / f"{name}.onnx"
    onnx.save(make_onnx(name, seed), str(path))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models"))
    ap.add_argument("--full", action="store_true", help="export the 224x224 models instead")
    ap.add_argument(
        "--check",
        action="store_true",
        help="compare onnxruntime with the PyTorch rendering (needs torch)",
    )
    args = ap.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name, (_, size) in (FULL if args.full else SMALL).items():
        path = export(name, args.out)
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
        if args.check:
            import onnxruntime as ort
            import torch

            x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            ref = sess.run(None, {"input": x})[0]
            with torch.no_grad():
                got = torch_forward(name, torch.from_numpy(x)).numpy()
            print(
                f"  |onnxruntime - torch| max {np.abs(ref - got).max():.2e}, "
                f"logit range [{ref.min():.2f}, {ref.max():.2f}]"
            )


if __name__ == "__main__":
    main()
