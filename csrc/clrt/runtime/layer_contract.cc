// What each layer kind may carry in an engine file: its attribute names and types, its weight
// names and dtypes, and the precision-contract attrs against the tensors they describe
// (ir/network.h is the prose form). A layer whose file was edited is refused here naming the
// field, instead of a tactic reading a default in place of a renamed attr or weight.
#include <cmath>
#include <set>

#include "clrt/plan/byte_io.h"
#include "clrt/runtime/engine_check.h"

namespace clrt::runtime {
namespace {

using ir::LayerKind;
using plan::printable;

enum class T { kInt, kNum, kStr, kInts, kNums };  // kNum: an int or a float

struct AttrSpec {
  const char* name;
  T type;
};

struct KindSpec {
  std::vector<AttrSpec> attrs;
  std::vector<const char*> required_attrs;
  std::vector<const char*> weights;  // allowed; all FLOAT except CONSTANT's
  std::vector<const char*> required_weights;
};

const std::vector<AttrSpec> kAllAttrs = {{"strides", T::kInts},
                                         {"dilations", T::kInts},
                                         {"pads", T::kInts},
                                         {"auto_pad", T::kStr},
                                         {"window", T::kInts},
                                         {"global", T::kInt},
                                         {"ceil_mode", T::kInt},
                                         {"count_include_pad", T::kInt},
                                         {"type", T::kStr},
                                         {"group", T::kInt},
                                         {"act", T::kStr},
                                         {"act_alpha", T::kNum},
                                         {"act_beta", T::kNum},
                                         {"has_residual", T::kInt},
                                         {"trans_a", T::kInt},
                                         {"trans_b", T::kInt},
                                         {"alpha", T::kNum},
                                         {"beta", T::kNum},
                                         {"op", T::kStr},
                                         {"axis", T::kInt},
                                         {"axes", T::kInts},
                                         {"keepdims", T::kInt},
                                         {"epsilon", T::kNum},
                                         {"channel_axis", T::kInt},
                                         {"to", T::kInt},
                                         {"perm", T::kInts},
                                         {"shape", T::kInts},
                                         {"allowzero", T::kInt},
                                         {"split", T::kInts},
                                         {"start", T::kInt},
                                         {"end", T::kInt},
                                         {"starts", T::kInts},
                                         {"ends", T::kInts},
                                         {"steps", T::kInts},
                                         {"has_reshape", T::kInt},
                                         {"reshape_dims", T::kInts},
                                         {"first_transpose", T::kInts},
                                         {"second_transpose", T::kInts},
                                         {"zero_is_placeholder", T::kInt},
                                         {"noop_with_empty_axes", T::kInt},
                                         {"reason", T::kStr},
                                         {"mode", T::kStr},
                                         {"coord", T::kStr},
                                         {"nearest_mode", T::kStr},
                                         {"cubic_a", T::kNum},
                                         {"exclude_outside", T::kInt},
                                         {"antialias", T::kInt},
                                         {"extrapolation", T::kNum},
                                         {"scales", T::kNums},
                                         {"sizes", T::kInts},
                                         {"roi", T::kNums},
                                         {"value", T::kNum},
                                         {"output_padding", T::kInts},
                                         {"kernel_shape", T::kInts},
                                         {"p", T::kInt},
                                         {"detect_positive", T::kInt},
                                         {"detect_negative", T::kInt},
                                         {"select_last_index", T::kInt},
                                         {"batch_dims", T::kInt},
                                         {"reduction", T::kStr},
                                         {"policy", T::kStr},
                                         {"bitcast", T::kInt},
                                         {"saturate", T::kInt},
                                         {"round_mode", T::kStr},
                                         {"padding", T::kStr},
                                         {"align_corners", T::kInt},
                                         {"exclusive", T::kInt},
                                         {"reverse", T::kInt},
                                         {"k", T::kInt},
                                         {"largest", T::kInt},
                                         {"sorted", T::kInt},
                                         {"center_point_box", T::kInt},
                                         {"output_height", T::kInt},
                                         {"output_width", T::kInt},
                                         {"sampling_ratio", T::kInt},
                                         {"spatial_scale", T::kNum},
                                         {"scale", T::kNum},
                                         {"trans_k", T::kInt},
                                         {"nan_to_zero", T::kInt},
                                         {"head_q", T::kInt},
                                         {"head_v", T::kInt},
                                         {"q_dims", T::kInts},
                                         {"q_strides", T::kInts},
                                         {"q_offset", T::kInt},
                                         {"q_src", T::kInts},
                                         {"k_dims", T::kInts},
                                         {"k_strides", T::kInts},
                                         {"k_offset", T::kInt},
                                         {"k_src", T::kInts},
                                         {"v_dims", T::kInts},
                                         {"v_strides", T::kInts},
                                         {"v_offset", T::kInt},
                                         {"v_src", T::kInts},
                                         {"o_strides", T::kInts},
                                         {"o_dims", T::kInts}};

// Every attr name above with its type; a kind's spec lists the names it accepts.
const AttrSpec& attrSpec(const std::string& name) {
  for (const auto& a : kAllAttrs)
    if (name == a.name) return a;
  static const AttrSpec none{"", T::kInt};
  return none;
}

const KindSpec& specOf(LayerKind k) {
  using V = std::vector<const char*>;
  auto make = [](V attrs, V required, V weights, V requiredWeights) {
    KindSpec s;
    for (const char* a : attrs) {
      s.attrs.push_back(attrSpec(a));
      CLRT_CHECK(*s.attrs.back().name, kRuntime, "internal: attr '", a, "' has no type");
    }
    s.required_attrs = std::move(required);
    s.weights = std::move(weights);
    s.required_weights = std::move(requiredWeights);
    return s;
  };
  const V epilogue = {"act", "act_alpha", "act_beta", "has_residual"};
  auto with = [](V a, const V& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  static const std::map<LayerKind, KindSpec> specs = {
      {LayerKind::kCONVOLUTION,
       make(with({"strides", "dilations", "pads", "group", "auto_pad", "kernel_shape"}, epilogue),
            {}, {"kernel", "bias"}, {})},
      {LayerKind::kACTIVATION, make({"type", "alpha", "beta"}, {"type"}, {}, {})},
      {LayerKind::kUNARY, make({"op", "detect_positive", "detect_negative"}, {"op"}, {}, {})},
      {LayerKind::kELEMENTWISE, make({"op"}, {"op"}, {}, {})},
      {LayerKind::kPOOLING, make({"type", "global", "window", "strides", "pads", "dilations",
                                  "ceil_mode", "count_include_pad", "auto_pad", "p"},
                                 {"type"}, {}, {})},
      {LayerKind::kMATRIX_MULTIPLY,
       make(with({"trans_a", "trans_b"}, epilogue), {}, {"kernel", "bias"}, {})},
      {LayerKind::kSOFTMAX, make({"axis"}, {}, {}, {})},
      {LayerKind::kLOG_SOFTMAX, make({"axis"}, {}, {}, {})},
      {LayerKind::kCONCATENATION, make({"axis"}, {}, {}, {})},
      {LayerKind::kSHUFFLE, make({"first_transpose", "has_reshape", "reshape_dims",
                                  "zero_is_placeholder", "second_transpose"},
                                 {}, {}, {})},
      {LayerKind::kRESHAPE, make({"shape", "allowzero"}, {}, {}, {})},
      {LayerKind::kTRANSPOSE, make({"perm"}, {}, {}, {})},
      {LayerKind::kFLATTEN, make({"axis"}, {}, {}, {})},
      {LayerKind::kSQUEEZE, make({"axes"}, {}, {}, {})},
      {LayerKind::kUNSQUEEZE, make({"axes"}, {}, {}, {})},
      {LayerKind::kCONSTANT, make({}, {}, {"value"}, {"value"})},
      {LayerKind::kREDUCE,
       make({"op", "axes", "keepdims", "noop_with_empty_axes", "select_last_index"}, {"op"}, {},
            {})},
      {LayerKind::kNORMALIZATION, make({"axis", "epsilon"}, {}, {"scale", "bias"}, {"scale"})},
      {LayerKind::kSLICE, make({"starts", "ends", "axes", "steps"}, {}, {}, {})},
      {LayerKind::kGATHER, make({"axis", "mode", "batch_dims"}, {}, {}, {})},
      {LayerKind::kSHAPE, make({"start", "end"}, {}, {}, {})},
      {LayerKind::kCAST, make({"to", "bitcast", "saturate", "round_mode"}, {"to"}, {}, {})},
      {LayerKind::kIDENTITY, make({}, {}, {}, {})},
      {LayerKind::kSPLIT, make({"axis", "split"}, {}, {}, {})},
      {LayerKind::kRANGE, make({}, {}, {}, {})},
      {LayerKind::kCONSTANT_OF_SHAPE, make({}, {}, {"value"}, {})},
      {LayerKind::kEXPAND, make({}, {}, {}, {})},
      {LayerKind::kWHERE, make({}, {}, {}, {})},
      {LayerKind::kSCALE, make({"channel_axis"}, {}, {"scale", "shift"}, {"scale", "shift"})},
      {LayerKind::kREFORMAT, make({"reason"}, {}, {}, {})},
      {LayerKind::kQUANTIZE, make({"axis", "to"}, {}, {}, {})},
      {LayerKind::kDEQUANTIZE, make({"axis"}, {}, {}, {})},
      {LayerKind::kRESIZE,
       make({"mode", "coord", "nearest_mode", "cubic_a", "exclude_outside", "antialias",
             "extrapolation", "scales", "sizes", "roi", "axes", "policy"},
            {"mode"}, {}, {})},
      {LayerKind::kPADDING, make({"pads", "mode", "value"}, {}, {}, {})},
      {LayerKind::kDECONVOLUTION,
       make({"strides", "dilations", "output_padding", "pads", "group", "kernel_shape"}, {},
            {"kernel", "bias"}, {})},
      {LayerKind::kSCATTER, make({"mode", "axis", "reduction"}, {"mode"}, {}, {})},
      {LayerKind::kGRID_SAMPLE, make({"mode", "padding", "align_corners"}, {"mode"}, {}, {})},
      {LayerKind::kCUMULATIVE, make({"op", "axis", "exclusive", "reverse"}, {"op"}, {}, {})},
      {LayerKind::kTOPK, make({"k", "axis", "largest", "sorted"}, {}, {}, {})},
      {LayerKind::kNON_ZERO, make({}, {}, {}, {})},
      {LayerKind::kNMS, make({"center_point_box"}, {}, {}, {})},
      {LayerKind::kUNIQUE, make({"sorted", "axis"}, {}, {}, {})},
      {LayerKind::kROI_ALIGN,
       make({"mode", "coord", "output_height", "output_width", "sampling_ratio", "spatial_scale"},
            {"mode", "coord"}, {}, {})},
      {LayerKind::kATTENTION,
       make({"scale", "trans_k", "nan_to_zero", "head_q", "head_v", "q_dims", "q_strides",
             "q_offset", "q_src", "k_dims", "k_strides", "k_offset", "k_src", "v_dims", "v_strides",
             "v_offset", "v_src", "o_strides", "o_dims"},
            {"scale", "head_q", "head_v"}, {}, {})},
  };
  auto it = specs.find(k);
  CLRT_CHECK(it != specs.end(), kEngineFormat, "engine file malformed: no contract for kind ",
             static_cast<int>(k));
  return it->second;
}

const char* typeName(T t) {
  switch (t) {
    case T::kInt:
      return "an integer";
    case T::kNum:
      return "a number";
    case T::kStr:
      return "a string";
    case T::kInts:
      return "an integer list";
    case T::kNums:
      return "a float list";
  }
  return "?";
}

bool hasType(const ir::AttrValue& v, T t) {
  switch (t) {
    case T::kInt:
      return std::holds_alternative<int64_t>(v);
    case T::kNum:
      return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
    case T::kStr:
      return std::holds_alternative<std::string>(v);
    case T::kInts:
      return std::holds_alternative<std::vector<int64_t>>(v);
    case T::kNums:
      return std::holds_alternative<std::vector<double>>(v);
  }
  return false;
}

std::string quoted(const std::vector<const char*>& names) {
  std::string s;
  for (const char* n : names) s += (s.empty() ? "'" : ", '") + std::string(n) + "'";
  return s.empty() ? "none" : s;
}

bool isPrecision(int64_t d) {
  return d == int64_t(DataType::kFLOAT) || d == int64_t(DataType::kHALF) ||
         d == int64_t(DataType::kINT8);
}

// in_dtypes/out_dtypes against the tensors; in_scales/out_scales sized like them and finite.
void checkPrecisionAttrs(const ir::Network& net, const ir::Layer& l, const std::string& where) {
  const ir::Attrs& a = l.attrs;
  auto bad = [&](const std::string& field, const std::string& why) {
    fail(ErrorKind::kEngineFormat,
         str("engine file malformed: ", where, " attr '", field, "': ", why));
  };
  if (a.has("precision") && !isPrecision(a.i("precision")))
    bad("precision", str(a.i("precision"), " is not FLOAT (0), HALF (1) or INT8 (2)"));
  const bool contract = a.has("precision") || l.kind == LayerKind::kREFORMAT;
  for (const char* key : {"in_dtypes", "out_dtypes"})
    if (contract && !a.has(key))
      bad(key, "missing; a layer with a precision must store its tensor dtypes");
  auto checkList = [&](const char* dtKey, const char* scaleKey, const std::vector<int>& ids,
                       const char* what) {
    if (a.has(dtKey)) {
      const auto d = a.ints(dtKey);
      if (d.size() != ids.size())
        bad(dtKey, str(d.size(), " entries for ", ids.size(), " ", what, "s"));
      for (size_t i = 0; i < ids.size(); ++i) {
        const int64_t want = ids[i] < 0 ? -1 : static_cast<int64_t>(net.tensors[ids[i]].dtype);
        if (d[i] != want)
          bad(dtKey, str("entry ", i, " is ", d[i], ", but ", what, " ", i,
                         ids[i] < 0 ? std::string(" is absent (-1)")
                                    : str(" '", printable(net.tensors[ids[i]].name), "' is ",
                                          dtypeName(net.tensors[ids[i]].dtype), " (", want, ")")));
      }
    }
    if (a.has(scaleKey)) {
      const auto s = a.floats(scaleKey);
      if (s.size() != ids.size())
        bad(scaleKey, str(s.size(), " entries for ", ids.size(), " ", what, "s"));
      for (size_t i = 0; i < s.size(); ++i)
        if (!std::isfinite(s[i]) || s[i] < 0) bad(scaleKey, str("entry ", i, " is ", s[i]));
    }
  };
  checkList("in_dtypes", "in_scales", l.inputs, "input");
  checkList("out_dtypes", "out_scales", l.outputs, "output");
}

}  // namespace

void checkLayerContract(const ir::Network& net, size_t li) {
  const ir::Layer& l = net.layers[li];
  const std::string where =
      str("layer ", li, " '", printable(l.name), "' (", ir::layerKindName(l.kind), ")");
  const KindSpec& spec = specOf(l.kind);
  auto bad = [&](const std::string& field, const std::string& why) {
    fail(ErrorKind::kEngineFormat, str("engine file malformed: ", where, " ", field, ": ", why));
  };
  static const std::set<std::string> contractAttrs = {"precision",  "in_dtypes",  "out_dtypes",
                                                      "in_scales",  "out_scales", "hwc_inputs",
                                                      "hwc_outputs"};
  for (const auto& [name, value] : l.attrs.all()) {
    if (contractAttrs.count(name)) {
      const bool scales = name == "in_scales" || name == "out_scales";
      const bool one = name == "precision" || name == "hwc_inputs" || name == "hwc_outputs";
      const T t = one ? T::kInt : scales ? T::kNums : T::kInts;
      if (!hasType(value, t)) bad("attr '" + name + "'", str("must be ", typeName(t)));
      continue;
    }
    const AttrSpec* found = nullptr;
    for (const auto& a : spec.attrs)
      if (name == a.name) found = &a;
    if (!found) {
      std::vector<const char*> names;
      for (const auto& a : spec.attrs) names.push_back(a.name);
      bad("attr '" + printable(name) + "'",
          str(ir::layerKindName(l.kind), " layers have no such attribute (theirs: ", quoted(names),
              ")"));
    }
    if (!hasType(value, found->type))
      bad("attr '" + name + "'", str("must be ", typeName(found->type)));
    // clrt's string attrs are ASCII words (activation types, ops, padding modes, reasons).
    if (auto text = std::get_if<std::string>(&value); text && plan::printableText(*text) != *text)
      bad("attr '" + name + "'", "'" + printable(*text) + "' is not printable ASCII");
  }
  for (const char* name : spec.required_attrs)
    if (!l.attrs.has(name)) bad(str("attr '", name, "'"), "missing");
  for (const auto& [name, w] : l.weights) {
    bool allowed = false;
    for (const char* n : spec.weights) allowed = allowed || name == n;
    if (!allowed)
      bad("weight '" + printable(name) + "'",
          str(ir::layerKindName(l.kind),
              " layers have no such weight (theirs: ", quoted(spec.weights), ")"));
    if (l.kind != LayerKind::kCONSTANT && l.kind != LayerKind::kCONSTANT_OF_SHAPE &&
        w.dtype != DataType::kFLOAT)
      bad("weight '" + name + "'", str("is ", dtypeName(w.dtype), ", expected FLOAT"));
  }
  for (const char* name : spec.required_weights)
    if (!l.weights.count(name)) bad(str("weight '", name, "'"), "missing");
  checkPrecisionAttrs(net, l, where);
}

}  // namespace clrt::runtime
