// Conversions between Python objects (sequences, NumPy arrays, buffers) and core values.
#include <cstring>
#include <utility>

#include "clrt/python/bindings.h"
#include "clrt/runtime/engine.h"

namespace clrt::python {

void warnDeprecated(const std::string& msg) {
  if (PyErr_WarnEx(PyExc_DeprecationWarning, msg.c_str(), 1) < 0) throw py::error_already_set();
}

py::str pyText(const std::string& s) {
  PyObject* o =
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "backslashreplace");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

Dims toDims(const py::handle& obj, const std::string& what) {
  const bool text = py::isinstance<py::str>(obj) || py::isinstance<py::bytes>(obj);
  if (obj.is_none() || text || !py::hasattr(obj, "__iter__"))
    fail(ErrorKind::kValue, str(what, ": expected a sequence of ints, got ",
                                std::string(py::str(py::type::of(obj).attr("__name__")))));
  Dims d;
  for (py::handle item : obj) {
    PyObject* idx = PyNumber_Index(item.ptr());  // ints and integer NumPy scalars, not floats
    if (!idx) {
      PyErr_Clear();
      fail(ErrorKind::kValue,
           str(what, ": dimension ", std::string(py::repr(item)), " is not an integer"));
    }
    d.push_back(py::reinterpret_steal<py::int_>(idx).cast<int64_t>());
  }
  return d;
}

py::tuple toTuple(const std::vector<int64_t>& d) {
  py::tuple t(d.size());
  for (size_t i = 0; i < d.size(); ++i) t[i] = py::int_(d[i]);
  return t;
}

namespace {
// The types NumPy lacks, as ml_dtypes (a dependency of onnx) names them; one byte per element
// but bfloat16's two.
const std::pair<DataType, const char*> kMlDtypes[] = {
    {DataType::kBF16, "bfloat16"},
    {DataType::kFP8, "float8_e4m3fn"},
    {DataType::kFP8E5M2, "float8_e5m2"},
    {DataType::kFP8E4M3FNUZ, "float8_e4m3fnuz"},
    {DataType::kFP8E5M2FNUZ, "float8_e5m2fnuz"},
    {DataType::kFP4, "float4_e2m1fn"},
    {DataType::kE8M0, "float8_e8m0fnu"},
    {DataType::kINT4, "int4"},
    {DataType::kUINT4, "uint4"},
    {DataType::kINT2, "int2"},
    {DataType::kUINT2, "uint2"},
};

py::dtype mlDtype(DataType t, const char* name) {
  py::module_ m;
  try {
    m = py::module_::import("ml_dtypes");
  } catch (py::error_already_set&) {
    fail(ErrorKind::kUnsupported,
         str(dtypeName(t), " tensors are NumPy arrays of ml_dtypes.", name,
             "; install ml_dtypes (pip install ml_dtypes) to pass or receive them"));
  }
  return py::dtype::from_args(m.attr(name));
}
}  // namespace

py::dtype numpyDtype(DataType t) {
  for (const auto& [dt, name] : kMlDtypes)
    if (dt == t) return mlDtype(t, name);
  switch (t) {
    case DataType::kFLOAT:
      return py::dtype("float32");
    case DataType::kHALF:
      return py::dtype("float16");
    case DataType::kINT8:
      return py::dtype("int8");
    case DataType::kINT32:
      return py::dtype("int32");
    case DataType::kBOOL:
      return py::dtype("bool");
    case DataType::kUINT8:
      return py::dtype("uint8");
    case DataType::kINT64:
      return py::dtype("int64");
    case DataType::kINT16:
      return py::dtype("int16");
    case DataType::kUINT16:
      return py::dtype("uint16");
    case DataType::kUINT32:
      return py::dtype("uint32");
    case DataType::kUINT64:
      return py::dtype("uint64");
    case DataType::kDOUBLE:
      return py::dtype("float64");
    default:
      fail(ErrorKind::kUnsupported, str("data type ", dtypeName(t), " has no NumPy equivalent"));
  }
}

DataType dataTypeOf(const py::dtype& d, const std::string& what) {
  const char kind = d.kind();
  const auto size = d.itemsize();
  // ml_dtypes' types first: float8_e5m2 calls itself kind 'f', the others 'V'.
  const std::string name = py::str(d);
  for (const auto& [dt, ml] : kMlDtypes)
    if (name == ml && static_cast<size_t>(size) == dtypeSize(dt)) return dt;
  if (kind == 'f' && size == 4) return DataType::kFLOAT;
  if (kind == 'f' && size == 8) return DataType::kDOUBLE;
  if (kind == 'f' && size == 2) return DataType::kHALF;
  if (kind == 'i' && size == 1) return DataType::kINT8;
  if (kind == 'i' && size == 2) return DataType::kINT16;
  if (kind == 'i' && size == 4) return DataType::kINT32;
  if (kind == 'i' && size == 8) return DataType::kINT64;
  if (kind == 'u' && size == 1) return DataType::kUINT8;
  if (kind == 'u' && size == 2) return DataType::kUINT16;
  if (kind == 'u' && size == 4) return DataType::kUINT32;
  if (kind == 'u' && size == 8) return DataType::kUINT64;
  if (kind == 'b') return DataType::kBOOL;
  fail(ErrorKind::kValue,
       str(what, ": NumPy dtype ", name,
           " has no clrt DataType (use float16/32/64, int8/16/32/64, uint8/16/32/64, bool, or "
           "ml_dtypes' bfloat16, float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, "
           "float4_e2m1fn, float8_e8m0fnu, int4, uint4, int2, uint2)"));
}

py::array contiguous(const py::handle& obj, const py::dtype& dt) {
  // np.asarray(order="C") rather than np.ascontiguousarray, which turns 0-d arrays into 1-d.
  return py::module_::import("numpy").attr("asarray")(obj, dt, py::arg("order") = "C");
}

HostTensor toHostTensor(const py::handle& obj, const std::string& what, bool float32) {
  if (obj.is_none()) return HostTensor(DataType::kFLOAT, Dims{0});  // numel 0
  py::module_ np = py::module_::import("numpy");
  py::array a = np.attr("asarray")(obj);
  const char kind = a.dtype().kind();
  if (float32) {
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
      fail(ErrorKind::kValue, str(what, ": weights of dtype ", std::string(py::str(a.dtype())),
                                  " cannot be converted to float32"));
    a = contiguous(a, py::dtype("float32"));
  } else {
    // Weights are stored as layers compute them; INT8, UINT8 and HALF keep their own meaning.
    DataType t = dataTypeOf(a.dtype(), what);
    if (t != DataType::kINT8 && t != DataType::kUINT8 && t != DataType::kHALF) t = computeDtype(t);
    a = contiguous(a, numpyDtype(t));
  }
  HostTensor h;
  h.dtype = float32 ? DataType::kFLOAT : dataTypeOf(a.dtype(), what);
  for (py::ssize_t i = 0; i < a.ndim(); ++i) h.dims.push_back(a.shape(i));
  const auto* p = static_cast<const uint8_t*>(a.data());
  h.bytes.assign(p, p + a.nbytes());
  return h;
}

py::array toArray(HostTensor t) {
  py::dtype dt = numpyDtype(t.dtype);
  std::vector<py::ssize_t> shape(t.dims.begin(), t.dims.end());
  if (t.bytes.empty()) return py::array(dt, shape);  // zero elements: nothing to keep
  auto* held = new HostTensor(std::move(t));
  py::capsule owner(held, [](void* p) { delete static_cast<HostTensor*>(p); });
  return py::array(dt, shape, {}, held->bytes.data(), owner);
}

py::array toArray(runtime::HostOutput o) {
  py::dtype dt = numpyDtype(o.dtype);
  std::vector<py::ssize_t> shape(o.dims.begin(), o.dims.end());
  if (!o.data) return py::array(dt, shape);  // zero elements: nothing to keep
  auto* held = new std::shared_ptr<uint8_t>(std::move(o.data));
  py::capsule owner(held, [](void* p) { delete static_cast<std::shared_ptr<uint8_t>*>(p); });
  return py::array(dt, shape, {}, held->get(), owner);
}

BufferView::BufferView(const py::handle& obj, bool writable, const std::string& what) {
  const int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(obj.ptr(), &view_, flags) != 0) {
    PyErr_Clear();
    fail(ErrorKind::kValue,
         str(what, ": expected a C-contiguous", writable ? ", writable" : "",
             " array or buffer, got ", std::string(py::str(py::type::of(obj).attr("__name__")))));
  }
}

BufferView::~BufferView() { PyBuffer_Release(&view_); }

}  // namespace clrt::python
