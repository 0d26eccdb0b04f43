"""Polygraphy's own CUDA wrapper (polygraphy.cuda: DeviceArray, Stream, memcpy) calls libcudart's
C entry points through ctypes. Under clrt.cuda_compat its global wrapper gets this stand-in for
that library instead of looking for CUDA, so `polygraphy run model.onnx --trt` runs on clrt."""

from . import runtime


def _value(arg):
    """The integer behind a ctypes argument (c_void_p, c_size_t, c_int) or a plain int."""
    value = getattr(arg, "value", arg)
    return int(value or 0)


def _store(byref_arg, value):
    byref_arg._obj.value = value  # the c_void_p passed by ctypes.byref()


class CudartLibrary:
    """The libcudart functions Polygraphy calls, each returning the cudaError_t as an int."""

    def cudaStreamCreate(self, out):
        err, *result = runtime.cudaStreamCreate()
        if not err:
            _store(out, int(result[0]))
        return int(err)

    def cudaStreamSynchronize(self, stream):
        return int(runtime.cudaStreamSynchronize(_value(stream))[0])

    def cudaStreamDestroy(self, stream):
        return int(runtime.cudaStreamDestroy(_value(stream))[0])

    def cudaMalloc(self, out, nbytes):
        err, *result = runtime.cudaMalloc(_value(nbytes))
        if not err:
            _store(out, int(result[0]))
        return int(err)

    def cudaFree(self, ptr):
        return int(runtime.cudaFree(_value(ptr))[0])

    def cudaMemcpy(self, dst, src, nbytes, kind):
        return int(runtime.cudaMemcpy(_value(dst), _value(src), _value(nbytes), _value(kind))[0])

    def cudaMemcpyAsync(self, dst, src, nbytes, kind, stream):
        args = (_value(dst), _value(src), _value(nbytes), _value(kind), _value(stream))
        return int(runtime.cudaMemcpyAsync(*args)[0])

    def __getattr__(self, name):
        raise AttributeError(
            f"clrt's stand-in for libcudart (Polygraphy's CUDA wrapper) has no {name}"
        )


def attach(module):
    """Gives polygraphy.cuda.cuda's global wrapper the stand-in library (module: that module)."""
    wrapper = object.__new__(module.Cuda)  # Cuda() would look for libcudart
    wrapper.handle = CudartLibrary()
    module.G_CUDA = wrapper
