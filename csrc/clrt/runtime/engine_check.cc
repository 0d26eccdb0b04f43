// Cross-field validation of a deserialized engine: the graph, the lists, placement, tactics,
// profiles, and dims/dtypes against shape inference, as the builder would have made them.
#include "clrt/runtime/engine_check.h"

#include <algorithm>
#include <limits>
#include <set>

#include "clrt/ir/shape_inference.h"
#include "clrt/plan/byte_io.h"
#include "clrt/runtime/shape_resolver.h"
#include "clrt/tactics/tactic.h"

namespace clrt::runtime {
namespace {

using plan::printable;

[[noreturn]] void malformed(const std::string& field, const std::string& why) {
  fail(ErrorKind::kEngineFormat, str("engine file malformed: ", field, ": ", why));
}

std::string tensorField(const ir::Network& net, int t) {
  return str("tensor ", t, " '", printable(net.tensors[t].name), "'");
}

std::string layerField(const ir::Network& net, size_t li) {
  return str("layer ", li, " '", printable(net.layers[li].name), "' (",
             ir::layerKindName(net.layers[li].kind), ")");
}

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool validUtf8(const std::string& s) {
  static const uint32_t minOf[4] = {0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || s.size() - i <= static_cast<size_t>(n)) return false;
    uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < minOf[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// The input and output lists against the tensors' flags, producers and names.
void checkIoLists(const ir::Network& net) {
  if (net.outputs.empty()) malformed("network output list", "empty");
  std::set<int> ins(net.inputs.begin(), net.inputs.end());
  std::set<int> outs(net.outputs.begin(), net.outputs.end());
  if (ins.size() != net.inputs.size()) malformed("network input list", "lists a tensor twice");
  if (outs.size() != net.outputs.size()) malformed("network output list", "lists a tensor twice");
  // TensorRT's API looks I/O tensors up by name, so names are unique across both lists (a graph
  // output that is also a graph input is a copy with its own name and an onnx_name).
  std::set<std::string> ioNames;
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    const ir::Tensor& x = net.tensors[t];
    const int id = static_cast<int>(t);
    const bool in = ins.count(id) != 0, out = outs.count(id) != 0;
    if (x.is_input != in)
      malformed(tensorField(net, id) + " input flag",
                str(int(x.is_input), " but the tensor is ", in ? "" : "not ",
                    "in the network input list"));
    if (x.is_output != out)
      malformed(tensorField(net, id) + " output flag",
                str(int(x.is_output), " but the tensor is ", out ? "" : "not ",
                    "in the network output list"));
    if (in && out) malformed(tensorField(net, id), "is both a network input and a network output");
    if (in && x.producer != -1)
      malformed(tensorField(net, id) + " producer",
                str("a network input has no producer, this one names layer ", x.producer));
    if ((in || out) && (x.name.empty() || !ioNames.insert(x.name).second))
      malformed(tensorField(net, id) + " name", x.name.empty()
                                                    ? "an input or output needs a name"
                                                    : "another input or output has the same name");
    if ((in || out) && !validUtf8(x.name))
      malformed(tensorField(net, id) + " name", "an input or output name must be valid UTF-8");
    if (!x.onnx_name.empty() && (!out || !validUtf8(x.onnx_name)))
      malformed(tensorField(net, id) + " ONNX output name",
                "only a network output may carry one, as valid UTF-8");
  }
  // infer() keys outputs by ONNX name where one is set: those keys must stay distinct.
  std::set<std::string> keys;
  for (int t : net.outputs) {
    const ir::Tensor& x = net.tensors[t];
    if (!keys.insert(x.onnx_name.empty() ? x.name : x.onnx_name).second)
      malformed(tensorField(net, t) + " ONNX output name",
                "another network output is returned under the same name");
  }
}

// Producers, outputs and execution order: each tensor written by one layer, the one its
// producer field names, and read only after it is written.
void checkGraph(const ir::Network& net) {
  const size_t nt = net.tensors.size();
  std::vector<int> writer(nt, -1);
  std::vector<bool> ready(nt, false);
  for (int t : net.inputs) ready[t] = true;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const ir::Layer& l = net.layers[li];
    if (l.dead) malformed(layerField(net, li) + " dead flag", "a removed layer is in the engine");
    if (l.outputs.empty()) malformed(layerField(net, li) + " outputs", "none");
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      const int t = l.inputs[i];
      if (t < 0 || ready[t]) continue;
      malformed(str(layerField(net, li), " input ", i),
                net.tensors[t].producer >= 0
                    ? str("reads ", tensorField(net, t), " before layer ", net.tensors[t].producer,
                          " writes it")
                    : str("reads ", tensorField(net, t), ", which no layer writes"));
    }
    for (size_t o = 0; o < l.outputs.size(); ++o) {
      const int t = l.outputs[o];
      const std::string field = str(layerField(net, li), " output ", o);
      if (net.tensors[t].is_input) malformed(field, "writes network input " + tensorField(net, t));
      if (writer[t] >= 0)
        malformed(field, str("writes ", tensorField(net, t), ", which layer ", writer[t],
                             " already writes"));
      if (net.tensors[t].producer != static_cast<int>(li))
        malformed(tensorField(net, t) + " producer",
                  str("names layer ", net.tensors[t].producer, ", but layer ", li, " writes it"));
      writer[t] = static_cast<int>(li);
      ready[t] = true;
    }
  }
  for (size_t t = 0; t < nt; ++t) {
    const int p = net.tensors[t].producer;
    if (p >= 0 && writer[t] != p)
      malformed(tensorField(net, static_cast<int>(t)) + " producer",
                str("names layer ", p, ", which does not write it"));
  }
  for (int t : net.outputs)
    if (writer[t] < 0) malformed(tensorField(net, t), "is a network output no layer writes");
  // The builder drops layers whose outputs reach no network output; one here means a rewired id.
  std::vector<bool> live(net.layers.size(), false);
  std::vector<int> stack(net.outputs.begin(), net.outputs.end());
  while (!stack.empty()) {
    const int t = stack.back();
    stack.pop_back();
    const int p = t < 0 ? -1 : net.tensors[t].producer;
    if (p < 0 || live[p]) continue;
    live[p] = true;
    for (int in : net.layers[p].inputs) stack.push_back(in);
  }
  for (size_t li = 0; li < net.layers.size(); ++li)
    if (!live[li])
      malformed(layerField(net, li),
                "no network output depends on it (the builder removes such layers: an id was "
                "rewired?)");
}

void checkPlacementAndTactics(const EngineDesc& d) {
  const ir::Network& net = d.net;
  const std::vector<uint8_t> place = placeLayers(net);
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const ir::Layer& l = net.layers[li];
    const std::string field = layerField(net, li);
    if (place[li] != d.on_host[li])
      malformed(field + " host placement flag",
                str(int(d.on_host[li]), ", but clrt places this layer on the ",
                    place[li] ? "host" : "device"));
    const std::string& name = d.tactics[li];
    if (d.on_host[li]) {
      if (!name.empty())
        malformed(field + " tactic", "'" + printable(name) + "' for a layer run on the host");
      continue;
    }
    const tactics::Tactic* tac = tactics::findTactic(name);
    if (!tac)
      malformed(field + " tactic", "'" + printable(name) +
                                       "' is not a tactic of this clrt (engine from another "
                                       "version?)");
    if (tac->kind() != l.kind)
      malformed(field + " tactic",
                str("'", name, "' implements ", ir::layerKindName(tac->kind()), " layers"));
    const DataType prec = tactics::layerPrecision(l);
    const auto precs = tac->precisions();
    if (std::find(precs.begin(), precs.end(), prec) == precs.end())
      malformed(field + " tactic", str("'", name, "' does not run ", dtypeName(prec), " layers"));
  }
}

// Memory formats as the builder gives them (builder/layouts.cc): a kHWC tensor is a rank-3/4
// intermediate whose producer and readers run tactics that take it channels last, with their
// hwc_inputs / hwc_outputs bits set for it; every bit set belongs to a kHWC tensor.
void checkLayouts(const EngineDesc& d) {
  const ir::Network& net = d.net;
  auto takes = [&](size_t li, int i) {
    if (d.on_host[li]) return false;
    const tactics::Tactic* tac = tactics::findTactic(d.tactics[li]);
    return tac && tac->channelsLast(net.layers[li], i);
  };
  std::vector<bool> producedHwc(net.tensors.size(), false);
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const ir::Layer& l = net.layers[li];
    const int64_t inBits = l.attrs.i("hwc_inputs", 0), outBits = l.attrs.i("hwc_outputs", 0);
    if (inBits < 0 || (l.inputs.size() < 63 && (inBits >> l.inputs.size()) != 0) || outBits < 0 ||
        (l.outputs.size() < 63 && (outBits >> l.outputs.size()) != 0))
      malformed(layerField(net, li) + " channels-last attrs",
                str("bits ", inBits, " / ", outBits, " name inputs/outputs it does not have"));
    // Slot `i` (input i >= 0, output -1 - i) holding tensor `t`: its format, the layer's bit and
    // the tactic agree.
    auto slot = [&](int i, int t, bool bit) {
      const bool hwc =
          t >= 0 && net.tensors[static_cast<size_t>(t)].format == ir::TensorFormat::kHWC;
      const std::string what = i >= 0 ? str("input ", i) : str("output ", -1 - i);
      if (hwc != bit)
        malformed(
            layerField(net, li) + " channels-last attrs",
            str(what, " is ", hwc ? "" : "not ", "an HWC tensor, the attrs say the opposite"));
      if (hwc && !takes(li, i))
        malformed(layerField(net, li), str("tactic '", printable(d.tactics[li]), "' cannot ",
                                           i >= 0 ? "read " : "write ", what, " channels last"));
      return hwc;
    };
    for (size_t i = 0; i < l.inputs.size(); ++i)
      slot(static_cast<int>(i), l.inputs[i], tactics::channelsLastIn(l, i));
    for (size_t o = 0; o < l.outputs.size(); ++o)
      producedHwc[static_cast<size_t>(l.outputs[o])] =
          slot(-1 - static_cast<int>(o), l.outputs[o], tactics::channelsLastOut(l, o));
  }
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    const ir::Tensor& x = net.tensors[t];
    if (x.format != ir::TensorFormat::kHWC) continue;
    // A network input has no producer: its readers' bits (checked above) say it is read so.
    if ((!x.is_input && !producedHwc[t]) || (x.dims.size() != 3 && x.dims.size() != 4))
      malformed(tensorField(net, static_cast<int>(t)),
                "is stored channels last, which only rank-3/4 tensors written so by a device "
                "layer, or network inputs, are");
  }
}

// As the builder checks profiles: names of real inputs, ranks, 0 <= min <= opt <= max, static
// dims fixed; every dynamic input named by every profile.
void checkProfiles(const EngineDesc& d) {
  const ir::Network& net = d.net;
  if (d.profiles.empty()) {
    for (int t : net.inputs)
      if (!isStatic(net.tensors[t].dims))
        malformed(tensorField(net, t), str("has dynamic dims ", dimsToString(net.tensors[t].dims),
                                           " but the engine has no optimization profile"));
    return;
  }
  for (size_t p = 0; p < d.profiles.size(); ++p) {
    for (const auto& [name, range] : d.profiles[p].shapes) {
      const std::string field = str("profile ", p, " input '", printable(name), "'");
      int id = -1;
      for (int t : net.inputs)
        if (net.tensors[t].name == name) id = t;
      if (id < 0) malformed(field, "is not a network input");
      const Dims& dims = net.tensors[id].dims;
      for (const Dims* c : {&range.min, &range.opt, &range.max})
        if (c->size() != dims.size())
          malformed(field, str("shape ", dimsToString(*c), " does not match the input's dims ",
                               dimsToString(dims)));
      for (size_t i = 0; i < dims.size(); ++i) {
        const int64_t lo = range.min[i], opt = range.opt[i], hi = range.max[i];
        if (lo < 0 || lo > opt || opt > hi)
          malformed(field,
                    str("dim ", i, " needs 0 <= min <= opt <= max, got ", lo, ", ", opt, ", ", hi));
        if (dims[i] >= 0 && (lo != dims[i] || hi != dims[i]))
          malformed(field,
                    str("dim ", i, " is fixed at ", dims[i], ", the profile gives ", lo, "..", hi));
      }
    }
    for (int t : net.inputs)
      if (!isStatic(net.tensors[t].dims) && !d.profiles[p].shapes.count(net.tensors[t].name))
        malformed(str("profile ", p), "has no shape for dynamic input " + tensorField(net, t));
  }
}

// Whether a dense tensor of these dims and dtype has a byte size within int64.
bool sizeFits(const Dims& dims, DataType t) {
  int64_t n = static_cast<int64_t>(dtypeSize(t));
  for (int64_t x : dims) {
    if (x < 0) return false;
    if (x != 0 && n > std::numeric_limits<int64_t>::max() / x) return false;
    n *= x;
  }
  return true;
}

// Stored dims and dtypes against what shape inference gives at one profile corner.
void checkResolved(const EngineDesc& d, const ResolvedShapes& r, const std::string& corner) {
  const ir::Network& net = d.net;
  for (size_t t = 0; t < net.tensors.size(); ++t)
    if ((net.tensors[t].is_input || net.tensors[t].producer >= 0) &&
        !sizeFits(r.dims[t], net.tensors[t].dtype))
      malformed(tensorField(net, static_cast<int>(t)) + " dims",
                str(dimsToString(r.dims[t]), " of ", dtypeName(net.tensors[t].dtype), " at ",
                    corner, ": the byte size is negative or beyond int64"));
  for (size_t li = 0; li < net.layers.size(); ++li) {
    const ir::Layer& l = net.layers[li];
    const bool storage = !d.on_host[li] && l.attrs.has("out_dtypes");
    for (int t : l.outputs) {
      const ir::Tensor& x = net.tensors[t];
      const Dims& got = r.dims[t];
      bool ok = got.size() == x.dims.size();
      for (size_t i = 0; ok && i < got.size(); ++i) ok = x.dims[i] < 0 || x.dims[i] == got[i];
      if (!ok)
        malformed(tensorField(net, t) + " dims",
                  str(dimsToString(x.dims), ", but ", layerField(net, li), " gives ",
                      dimsToString(got), " at ", corner));
      // A layer with storage dtypes (the precision contract) writes FLOAT, HALF or INT8 in place
      // of what it computes; out_dtypes, checked against the tensors, says which.
      const DataType want = r.dtypes[t];
      auto isStorage = [](DataType v) {
        return v == DataType::kFLOAT || v == DataType::kHALF || v == DataType::kINT8;
      };
      if (x.dtype != want && !(storage && isStorage(want) && isStorage(x.dtype)))
        malformed(
            tensorField(net, t) + " dtype",
            str(dtypeName(x.dtype), ", but ", layerField(net, li), " gives ", dtypeName(want)));
    }
  }
}

// The tactic accepts the layer as the builder saw it: stored dims and dtypes, host-known values
// at the first profile's opt shapes.
void checkEligible(const EngineDesc& d, const ResolvedShapes& opt, const ocl::DeviceInfo& dev) {
  const ir::Network& net = d.net;
  for (size_t li = 0; li < net.layers.size(); ++li) {
    if (d.on_host[li]) continue;
    const ir::Layer& l = net.layers[li];
    std::vector<ir::TensorInfo> infos;
    for (int t : l.inputs) {
      ir::TensorInfo ti;
      if (t >= 0) {
        const ir::Tensor& x = net.tensors[t];
        ti.dtype = x.dtype;
        ti.dims = x.dims;
        const bool known = x.producer >= 0 && d.on_host[x.producer];
        ti.value = known && opt.values[t] && isStatic(x.dims) ? &*opt.values[t] : nullptr;
      }
      infos.push_back(ti);
    }
    bool ok = false;
    try {
      ok = tactics::findTactic(d.tactics[li])->eligible(l, infos, dev);
    } catch (const Error& e) {
      malformed(layerField(net, li), plan::printableText(e.what()));
    }
    if (!ok)
      malformed(layerField(net, li) + " tactic",
                str("'", d.tactics[li], "' cannot run this layer with its stored tensors"));
  }
}

}  // namespace

void checkEngineDesc(const EngineDesc& d, const ocl::DeviceInfo& dev) {
  const ir::Network& net = d.net;
  if (d.tactics.size() != net.layers.size() || d.on_host.size() != net.layers.size())
    malformed("tactic and host placement lists",
              str(d.tactics.size(), " tactics and ", d.on_host.size(), " placement flags for ",
                  net.layers.size(), " layers"));
  if (d.profiling_verbosity < 0 || d.profiling_verbosity > 2)
    malformed("profiling verbosity", str(d.profiling_verbosity, " is not 0, 1 or 2"));
  checkIoLists(net);
  checkGraph(net);
  for (size_t li = 0; li < net.layers.size(); ++li) checkLayerContract(net, li);
  if (d.refittable) {  // what a refit replays the graph passes over: the same checks, up front
    checkIoLists(d.refit_source);
    checkGraph(d.refit_source);
    for (size_t li = 0; li < d.refit_source.layers.size(); ++li)
      checkLayerContract(d.refit_source, li);
  }
  checkPlacementAndTactics(d);
  checkLayouts(d);
  checkProfiles(d);
  const size_t np = std::max<size_t>(d.profiles.size(), 1);
  uint64_t peak = 0;
  for (size_t p = 0; p < np; ++p) {
    for (int c = 0; c < 3; ++c) {
      const std::string corner = str(c == 0   ? "the min"
                                     : c == 1 ? "the opt"
                                              : "the max",
                                     " shapes of profile ", p);
      ResolvedShapes r;
      try {
        r = resolveShapes(net, d.on_host, profileInputDims(net, d.profiles, p, c),
                          profileInputValues(net, d.profiles, p, c));
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kEngineFormat) throw;
        malformed(str("shapes at ", corner), plan::printableText(e.what()));
      }
      checkResolved(d, r, corner);
      if (p == 0 && c == 1) checkEligible(d, r, dev);
      if (c == 2)
        peak = std::max(peak, planMemory(net, d.on_host, r.dims, dev.arena_alignment).arena_bytes);
    }
  }
  if (peak != d.peak_activation_bytes)
    malformed("peak activation bytes",
              str(d.peak_activation_bytes, ", but the engine's memory plan needs ", peak));
}

}  // namespace clrt::runtime
