# Runtime misuse that must give a clear error, never a crash or a wrong answer: freed buffers
# left in a context, one context on many threads, bad pointers, parallel builds, calibration
# batches in the input's own dtype, non-finite calibration data.
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import clrt as trt
import numpy as np
import pytest
from helpers import build_engine, make_config, make_model, ort_run, parse_network, rand
from onnx import helper

N = helper.make_node
# Iterations per thread; CLRT_STRESS_ITERS=1000 runs the 8 x 1,000 by hand.
ITERS = int(os.environ.get("CLRT_STRESS_ITERS", "60"))
THREADS = 8


def small_net():
    """Conv + ReLU + MatMul with a dynamic batch: a few kernels and a shape to race on."""
    w = rand((4, 2, 3, 3), seed=1)
    m = rand((4 * 4 * 4, 5), seed=2)
    nodes = [
        N("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        N("Relu", ["c"], ["r"]),
        N("Flatten", ["r"], ["f"]),
        N("MatMul", ["f", "m"], ["y"]),
    ]
    return make_model(nodes, [("x", ("n", 2, 4, 4))], [("y", ("n", 5))], {"w": w, "m": m})


@pytest.fixture(scope="module")
def engine():
    return build_engine(small_net(), profiles={"x": ((1, 2, 4, 4), (2, 2, 4, 4), (4, 2, 4, 4))})


def feeds(i):
    """Per-iteration inputs with different batch sizes, so shapes change between calls."""
    return rand((1 + i % 4, 2, 4, 4), seed=100 + i)


@pytest.fixture(scope="module")
def reference(engine):
    ctx = engine.create_execution_context()
    return [ctx.infer({"x": feeds(i)})["y"] for i in range(8)]


def run_threads(target, n=THREADS):
    errors = []

    def guarded(t):
        try:
            target(t)
        except BaseException as e:  # noqa: BLE001 (re-raised in the main thread)
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("shared", [True, False], ids=["one_context", "context_per_thread"])
def test_infer_from_many_threads_matches_single_thread(engine, reference, shared):
    one = engine.create_execution_context()

    def work(t):
        ctx = one if shared else engine.create_execution_context()
        for k in range(ITERS):
            i = (t + k) % 8
            got = ctx.infer({"x": feeds(i)})["y"]
            np.testing.assert_array_equal(got, reference[i], err_msg=f"thread {t} iteration {k}")

    run_threads(work)


def test_two_contexts_async_on_two_threads_match_single_thread(engine, reference):
    """Each context enqueues on its own queue: execute_async_v3 followed by memcpy_dtoh with no
    synchronize must still read the finished run, while the other context runs on another
    thread."""
    contexts = [engine.create_execution_context() for _ in range(2)]

    def work(t):
        ctx = contexts[t]
        for k in range(ITERS):
            i = (2 * k + t) % 8
            x = feeds(i)
            y = np.empty_like(reference[i])
            with trt.mem_alloc(x.nbytes) as dx, trt.mem_alloc(y.nbytes) as dy:
                trt.memcpy_htod(dx, x)
                ctx.set_input_shape("x", x.shape)
                ctx.set_tensor_address("x", dx)
                ctx.set_tensor_address("y", dy)
                ctx.execute_async_v3(0)
                trt.memcpy_dtoh(y, dy)
            np.testing.assert_array_equal(y, reference[i], err_msg=f"context {t} iteration {k}")

    run_threads(work, n=2)


def test_execute_v2_and_infer_share_a_context_across_threads(engine, reference):
    """Half the threads run execute_v2 on their own buffers, half run infer, on one context."""
    ctx = engine.create_execution_context()
    same = [i for i in range(8) if feeds(i).shape[0] == 1]
    ctx.set_input_shape("x", feeds(same[0]).shape)

    def work(t):
        i = same[t % len(same)]
        x = feeds(i)
        y = np.empty_like(reference[i])
        with trt.mem_alloc(x.nbytes) as dx, trt.mem_alloc(y.nbytes) as dy:
            trt.memcpy_htod(dx, x)
            for k in range(ITERS // 2):
                if t % 2:
                    got = ctx.infer({"x": x})["y"]
                else:
                    ctx.execute_v2([dx, dy])
                    trt.memcpy_dtoh(y, dy)
                    got = y
                np.testing.assert_array_equal(got, reference[i], err_msg=f"thread {t} it {k}")

    run_threads(work)


def test_set_input_shape_racing_infer(engine, reference):
    ctx = engine.create_execution_context()

    def work(t):
        for k in range(ITERS // 2):
            i = (t + k) % 8
            if t % 2:
                ctx.set_input_shape("x", feeds(i).shape)
                assert ctx.get_tensor_shape("y")[1] == 5
            else:
                got = ctx.infer({"x": feeds(i)})["y"]
                np.testing.assert_array_equal(got, reference[i], err_msg=f"thread {t} it {k}")

    run_threads(work)


def test_freed_buffer_in_context_is_an_error_not_a_crash(engine, reference):
    ctx = engine.create_execution_context()
    x = feeds(0)
    ctx.set_input_shape("x", x.shape)
    dx, dy = trt.mem_alloc(x.nbytes), trt.mem_alloc(reference[0].nbytes)
    trt.memcpy_htod(dx, x)
    ctx.set_tensor_address("x", dx)
    ctx.set_tensor_address("y", dy)
    assert ctx.execute_async_v3(0)
    y = np.empty_like(reference[0])
    trt.memcpy_dtoh(y, dy)
    np.testing.assert_array_equal(y, reference[0])
    freed = int(dy)
    dy.free()
    # New allocations may be handed the freed buffer's handle by the driver: still refused.
    others = [trt.mem_alloc(reference[0].nbytes) for _ in range(4)]
    with pytest.raises(ValueError, match=r"'y' was freed after set_tensor_address"):
        ctx.execute_async_v3(0)
    for o in others:
        if int(o) == freed:
            y2 = np.full_like(reference[0], 7.0)
            trt.memcpy_htod(o, y2)
            with pytest.raises(ValueError, match="was freed"):
                ctx.execute_async_v3(0)
            trt.memcpy_dtoh(y2, o)
            assert (y2 == 7.0).all(), "the engine wrote into an unrelated allocation"
    del dx  # garbage collected while still set for 'x'
    ctx.set_tensor_address("y", others[0])
    with pytest.raises(ValueError, match=r"'x' was freed"):
        ctx.execute_async_v3(0)


def test_infer_leaves_set_tensor_addresses_alone(engine, reference):
    ctx = engine.create_execution_context()
    x = feeds(1)
    ctx.set_input_shape("x", x.shape)
    with trt.mem_alloc(x.nbytes) as dx, trt.mem_alloc(reference[1].nbytes) as dy:
        trt.memcpy_htod(dx, x)
        ctx.set_tensor_address("x", dx)
        ctx.set_tensor_address("y", dy)
        ctx.infer({"x": feeds(2)})
        assert ctx.get_tensor_address("x") == int(dx)
        ctx.set_input_shape("x", x.shape)
        ctx.execute_async_v3(0)
        y = np.empty_like(reference[1])
        trt.memcpy_dtoh(y, dy)
        np.testing.assert_array_equal(y, reference[1])


@pytest.mark.parametrize(
    "bad, match",
    [(-1, "negative"), (1.5, "float"), (None, "NoneType"), ("0x10", "str"), (2**70, "too large")],
)
def test_bad_pointers_are_named(engine, bad, match):
    ctx = engine.create_execution_context()
    ctx.set_input_shape("x", (1, 2, 4, 4))
    with trt.mem_alloc(8 * 5 * 4) as dy:
        with pytest.raises(ValueError, match=rf"execute_v2 bindings\[0\].*{match}"):
            ctx.execute_v2([bad, dy])
        with pytest.raises(ValueError, match=rf"set_tensor_address 'x'.*{match}"):
            ctx.set_tensor_address("x", bad)
        with pytest.raises(ValueError, match="not a live device allocation"):
            ctx.execute_v2([12345, dy])


def test_parallel_builds_with_tactic_timing(engine, reference):
    """Two builds timing tactics (CLBlast GEMMs among them) at once: same engine outputs."""
    plans = [None, None]

    def build(t):
        builder, network, _ = parse_network(small_net())
        config = make_config(builder, {"x": ((1, 2, 4, 4), (2, 2, 4, 4), (4, 2, 4, 4))})
        plans[t] = bytes(builder.build_serialized_network(network, config))

    threads = [threading.Thread(target=build, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    for plan in plans:
        got = (
            runtime.deserialize_cuda_engine(plan).create_execution_context().infer({"x": feeds(3)})
        )
        np.testing.assert_allclose(got["y"], reference[3], rtol=1e-5, atol=1e-6)


# --- Calibration data ----------------------------------------------------------------------------


class Batches(trt.IInt8MinMaxCalibrator):
    def __init__(self, batches):
        super().__init__()
        self.batches = list(batches)

    def get_batch_size(self):
        return self.batches[0][0].shape[0]

    def get_batch(self, names):
        return self.batches.pop(0) if self.batches else None

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        pass


def token_model():
    """int32 token ids -> embedding Gather -> ReduceMean over tokens -> MatMul: a text model's
    shape, whose calibration batches are integers."""
    emb = rand((50, 16), seed=3)
    w = rand((16, 4), seed=4)
    nodes = [
        N("Gather", ["emb", "ids"], ["e"], axis=0),
        N("ReduceMean", ["e"], ["m"], axes=[1], keepdims=0),
        N("MatMul", ["m", "w"], ["y"]),
    ]
    return make_model(
        nodes, [("ids", (4, 12), np.int32)], [("y", (4, 4))], {"emb": emb, "w": w}, opset=17
    )


def int8_build(model, calibrator):
    builder, network, _ = parse_network(model)
    config = make_config(builder)
    config.set_flag(trt.BuilderFlag.INT8)
    config.int8_calibrator = calibrator
    plan = builder.build_serialized_network(network, config)
    return trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(plan)


def test_calibration_takes_integer_inputs_in_their_dtype():
    rng = np.random.default_rng(5)
    batches = [[rng.integers(0, 50, (4, 12)).astype(np.int32)] for _ in range(3)]
    engine = int8_build(token_model(), Batches(batches))
    ids = rng.integers(0, 50, (4, 12)).astype(np.int32)
    fp32 = build_engine(token_model()).create_execution_context().infer({"ids": ids})["y"]
    got = engine.create_execution_context().infer({"ids": ids})["y"]
    # INT8 of a 16-wide dot product over ranges from 3 batches: within 5% of the output range.
    np.testing.assert_allclose(got, fp32, atol=0.05 * np.abs(fp32).max())


def test_calibration_integer_values_out_of_range_are_refused():
    big = np.full((4, 12), 2**40, dtype=np.int64)
    with pytest.raises(
        trt.BuildError, match=r"calibration input 'ids'.*int32.*outside int32's range"
    ):
        int8_build(token_model(), Batches([[big]]))


def test_calibration_float_for_integer_input_is_refused():
    with pytest.raises(
        trt.BuildError, match=r"calibration input 'ids'.*int32, got \(4, 12\) float32"
    ):
        int8_build(token_model(), Batches([[np.zeros((4, 12), np.float32)]]))


def test_calibration_nan_batch_is_named():
    x = feeds(2)
    bad = np.full_like(x, np.nan)
    with pytest.raises(
        trt.BuildError, match=rf"calibration input 'x', batch 2: {bad.size} of {bad.size}"
    ):
        model = small_net()
        builder, network, _ = parse_network(model)
        config = make_config(builder, {"x": (x.shape, x.shape, x.shape)})
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = Batches([[x], [bad]])
        builder.build_serialized_network(network, config)


def infer_counting(monkeypatch, engine, x, pinned, counter):
    """infer()'s output "y" for input "x" with CLRT_PINNED_IO=pinned, and how many narrow uploads
    (`counter`: trt._clrt._debug.half_uploads or int8_uploads) it made."""
    monkeypatch.setenv("CLRT_PINNED_IO", pinned)
    before = counter()
    y = engine.create_execution_context().infer({"x": x})["y"]
    return y, counter() - before


def staged_equals_direct(monkeypatch, engine, x, counter):
    """infer()'s output with pinned staging (the input sent narrow, once) and without (sent as
    FLOAT): asserted bit for bit equal, and returned."""
    staged, narrowed = infer_counting(monkeypatch, engine, x, "1", counter)
    direct, not_narrowed = infer_counting(monkeypatch, engine, x, "0", counter)
    assert narrowed == 1 and not_narrowed == 0
    np.testing.assert_array_equal(staged, direct)
    return staged


@pytest.mark.parametrize("simd", ["1", "0"], ids=["f16c", "scalar"])
def test_fp16_engine_inputs_cross_the_bus_as_half(monkeypatch, simd):
    """An FP16 engine's FLOAT input read only by its conversion to HALF: with pinned staging
    infer() converts it to half on the host (round to nearest even; F16C where the CPU has it,
    unless CLRT_HOST_SIMD=0), sends half the bytes and widens them on the device, so the engine
    computes the same bits as from the FLOAT input (rounding ties, half subnormals, overflow to
    infinity, -0 and NaN included). An FP32 engine's input is sent as it is."""
    monkeypatch.setenv("CLRT_HOST_SIMD", simd)
    shape = (2, 8, 512, 512)  # 16 MB of FLOAT: 4 chunks of 2 MB staged
    w = rand((8, 8, 1, 1), seed=6)
    model = make_model(
        [N("Conv", ["x", "w"], ["c"]), N("Relu", ["c"], ["y"])],
        [("x", shape)],
        [("y", shape)],
        {"w": w},
    )
    builder, network, _ = parse_network(model)
    config = make_config(builder, opt_level=0)  # untimed: the convolution in HALF
    config.set_flag(trt.BuilderFlag.FP16)
    fp16 = trt.Runtime(trt.Logger()).deserialize_cuda_engine(
        builder.build_serialized_network(network, config)
    )
    x = rand(shape, seed=5, low=-4, high=4)
    special = [65504, 65520, 1e30, 1e-7, 6e-8, 1.5 * 2.0**-24, 1 + 2.0**-11, 1 + 3 * 2.0**-11]
    x.flat[: len(special) + 2] = special + [-0.0, np.nan]
    x[1, :, 511, 504:] = special  # the last octet of each channel

    staged = staged_equals_direct(monkeypatch, fp16, x, trt._clrt._debug.half_uploads)
    # Away from the special values, the FP16 convolution within its rounding of onnxruntime's.
    ref = ort_run(model, {"x": x})["y"]
    np.testing.assert_allclose(staged[1, :, :511], ref[1, :, :511], rtol=2e-2, atol=2e-2)

    fp32 = build_engine(model)
    _, fp32_halved = infer_counting(monkeypatch, fp32, x, "1", trt._clrt._debug.half_uploads)
    assert fp32_halved == 0


@pytest.mark.parametrize("simd", ["1", "0"], ids=["sse2", "scalar"])
@pytest.mark.parametrize(
    "shape",
    [(2, 8, 512, 512), (1, 3, 5, 7)],
    ids=["16MB_in_chunks", "105_values"],  # 4 MB staged in chunks; a count not a multiple of 8
)
def test_int8_engine_inputs_cross_the_bus_as_int8(monkeypatch, shape, simd):
    """An INT8 engine's FLOAT input read only by its quantization at one scale: with pinned
    staging infer() quantizes it on the host as the REFORMAT kernel does (x / scale rounded half
    to even, clamped to [-127, 127]), sends a quarter of the bytes and widens them to q * scale
    on the device, which the engine's quantization maps back to the same q: the same output bits
    as from the FLOAT input, for rounding ties, saturation, infinities, -0 and NaN too (SSE2
    where the CPU has it, unless CLRT_HOST_SIMD=0). An input with another reader is sent as it
    is."""
    monkeypatch.setenv("CLRT_HOST_SIMD", simd)
    w = rand((8, shape[1], 1, 1), seed=6)
    out_shape = (shape[0], 8) + shape[2:]
    amax = 4.0
    scale = amax / 127

    def int8_engine(nodes, outputs, debug=False):
        model = make_model(nodes, [("x", shape)], outputs, {"w": w})
        builder, network, _ = parse_network(model)
        if debug:
            network.mark_debug(network.get_input(0))
        config = make_config(builder, opt_level=0)
        config.set_flag(trt.BuilderFlag.INT8)
        network.get_input(0).set_dynamic_range(-amax, amax)
        for i in range(network.num_layers):
            for j in range(network.get_layer(i).num_outputs):
                network.get_layer(i).get_output(j).set_dynamic_range(-8.0, 8.0)
        plan = builder.build_serialized_network(network, config)
        return model, trt.Runtime(trt.Logger()).deserialize_cuda_engine(plan)

    model, int8 = int8_engine(
        [N("Conv", ["x", "w"], ["c"]), N("Relu", ["c"], ["y"])], [("y", out_shape)]
    )
    x = rand(shape, seed=5, low=-amax, high=amax)
    ties = [(k + 0.5) * np.float32(scale) for k in (-3, -2, 0, 1, 2, 125, 126)]
    special = ties + [amax * 1.01, -amax * 2, 1e30, np.inf, -np.inf, -0.0, np.nan, 1e-30]
    special += [2.7 * scale, -2.7 * scale, 126.6 * scale]  # not ties: rounded, not truncated
    x.flat[: len(special)] = special
    x.flat[-len(special) :] = special  # the last chunk; the small shape's scalar tail

    staged = staged_equals_direct(monkeypatch, int8, x, trt._clrt._debug.int8_uploads)
    # At pixels without special values, the INT8 convolution within its quantization of
    # onnxruntime's: each input off by half a step at most, each weight by half of its row's.
    ref = ort_run(model, {"x": x})["y"]
    plain = np.ones(shape, bool)
    plain.flat[: len(special)] = False
    plain.flat[-len(special) :] = False
    plain = np.broadcast_to(plain.all(axis=1, keepdims=True), out_shape)
    bound = np.abs(w).sum(axis=(1, 2, 3)).max() * scale / 2 + 8 * amax * np.abs(w).max() / 254
    np.testing.assert_allclose(staged[plain], ref[plain], atol=bound)

    # The input also an output of the network (its FLOAT values are read back): sent as it is.
    _, both = int8_engine(
        [N("Conv", ["x", "w"], ["c"]), N("Relu", ["c"], ["y"]), N("Identity", ["x"], ["z"])],
        [("y", out_shape), ("z", shape)],
    )
    monkeypatch.setenv("CLRT_PINNED_IO", "1")
    before = trt._clrt._debug.int8_uploads()
    got = both.create_execution_context().infer({"x": x})
    assert trt._clrt._debug.int8_uploads() == before
    np.testing.assert_array_equal(got["z"], x)
    # A debug tensor (mark_debug: a listener sees its FLOAT values): sent as it is too.
    _, debug = int8_engine(
        [N("Conv", ["x", "w"], ["c"]), N("Relu", ["c"], ["y"])], [("y", out_shape)], debug=True
    )
    debug.create_execution_context().infer({"x": x})
    assert trt._clrt._debug.int8_uploads() == before


@pytest.mark.parametrize("pinned", ["1", "0"], ids=["pinned_staging", "pageable"])
def test_infer_copy_paths_agree(monkeypatch, pinned):
    """infer()'s pinned staging (the GPU default; forced here on any device) copies a 25 MB input
    in chunks over the copy threads: same result as the direct copy and as NumPy."""
    model = make_model(
        [N("GlobalAveragePool", ["x"], ["y"])], [("x", (2, 3, 1024, 1024))], [("y", (2, 3, 1, 1))]
    )
    engine = build_engine(model)
    x = rand((2, 3, 1024, 1024), seed=7)
    monkeypatch.setenv("CLRT_PINNED_IO", pinned)
    ctx = engine.create_execution_context()  # the copy path is chosen at its first infer()
    for _ in range(2):
        got = ctx.infer({"x": x})["y"]
        np.testing.assert_allclose(got, x.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6)


def test_pinned_staging_from_many_threads(monkeypatch):
    """Contexts on six threads at once, each staging a 12 MB input in chunks and converting it to
    HALF (an FP16 engine's input) through the one pool of copy threads, which their calls share:
    each gets its own input's result, as NumPy computes it, call after call."""
    shape = (1, 3, 1024, 1024)
    model = make_model(
        [N("GlobalAveragePool", ["x"], ["y"])], [("x", shape)], [("y", (1, 3, 1, 1))]
    )
    builder, network, _ = parse_network(model)
    config = make_config(builder, opt_level=0)
    config.set_flag(trt.BuilderFlag.FP16)
    engine = trt.Runtime(trt.Logger()).deserialize_cuda_engine(
        builder.build_serialized_network(network, config)
    )
    monkeypatch.setenv("CLRT_PINNED_IO", "1")
    xs = [rand(shape, seed=20 + i) for i in range(6)]
    # The engine reads x as HALF: the reference is the mean of x rounded to half.
    want = [x.astype(np.float16).astype(np.float32).mean(axis=(2, 3), keepdims=True) for x in xs]
    before = trt._clrt._debug.half_uploads()

    def worker(i):
        ctx = engine.create_execution_context()
        return [ctx.infer({"x": xs[i]})["y"] for _ in range(3)]

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(worker, range(6)))
    for got, ref in zip(results, want):
        for y in got:
            np.testing.assert_allclose(y, ref, rtol=2e-3, atol=1e-4)
    assert trt._clrt._debug.half_uploads() - before == 18


@pytest.mark.parametrize("pinned", ["1", "0"], ids=["pinned_staging", "pageable"])
def test_infer_outputs_live_in_recycled_blocks(monkeypatch, pinned):
    """infer() writes each output into a host block of the context's pool (page-locked where
    infer() stages its copies: the device writes straight into it) rather than fresh zero-filled
    memory. An array kept keeps its block and values while later calls run; the blocks of arrays
    let go serve the next call; arrays outlive their context and engine."""
    import gc

    shape = (3, 64, 1024)
    model = make_model(
        [N("Relu", ["x"], ["y"]), N("Neg", ["x"], ["z"])],
        [("x", shape)],
        [("y", shape), ("z", shape)],
    )
    engine = build_engine(model)
    monkeypatch.setenv("CLRT_PINNED_IO", pinned)
    ctx = engine.create_execution_context()  # the copy path is chosen at its first infer()
    xs = [rand(shape, seed=40 + i) for i in range(3)]

    def addresses(out):
        return {v.__array_interface__["data"][0] for v in out.values()}

    def check(out, x):
        np.testing.assert_array_equal(out["y"], np.maximum(x, 0))
        np.testing.assert_array_equal(out["z"], -x)

    def made():  # new blocks of this process's pools: (page-locked, ordinary)
        return trt._clrt._debug.host_blocks_made()

    before = made()
    first = ctx.infer({"x": xs[0]})
    second = ctx.infer({"x": xs[1]})
    assert not addresses(first) & addresses(second)  # both alive: four blocks
    kind = 0 if pinned == "1" else 1
    assert made()[kind] - before[kind] == 4 and made()[1 - kind] == before[1 - kind]
    check(first, xs[0])
    check(second, xs[1])
    freed = addresses(first)
    del first
    third = ctx.infer({"x": xs[2]})
    assert addresses(third) == freed and made()[kind] - before[kind] == 4
    check(second, xs[1])
    check(third, xs[2])
    del ctx, engine
    gc.collect()
    check(second, xs[1])
    check(third, xs[2])
    third["y"][0, 0, 0] = 5.0  # writable, as a NumPy array of its own
    assert third["y"][0, 0, 0] == 5.0


def test_debug_sync_logs_each_layer_of_execute_v2():
    """IExecutionContext.debug_sync: execute_v2 waits for every device layer and logs it (INFO,
    the engine's logger) in run order with its tactic; execute_async_v3 and contexts without
    the flag log nothing; the outputs are the same."""
    import json

    from helpers import RecordingLogger

    log = RecordingLogger()
    model = small_net()
    builder, network, _ = parse_network(model, logger=log)
    config = make_config(builder, profiles={"x": ((1, 2, 4, 4), (2, 2, 4, 4), (4, 2, 4, 4))})
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    engine = trt.Runtime(log).deserialize_cuda_engine(
        bytes(builder.build_serialized_network(network, config))
    )
    layers = json.loads(
        engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON)
    )["Layers"]
    tactic = {layer["Name"]: layer.get("TacticName", "") for layer in layers}
    x = rand((3, 2, 4, 4), seed=9)
    want = ort_run(model, {"x": x})["y"]
    xb, yb = trt.mem_alloc(x.nbytes), trt.mem_alloc(3 * 5 * 4)
    trt.memcpy_htod(xb, x)
    ctx = engine.create_execution_context()
    ctx.set_input_shape("x", x.shape)
    assert ctx.debug_sync is False

    def run(sync, asynchronous=False):
        ctx.debug_sync = sync
        log.lines.clear()
        if asynchronous:
            ctx.set_tensor_address("x", int(xb))
            ctx.set_tensor_address("y", int(yb))
            ctx.execute_async_v3(0)  # memcpy_dtoh below waits for it
        else:
            assert ctx.execute_v2([int(xb), int(yb)])
        got = np.empty((3, 5), np.float32)
        trt.memcpy_dtoh(got, yb)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        return [m for s, m in log.lines if m.startswith("debug_sync:")]

    assert run(False) == []
    lines = run(True)
    names = [m.split("'")[1] for m in lines]
    assert names, "no layer logged"
    order = [layer["Name"] for layer in layers]
    assert all(n in order for n in names), (names, order)
    assert [order.index(n) for n in names] == sorted(order.index(n) for n in names)
    for m, n in zip(lines, names):
        assert m == f"debug_sync: layer '{n}' ({tactic[n]}) finished", m
    assert all(s == trt.Logger.INFO for s, m in log.lines if m.startswith("debug_sync:"))
    assert run(True, asynchronous=True) == []
    xb.free()
    yb.free()
