# The FP16 check's fallback choice (builder/fp16_guard.cc fallbackLayer): when a network output is
# far from FP32 and no layer's error is out of proportion, the FP16 layer whose error grew most
# over its inputs' stays FP32. The inputs' error is floored at FP16's own rounding (2^-11).
from clrt import _clrt

choose = _clrt._debug.fp16_fallback_layer


def test_a_layer_with_exact_inputs_does_not_win_on_its_storage_rounding():
    # ResNet-50's FP16 build: /conv1/Conv (exact inputs, 2.1e-4 of storage rounding) was kept
    # FP32 over a later layer that turned 1% into 5% (a growth of 5).
    assert choose([(2.1e-4, 0.0), (0.05, 0.01), (0.011, 0.01)]) == 1


def test_growth_over_the_floor_still_counts_for_exact_inputs():
    # A first layer that is itself 5% off (100x FP16's rounding) is the one that grew most.
    assert choose([(0.05, 0.0), (0.05, 0.01)]) == 0


def test_ties_keep_the_first_layer_and_one_layer_is_its_own_answer():
    assert choose([(0.02, 0.01), (0.02, 0.01)]) == 0
    assert choose([(0.3, 0.2)]) == 0
