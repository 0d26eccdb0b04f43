// Refit by name: a refittable engine keeps the ONNX model its network was parsed from; weights
// set by initializer name are written into a copy of it, which is parsed again (builder/refit.cc
// then takes the weights that changed).
#include "clrt/onnx/importer.h"
#include "clrt/onnx/parser.h"

namespace clrt::onnx {
namespace {

using TP = ::onnx::TensorProto;

bool isFloatInitializer(const TP& t) {
  const int d = t.data_type();
  return d == TP::FLOAT || d == TP::FLOAT16 || d == TP::DOUBLE || d == TP::BFLOAT16;
}

::onnx::ModelProto readModel(const std::string& model) {
  ::onnx::ModelProto m;
  CLRT_CHECK(m.ParseFromString(model), kValue,
             "refit: the engine's ONNX model does not read back (damaged engine)");
  return m;
}

size_t elementBytes(int onnxType) {
  return onnxType == TP::DOUBLE ? 8 : onnxType == TP::FLOAT ? 4 : 2;
}

}  // namespace

std::vector<InitializerInfo> floatInitializers(const std::string& model) {
  std::vector<InitializerInfo> out;
  const ::onnx::ModelProto m = readModel(model);  // held: the loop reads into it
  for (const TP& t : m.graph().initializer())
    if (isFloatInitializer(t))
      out.push_back({t.name(), Dims(t.dims().begin(), t.dims().end()), t.data_type()});
  return out;
}

std::string replaceInitializers(const std::string& model,
                                const std::map<std::string, std::string>& values) {
  ::onnx::ModelProto m = readModel(model);
  std::map<std::string, std::string> left = values;
  for (TP& t : *m.mutable_graph()->mutable_initializer()) {
    auto it = left.find(t.name());
    if (it == left.end()) continue;
    CLRT_CHECK(isFloatInitializer(t), kValue, "refit: initializer '", t.name(),
               "' is not a floating-point tensor");
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    const size_t want = static_cast<size_t>(n) * elementBytes(t.data_type());
    CLRT_CHECK(it->second.size() == want, kValue, "refit: initializer '", t.name(), "' takes ",
               want, " bytes, got ", it->second.size());
    t.clear_float_data();
    t.clear_int32_data();
    t.clear_double_data();
    t.clear_external_data();
    t.set_data_location(TP::DEFAULT);
    t.set_raw_data(it->second);
    left.erase(it);
  }
  CLRT_CHECK(left.empty(), kValue, "refit: the model has no initializer '",
             left.empty() ? "" : left.begin()->first, "'");
  std::string out;
  CLRT_CHECK(m.SerializeToString(&out), kValue,
             "refit: the model with the new weights does not serialize (over 2 GB?)");
  return out;
}

}  // namespace clrt::onnx
