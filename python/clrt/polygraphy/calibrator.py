"""Polygraphy's Calibrator for clrt: its data loader, cache and input checks, with each batch
handed to clrt as NumPy arrays (Polygraphy's own copies them into CUDA memory)."""

from polygraphy import util
from polygraphy.backend.base import util as base_util
from polygraphy.logger import G_LOGGER

from . import use_clrt


def Calibrator(
    data_loader,
    cache=None,
    BaseClass=None,
    batch_size=None,
    quantile=None,
    regression_cutoff=None,
    algo=None,
):
    """polygraphy.backend.trt.Calibrator's arguments and behaviour. The data loader yields
    {input name: NumPy array (or torch tensor, or clrt device pointer)} per batch."""
    use_clrt()
    from polygraphy.backend.trt import Calibrator as PolygraphyCalibrator

    calib = PolygraphyCalibrator(
        data_loader,
        cache=cache,
        BaseClass=BaseClass,
        batch_size=batch_size,
        quantile=quantile,
        regression_cutoff=regression_cutoff,
        algo=algo,
    )

    def get_batch_impl(names):
        try:
            buffers = next(calib.data_loader_iter)
        except StopIteration:
            if not calib.num_batches:
                G_LOGGER.critical(
                    "Calibrator data loader provided no data (a generator cannot be rewound "
                    "for a second calibration)"
                )
            return None
        calib.num_batches += 1
        if calib.input_metadata is not None:
            base_util.check_inputs(buffers, calib.input_metadata)
        return [
            buffers[n] if isinstance(buffers[n], int) else util.array.to_numpy(buffers[n])
            for n in names
        ]

    polygraphy_write = calib.write_calibration_cache

    def write_calibration_cache(cache, length=None):
        # Polygraphy calls cache.tobytes() (TensorRT and clrt pass a memoryview; bytes too).
        polygraphy_write(memoryview(cache))

    calib._get_batch_impl = get_batch_impl
    calib.write_calibration_cache = write_calibration_cache
    calib.make_func = Calibrator
    return calib
