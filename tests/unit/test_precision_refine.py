# The builder's whole-network precision refinement (builder/precision_refine.cc): the greedy
# choice, made layer by layer in execution order with only its inputs' reformats counted, stays
# in a chain it started in; the refinement moves a layer, or the connected layers sharing its
# precision, to another timed precision whenever layer time plus reformats fall.
# Made-up problems with exact answers; a reformat costs fixed_ms + ms_per_byte a byte moved.
from clrt import _clrt

refine = _clrt._debug.refine_precisions
F, H, I8 = _clrt.DataType.FLOAT, _clrt.DataType.HALF, _clrt.DataType.INT8
MB = 1 << 20


def chain(times, start, first_src=F, last_wants=F):
    """Layers 0..n-1 in a line: tensor k is layer k's input (tensor 0 a network input), the last
    tensor the network output. Each tensor has MB elements."""
    layers = [{"ms": t, "prec": p} for t, p in zip(times, start)]
    tensors = [{"elems": MB, "src": first_src, "consumers": [0]}]
    for k in range(len(layers)):
        t = {"elems": MB, "producer": k}
        if k + 1 < len(layers):
            t["consumers"] = [k + 1]
        else:
            t["fixed"] = [last_wants]
        tensors.append(t)
    return layers, tensors


def test_a_half_chain_moves_to_int8_when_one_reformat_pays():
    # ResNet-50's case: the stem in FP16 (INT8 much slower), then layers 4x faster in INT8.
    # Greedy, each INT8 layer alone pays a reformat in and one out (2 x 0.35 ms of HALF <-> INT8
    # at 1e-7 ms/byte x 3 MB) against 0.3 ms saved, so it stays FP16: 0.4 + 4 x 0.4 ms + the
    # output's HALF -> FLOAT reformat (0.66 ms), 2.66 ms. The four together: one reformat in
    # (0.35 ms), 4 x 0.1 ms, the last writing FLOAT (3 more bytes an element, 0.31 ms): 1.46 ms.
    fast = {H: 0.4, I8: 0.1}
    layers, tensors = chain([{H: 0.4, I8: 1.0}] + [fast] * 4, [H] * 5)
    got = refine(layers, tensors, fixed_ms=0.03, ms_per_byte=1e-7)
    assert got == [H, I8, I8, I8, I8]


def test_a_layer_alone_moves_when_its_own_gain_pays_its_reformats():
    layers, tensors = chain([{H: 0.2, I8: 0.2}, {H: 2.0, I8: 0.1}, {H: 0.2, I8: 0.2}], [H, H, H])
    got = refine(layers, tensors, fixed_ms=0.03, ms_per_byte=1e-7)
    # Layers 0 and 2 cost the same either way; moving all three saves more reformats.
    assert got[1] == I8 and got == [I8, I8, I8]


def test_nothing_moves_when_reformats_cost_more_than_the_gain():
    # HALF in and out of the network: every INT8 layer saves 0.02 ms, a reformat in and one out
    # cost far more.
    layers, tensors = chain([{H: 0.4, I8: 0.38}] * 3, [H] * 3, first_src=H, last_wants=H)
    assert refine(layers, tensors, fixed_ms=0.05, ms_per_byte=1e-7) == [H, H, H]


def test_float_network_io_is_counted():
    # The same layers with FLOAT network I/O: FP16 needs FLOAT -> HALF in and HALF -> FLOAT out
    # (0.68 ms each); INT8 reads FLOAT -> INT8 (5 bytes an element: 0.57 ms) and its last layer
    # writes FLOAT itself (0.31 ms more): all INT8 is cheaper.
    layers, tensors = chain([{H: 0.4, I8: 0.38}] * 3, [H] * 3)
    assert refine(layers, tensors, fixed_ms=0.05, ms_per_byte=1e-7) == [I8, I8, I8]


def test_fixed_layers_stay_and_untimed_precisions_are_not_taken():
    # Layer 1 was timed only in FP16 (no INT8 implementation): it stays, and layers 0 and 2 are
    # not given a precision they were not timed in.
    layers, tensors = chain([{H: 1.0, F: 1.5}, {H: 1.0}, {H: 1.0, F: 0.2}], [H, H, H])
    got = refine(layers, tensors, fixed_ms=0.0, ms_per_byte=1e-9)
    assert got == [H, H, F]


def test_a_tensor_without_an_int8_range_is_stored_float():
    # Layers 1 and 2 together in INT8 pay (2.16 -> 1.75 ms) when layer 1 writes INT8; without a
    # range for its output it writes FLOAT, and layer 2 then needs a FLOAT -> INT8 reformat
    # (0.55 ms): they stay FP16.
    times = [{H: 1.0}, {H: 0.5, I8: 0.1}, {H: 1.0, I8: 1.0}]
    layers, tensors = chain(times, [H, H, H], first_src=H)
    assert refine(layers, tensors, fixed_ms=0.03, ms_per_byte=1e-7) == [H, I8, I8]
    layers, tensors = chain(times, [H, H, H], first_src=H)
    tensors[2]["int8_ok"] = False
    assert refine(layers, tensors, fixed_ms=0.03, ms_per_byte=1e-7) == [H, H, H]


def test_a_residual_join_moves_with_both_branches():
    # 0 -> (1, 2) -> 3 (an add of both), all FP16 to start; INT8 halves 1, 2 and 3. Moving any
    # one alone adds reformats on both sides; the region of all three pays.
    fast = {H: 0.4, I8: 0.1}
    layers = [{"ms": {H: 0.4}, "prec": H}] + [{"ms": fast, "prec": H} for _ in range(3)]
    tensors = [
        {"elems": MB, "src": F, "consumers": [0]},
        {"elems": MB, "producer": 0, "consumers": [1, 2]},
        {"elems": MB, "producer": 1, "consumers": [3]},
        {"elems": MB, "producer": 2, "consumers": [3]},
        {"elems": MB, "producer": 3, "fixed": [F]},
    ]
    got = refine(layers, tensors, fixed_ms=0.05, ms_per_byte=1e-7)
    assert got == [H, I8, I8, I8]


def test_differences_within_timing_noise_move_nothing():
    # Free reformats: INT8 0.5% faster (within the noise of a median of a few runs) stays put;
    # 10% faster moves.
    layers, tensors = chain([{H: 1.0, I8: 0.995}] * 3, [H] * 3)
    assert refine(layers, tensors, fixed_ms=0.0, ms_per_byte=0.0) == [H, H, H]
    layers, tensors = chain([{H: 1.0, I8: 0.9}] * 3, [H] * 3)
    assert refine(layers, tensors, fixed_ms=0.0, ms_per_byte=0.0) == [I8, I8, I8]
