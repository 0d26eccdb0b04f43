# Trains the small Fashion-MNIST models committed in models/ (CPU, fixed seeds) and exports ONNX.
"""Usage: python scripts/train_fashion_mnist.py [--models cnn dwse transformer] [--out models]

Each model is trained with a fixed seed on the 60k training images, evaluated on the 10k test
images with PyTorch and onnxruntime, and exported at opset 17 with a dynamic batch axis
("batch"), input "input" [batch,1,28,28] (pixels scaled to [0,1]) and output "logits" [batch,10].
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fmnist


def conv_bn(cin, cout, k=3, stride=1, groups=1):
    return [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(c, c), nn.ReLU(), *conv_bn(c, c))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + x)


class FmnistCNN(nn.Module):
    """conv-bn-relu x2, maxpool, residual block, global average pool, linear."""

    def __init__(self, c1=16, c2=64):
        super().__init__()
        # The second conv has stride 2 so training stays within minutes on a 2-core CPU.
        self.features = nn.Sequential(
            *conv_bn(1, c1),
            nn.ReLU(),
            *conv_bn(c1, c2, stride=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            ResidualBlock(c2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(c2, 10)

    def forward(self, x):
        return self.fc(self.features(x))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(c, c // r, 1),
            nn.ReLU(),
            nn.Conv2d(c // r, c, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return x * self.gate(x)


class DepthwiseSeparable(nn.Module):
    """Depthwise 3x3 + BN + HardSwish, squeeze-excite, pointwise 1x1 + BN (+ skip if shapes match)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn(cin, cin, 3, stride, groups=cin),
            nn.Hardswish(),
            SqueezeExcite(cin),
            *conv_bn(cin, cout, 1),
            nn.Hardswish(),
        )
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.skip else y


class FmnistDWSE(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(1, 32),
            nn.Hardswish(),
            DepthwiseSeparable(32, 48, 2),
            DepthwiseSeparable(48, 48, 1),
            DepthwiseSeparable(48, 96, 2),
            DepthwiseSeparable(96, 96, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(96, 10)

    def forward(self, x):
        return self.fc(self.features(x))


class Attention(nn.Module):
    """Multi-head self-attention written out as MatMul/Softmax so it exports as plain ops."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.heads, self.head_dim, self.tokens = heads, dim // heads, tokens
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.scale = self.head_dim**-0.5

    def forward(self, x):
        # -1 for the batch keeps the exported Reshapes constant (no Shape subgraph needed).
        qkv = self.qkv(x).reshape(-1, self.tokens, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(-1, self.tokens, self.heads * self.head_dim)
        return self.proj(y)


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads, tokens, mlp_ratio=2):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * mlp_ratio),
            nn.GELU(approximate="none"),
            nn.Linear(dim * mlp_ratio, dim),
        )

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class FmnistTransformer(nn.Module):
    """4x4 patches (a stride-4 conv) -> 49 tokens, 2 pre-norm encoder layers, mean pool, head."""

    def __init__(self, dim=64, heads=4, depth=2):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, 4, 4)
        self.pos = nn.Parameter(torch.randn(1, 49, dim) * 0.02)
        self.layers = nn.Sequential(*[EncoderLayer(dim, heads, 49) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        t = self.norm(self.layers(t))
        return self.head(t.mean(dim=1))


# name -> (constructor, epochs, learning rate, required test accuracy)
MODELS = {
    "cnn": (FmnistCNN, 6, 3e-3, 0.90),
    "dwse": (FmnistDWSE, 5, 3e-3, 0.88),
    "transformer": (FmnistTransformer, 10, 2e-3, 0.85),
}


def evaluate(model, x, y, device, batch=1000):
    model.eval()
    with torch.no_grad():
        logits = torch.cat(
            [
                model(torch.from_numpy(x[i : i + batch]).to(device)).cpu()
                for i in range(0, len(x), batch)
            ]
        )
    return float((logits.argmax(1).numpy() == y).mean()), logits.numpy()


def train(name, train_data, test_data, device, epochs=None, seed=0, batch=128):
    ctor, default_epochs, lr, required = MODELS[name]
    epochs = epochs or default_epochs
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = ctor().to(device)
    x, y = train_data
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        model.train()
        t0, total = time.perf_counter(), 0.0
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
            if name != "transformer":  # light augmentation: horizontal flips
                flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            xb, yb = xb.to(device), yb.to(device)
            loss = nn.functional.cross_entropy(model(xb), yb, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc, _ = evaluate(model, *test_data, device)
        print(
            f"{name} epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} "
            f"test acc {acc:.4f} ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    acc, logits = evaluate(model, *test_data, device)
    return model.cpu(), acc, logits, required


def export(model, path):
    model.eval()
    # PRESERVE (with the model in eval mode) keeps BatchNormalization nodes, which EVAL would
    # fold into the convolutions: the committed models exercise clrt's own BN folding.
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 28, 28),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        training=torch.onnx.TrainingMode.PRESERVE,
    )


def check_onnx(path, x, y, torch_logits):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = np.concatenate(
        [sess.run(None, {"input": x[i : i + 1000]})[0] for i in range(0, len(x), 1000)]
    )
    diff = float(np.abs(logits - torch_logits).max())
    return float((logits.argmax(1) == y).mean()), diff


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda)")
    ap.add_argument("--epochs", type=int, help="override every model's epoch count")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    train_data, test_data = fmnist.load("train"), fmnist.load("test")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.models:
        t0 = time.perf_counter()
        model, acc, logits, required = train(name, train_data, test_data, args.device, args.epochs)
        path = out / f"fmnist_{name}.onnx"
        export(model, path)
        ort_acc, diff = check_onnx(path, *test_data, logits)
        print(
            f"{name}: torch test accuracy {acc:.4f}, onnxruntime {ort_acc:.4f} "
            f"(max |logit diff| {diff:.2e}), {path.stat().st_size / 1024:.0f} KiB, "
            f"trained in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        if ort_acc < required:
            failed.append(f"{name}: {ort_acc:.4f} < {required}")
    if failed:
        sys.exit("accuracy below target: " + "; ".join(failed))


if __name__ == "__main__":
    main()
