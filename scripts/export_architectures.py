# Exports real architectures (torchvision, timm, Hugging Face transformers, a YOLOv8-style
# detector) to ONNX as weight-free "skeletons", plus tiny full-weight variants for the tests.
"""Needs torch, torchvision, timm and transformers (the lent GPU machine has them; see README).

    python scripts/export_architectures.py --out DIR [--only NAME,...] [--budget SECONDS]

Every architecture is exported twice: at opset 17 with the TorchScript exporter and at the
newest opset of the dynamo exporter (where dynamo cannot export a model, e.g. torchvision's
detectors, `--opset 20 --skip-dynamo` gives the TorchScript exporter's newest instead). Weights are random (nothing is downloaded). A full-size
model does not travel well (ResNet-50 is 100 MB), and random weights carry no information, so
each float initializer larger than SMALL elements is replaced by its statistics (mean, std,
min, max) in the tensor's doc_string and its data dropped: `scripts/arch_zoo.py` regenerates
seeded values with the same statistics. Integer tensors and small float tensors (masks,
position indices, scalars) are kept as they are.

Tiny variants (a few hundred KB, real weights kept) go to DIR/tiny/ for tests/device.
"""

import argparse
import json
import time
import traceback
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

SMALL = 4096
SKELETON_KEY = "clrt_skeleton"


def skeletonize(model):
    """Replaces large float initializers and Constant tensors by their statistics, in place."""

    def strip(t):
        a = numpy_helper.to_array(t)
        if a.dtype.kind != "f" or a.size <= SMALL:
            return
        f = a.astype(np.float64)
        stats = [float(f.mean()), float(f.std()), float(f.min()), float(f.max())]
        dims, name, dtype = list(t.dims), t.name, t.data_type
        t.Clear()
        t.name, t.data_type = name, dtype
        t.dims.extend(dims)
        t.doc_string = json.dumps({SKELETON_KEY: stats})

    for t in model.graph.initializer:
        strip(t)
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    strip(a.t)
    return model


def export(model, args, path, opset, dynamo, input_names):
    model.eval()
    # The fused multi-head-attention fast path (torchvision ViT in eval mode) has no
    # TorchScript-exporter symbolic; the unfused path exports as MatMul/Softmax.
    torch.backends.mha.set_fastpath_enabled(False)
    kw = {"input_names": input_names, "opset_version": opset, "dynamo": dynamo}
    if dynamo:
        kw["external_data"] = False
        kw["optimize"] = True
    else:
        kw["do_constant_folding"] = True
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), **kw)
    m = onnx.load(str(path))
    return m


# ---- architectures --------------------------------------------------------------------------


def tv(name, **kw):
    import torchvision

    return lambda: torchvision.models.get_model(name, weights=None, **kw)


def tv_det(name, **kw):
    import torchvision

    return lambda: torchvision.models.get_model(name, weights=None, weights_backbone=None, **kw)


def timm_model(name, **kw):
    import timm

    return lambda: timm.create_model(name, pretrained=False, **kw)


class _HFWrap(torch.nn.Module):
    """Returns the first output tensor of a Hugging Face model (its last hidden state)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, *a):
        out = self.m(*a)
        return out[0] if isinstance(out, (tuple, list)) else out.last_hidden_state


def hf(kind, **cfg):
    def make():
        import transformers as tr

        if kind == "bert":
            m = tr.BertModel(tr.BertConfig(**cfg))
        elif kind == "distilbert":
            m = tr.DistilBertModel(tr.DistilBertConfig(**cfg))
        elif kind == "t5enc":
            m = tr.T5EncoderModel(tr.T5Config(**cfg))
        elif kind == "gpt2":
            m = tr.GPT2Model(tr.GPT2Config(**cfg))
        elif kind == "whisper_enc":
            m = tr.WhisperModel(tr.WhisperConfig(**cfg)).get_encoder()
        else:
            raise ValueError(kind)
        return _HFWrap(m)

    return make


# A YOLOv8-style detector: CSP backbone with C2f blocks, SPPF, an FPN/PAN neck with nearest
# upsampling, and a decoupled head with a DFL softmax box decoder; the output is the raw
# (boxes, class scores) tensor YOLOv8 exports (NMS is left to the caller, as ultralytics does).
class _ConvBnAct(torch.nn.Module):
    def __init__(self, ci, co, k=1, s=1):
        super().__init__()
        self.c = torch.nn.Conv2d(ci, co, k, s, k // 2, bias=False)
        self.b = torch.nn.BatchNorm2d(co)

    def forward(self, x):
        return torch.nn.functional.silu(self.b(self.c(x)))


class _C2f(torch.nn.Module):
    def __init__(self, ci, co, n=1, shortcut=True):
        super().__init__()
        h = co // 2
        self.cv1 = _ConvBnAct(ci, 2 * h)
        self.cv2 = _ConvBnAct((2 + n) * h, co)
        self.m = torch.nn.ModuleList(
            torch.nn.Sequential(_ConvBnAct(h, h, 3), _ConvBnAct(h, h, 3)) for _ in range(n)
        )
        self.shortcut = shortcut

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            z = m(y[-1])
            y.append(y[-1] + z if self.shortcut else z)
        return self.cv2(torch.cat(y, 1))


class _SPPF(torch.nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.cv1 = _ConvBnAct(ci, ci // 2)
        self.cv2 = _ConvBnAct(ci * 2, co)
        self.p = torch.nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        a = self.p(x)
        b = self.p(a)
        return self.cv2(torch.cat([x, a, b, self.p(b)], 1))


class YoloV8Style(torch.nn.Module):
    def __init__(self, w=16, nc=80, reg_max=16):
        super().__init__()
        c = [w, 2 * w, 4 * w, 8 * w, 16 * w]
        self.stem = torch.nn.Sequential(_ConvBnAct(3, c[0], 3, 2), _ConvBnAct(c[0], c[1], 3, 2))
        self.s2 = torch.nn.Sequential(_C2f(c[1], c[1]), _ConvBnAct(c[1], c[2], 3, 2))
        self.s3 = torch.nn.Sequential(_C2f(c[2], c[2], 2), _ConvBnAct(c[2], c[3], 3, 2))
        self.s4 = torch.nn.Sequential(_C2f(c[3], c[3], 2), _ConvBnAct(c[3], c[4], 3, 2))
        self.s5 = torch.nn.Sequential(_C2f(c[4], c[4]), _SPPF(c[4], c[4]))
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.n1 = _C2f(c[4] + c[3], c[3], shortcut=False)
        self.n2 = _C2f(c[3] + c[2], c[2], shortcut=False)
        self.d1 = _ConvBnAct(c[2], c[2], 3, 2)
        self.n3 = _C2f(c[2] + c[3], c[3], shortcut=False)
        self.d2 = _ConvBnAct(c[3], c[3], 3, 2)
        self.n4 = _C2f(c[3] + c[4], c[4], shortcut=False)
        self.reg_max, self.nc = reg_max, nc
        # Head widths as YOLOv8 sizes them from the finest level's channels.
        c2, c3 = max(16, c[2] // 4, 4 * reg_max), max(c[2], min(nc, 100))
        self.box = torch.nn.ModuleList(
            torch.nn.Sequential(
                _ConvBnAct(ci, c2, 3), _ConvBnAct(c2, c2, 3), torch.nn.Conv2d(c2, 4 * reg_max, 1)
            )
            for ci in (c[2], c[3], c[4])
        )
        self.cls = torch.nn.ModuleList(
            torch.nn.Sequential(
                _ConvBnAct(ci, c3, 3), _ConvBnAct(c3, c3, 3), torch.nn.Conv2d(c3, nc, 1)
            )
            for ci in (c[2], c[3], c[4])
        )
        self.register_buffer("proj", torch.arange(reg_max, dtype=torch.float32))

    def forward(self, x):
        x = self.stem(x)
        p3 = self.s3[0](self.s2(x))
        p4 = self.s4[0](self.s3[1](p3))
        p5 = self.s5(self.s4[1](p4))
        h4 = self.n1(torch.cat([self.up(p5), p4], 1))
        h3 = self.n2(torch.cat([self.up(h4), p3], 1))
        o4 = self.n3(torch.cat([self.d1(h3), h4], 1))
        o5 = self.n4(torch.cat([self.d2(o4), p5], 1))
        outs = []
        for i, f in enumerate((h3, o4, o5)):
            b, _, hh, ww = f.shape
            box = self.box[i](f).view(b, 4, self.reg_max, hh * ww).softmax(2)
            box = (box * self.proj.view(1, 1, -1, 1)).sum(2)
            outs.append(torch.cat([box, self.cls[i](f).view(b, self.nc, hh * ww).sigmoid()], 1))
        return torch.cat(outs, 2)


class UNetStyle(torch.nn.Module):
    """A small U-Net: strided convs down, ConvTranspose and bilinear Resize up, skip concats."""

    def __init__(self, w=8, classes=3):
        super().__init__()
        self.d1 = _ConvBnAct(3, w, 3, 2)
        self.d2 = _ConvBnAct(w, 2 * w, 3, 2)
        self.d3 = _ConvBnAct(2 * w, 4 * w, 3, 2)
        self.u1 = torch.nn.ConvTranspose2d(4 * w, 2 * w, 2, 2)
        self.m1 = _ConvBnAct(4 * w, 2 * w, 3)
        self.u2 = torch.nn.ConvTranspose2d(2 * w, w, 2, 2)
        self.m2 = _ConvBnAct(2 * w, w, 3)
        self.head = torch.nn.Conv2d(w, classes, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(a)
        c = self.d3(b)
        y = self.m1(torch.cat([self.u1(c), b], 1))
        y = self.m2(torch.cat([self.u2(y), a], 1))
        y = self.head(y)
        return torch.nn.functional.interpolate(y, scale_factor=2.0, mode="bilinear")


class SegNetStyle(torch.nn.Module):
    """A small SegNet: max pooling that keeps its indices on the way down, max unpooling at those
    indices on the way up (MaxPool's Indices output feeding MaxUnpool)."""

    def __init__(self, w=8, classes=3):
        super().__init__()
        self.e1 = _ConvBnAct(3, w, 3)
        self.e2 = _ConvBnAct(w, 2 * w, 3)
        self.pool = torch.nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = torch.nn.MaxUnpool2d(2, 2)
        self.d2 = _ConvBnAct(2 * w, w, 3)
        self.d1 = _ConvBnAct(w, w, 3)
        self.head = torch.nn.Conv2d(w, classes, 1)

    def forward(self, x):
        a, ia = self.pool(self.e1(x))
        b, ib = self.pool(self.e2(a))
        y = self.d2(self.unpool(b, ib))
        y = self.d1(self.unpool(y, ia))
        return self.head(y)


class LstmOcrHead(torch.nn.Module):
    """A CRNN-style OCR head: convs over a text line, columns as a sequence, a bidirectional
    LSTM and a per-column classifier (CTC logits)."""

    def __init__(self, w=16, hidden=32, classes=37):
        super().__init__()
        self.conv = torch.nn.Sequential(
            _ConvBnAct(1, w, 3),
            torch.nn.MaxPool2d(2),
            _ConvBnAct(w, 2 * w, 3),
            torch.nn.MaxPool2d((2, 1)),
        )
        self.rnn = torch.nn.LSTM(2 * w * 8, hidden, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(2 * hidden, classes)

    def forward(self, x):  # x: [N, 1, 32, W]
        f = self.conv(x)  # [N, 2w, 8, W/2]
        n, c, h, w = f.shape
        f = f.permute(0, 3, 1, 2).reshape(n, w, c * h)
        y, _ = self.rnn(f)
        return self.fc(y)


def img(n=1, s=224, c=3):
    return (torch.randn(n, c, s, s),)


def tokens(n=1, t=32, vocab=1000):
    return (torch.randint(0, vocab, (n, t)),)


# name -> (constructor, example inputs, input names)
FULL = {
    "resnet50": (tv("resnet50"), img(), ["x"]),
    "mobilenet_v3_large": (tv("mobilenet_v3_large"), img(), ["x"]),
    "efficientnet_b0": (tv("efficientnet_b0"), img(), ["x"]),
    "regnet_y_400mf": (tv("regnet_y_400mf"), img(), ["x"]),
    "convnext_tiny": (tv("convnext_tiny"), img(), ["x"]),
    "vit_b_16": (tv("vit_b_16"), img(), ["x"]),
    "swin_t": (tv("swin_t"), img(), ["x"]),
    "maxvit_t": (tv("maxvit_t"), img(), ["x"]),
    "r3d_18": (tv("r3d_18"), (torch.randn(1, 3, 8, 112, 112),), ["x"]),
    "ssdlite320": (tv_det("ssdlite320_mobilenet_v3_large"), ([torch.randn(3, 320, 320)],), ["x"]),
    # score_thresh 0.05 (torchvision's default 0.2): with random weights FCOS's scores,
    # sqrt(sigmoid(class) * sigmoid(centerness)), lie near 0.07, and at 0.2 it detects nothing,
    # which would make its comparison with onnxruntime vacuous.
    "fcos_resnet50": (
        tv_det("fcos_resnet50_fpn", score_thresh=0.05),
        ([torch.randn(3, 320, 320)],),
        ["x"],
    ),
    "retinanet_resnet50": (tv_det("retinanet_resnet50_fpn"), ([torch.randn(3, 320, 320)],), ["x"]),
    # Two-stage: region proposals, then MultiScaleRoIAlign (RoiAlign) and the box head.
    "fasterrcnn_mobilenet": (
        tv_det("fasterrcnn_mobilenet_v3_large_320_fpn", box_score_thresh=0.0),
        ([torch.randn(3, 320, 320)],),
        ["x"],
    ),
    "deeplabv3_mobilenet": (tv_det("deeplabv3_mobilenet_v3_large"), img(s=256), ["x"]),
    "lraspp_mobilenet": (tv_det("lraspp_mobilenet_v3_large"), img(s=256), ["x"]),
    "yolov8s_style": (lambda: YoloV8Style(32), img(s=320), ["x"]),
    "timm_vit_small": (timm_model("vit_small_patch16_224"), img(), ["x"]),
    "timm_swin_tiny": (timm_model("swin_tiny_patch4_window7_224"), img(), ["x"]),
    "timm_convnext_tiny": (timm_model("convnext_tiny"), img(), ["x"]),
    "timm_edgenext_small": (timm_model("edgenext_small"), img(), ["x"]),
    "timm_maxvit_tiny": (timm_model("maxvit_tiny_tf_224"), img(), ["x"]),
    "bert_base": (hf("bert"), tokens(vocab=30522), ["input_ids"]),
    "distilbert_base": (hf("distilbert"), tokens(vocab=30522), ["input_ids"]),
    "t5_small_encoder": (
        hf("t5enc", d_model=512, num_layers=6, num_heads=8, d_ff=2048),
        tokens(vocab=32128),
        ["input_ids"],
    ),
    "gpt2": (hf("gpt2"), tokens(vocab=50257), ["input_ids"]),
    "whisper_tiny_encoder": (
        hf(
            "whisper_enc",
            d_model=384,
            encoder_layers=4,
            encoder_attention_heads=6,
            decoder_layers=1,
            decoder_attention_heads=6,
            max_source_positions=1500,
        ),
        (torch.randn(1, 80, 3000),),
        ["input_features"],
    ),
}

DYNAMO_TINY = {"segnet_tiny"}
TINY = {
    "yolo_tiny": (lambda: YoloV8Style(4, nc=4, reg_max=4), img(s=64), ["x"]),
    "unet_tiny": (lambda: UNetStyle(4), img(s=32), ["x"]),
    "segnet_tiny": (lambda: SegNetStyle(4), img(s=32), ["x"]),
    "bert_tiny": (
        hf(
            "bert",
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            vocab_size=256,
            max_position_embeddings=64,
        ),
        tokens(t=16, vocab=256),
        ["input_ids"],
    ),
    "gpt2_tiny": (
        hf("gpt2", n_embd=32, n_layer=2, n_head=2, vocab_size=256, n_positions=64),
        tokens(t=16, vocab=256),
        ["input_ids"],
    ),
    "swin_tiny": (
        timm_model(
            "swin_tiny_patch4_window7_224",
            img_size=56,
            embed_dim=16,
            depths=(1, 1),
            num_heads=(1, 2),
            window_size=7,
            num_classes=10,
        ),
        img(s=56),
        ["x"],
    ),
    "lstm_ocr_tiny": (lambda: LstmOcrHead(4, 8, 11), (torch.randn(1, 1, 32, 32),), ["x"]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--budget", type=float, default=1e9, help="stop starting exports after this")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--skip-dynamo", action="store_true")
    ap.add_argument(
        "--opset",
        type=int,
        default=17,
        help="TorchScript exporter's opset (e.g. its newest, 20, for models dynamo cannot export)",
    )
    args = ap.parse_args()
    out = Path(args.out)
    (out / "tiny").mkdir(parents=True, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    t_start = time.time()
    log = []
    # segnet_tiny: the TorchScript exporter fails on MaxUnpool2d (torch 2.15); dynamo exports it.
    jobs = [
        (n, spec, True, None, True) if n in DYNAMO_TINY else (n, spec, True, args.opset, False)
        for n, spec in TINY.items()
    ]
    if not args.skip_full:
        jobs += [(n, spec, False, args.opset, False) for n, spec in FULL.items()]
        if not args.skip_dynamo:
            jobs += [(n, spec, False, None, True) for n, spec in FULL.items()]
    for name, (make, inputs, in_names), tiny, opset, dynamo in jobs:
        if only and name not in only:
            continue
        if time.time() - t_start > args.budget:
            log.append({"model": name, "status": "not tried (time budget)"})
            continue
        torch.manual_seed(0)
        tag = f"op{opset}" if opset else "dynamo"
        t0 = time.time()
        try:
            m = make()
            path = out / ("tiny" if tiny else ".") / f"{name}.{tag}.onnx"
            mp = export(m, inputs, path, opset, dynamo, in_names)
            if not tiny:
                skeletonize(mp)
                if mp.ByteSize() > 16 << 20:
                    raise RuntimeError(f"skeleton still {mp.ByteSize() >> 20} MB")
            onnx.save(mp, str(path))
            for p in path.parent.glob(path.name + "*.data"):
                p.unlink()
            ops = sorted({n.op_type for n in mp.graph.node})
            opv = max(o.version for o in mp.opset_import if o.domain in ("", "ai.onnx"))
            log.append(
                {
                    "model": name,
                    "variant": tag,
                    "status": "ok",
                    "opset": opv,
                    "bytes": path.stat().st_size,
                    "seconds": round(time.time() - t0, 1),
                    "ops": ops,
                }
            )
        except Exception as e:  # noqa: BLE001 (one architecture failing must not stop the rest)
            log.append(
                {
                    "model": name,
                    "variant": tag,
                    "status": f"export failed: {e!r}"[:400],
                    "trace": traceback.format_exc()[-1500:],
                }
            )
        print(
            json.dumps({k: v for k, v in log[-1].items() if k not in ("ops", "trace")}),
            flush=True,
        )
    (out / "export_log.json").write_text(json.dumps(log, indent=1))


if __name__ == "__main__":
    main()
