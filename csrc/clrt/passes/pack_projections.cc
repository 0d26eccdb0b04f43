// packProjections (run by attentionViews, fuse_attention.cc): separate projections of one input
// feeding an ATTENTION layer's q, k and v become one MatMul whose packed output the layer reads
// as views (its <x>_strides / _offset / _src attributes re-expressed in the packed rows).
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clrt/passes/pass_util.h"

namespace clrt::passes::detail {

using ir::LayerKind;

// A view (dims, strides, offset) of a source whose rows hold n elements, re-expressed in a
// source whose rows hold `total`, columns col .. col + n - 1 of each being the old row. False
// where a dim steps across rows and columns at once or the columns it reaches pass the row.
static bool widenView(const std::vector<int64_t>& dims, std::vector<int64_t>* st, int64_t* off,
                      int64_t n, int64_t total, int64_t col) {
  if (*off < 0 || dims.size() != st->size()) return false;
  int64_t reach = *off % n;  // the last column the view reaches
  for (size_t k = 0; k < dims.size(); ++k) {
    int64_t& s = (*st)[k];
    if (dims[k] == 1) continue;
    if (s < 0) return false;
    if (s > 0 && s % n == 0) {
      s = s / n * total;
    } else {
      reach += (dims[k] - 1) * s;
    }
  }
  if (reach >= n) return false;
  *off = *off / n * total + col + *off % n;
  return true;
}

// Separate projections of one input feeding q, k and v (Hugging Face's BERT, ViT, Whisper, CLIP
// and T5 write query, key and value as three Linear layers) become one MatMul whose weight
// columns are theirs side by side, the attention reading q, k and v as views of its packed
// output, as it reads torchvision's in_proj: one GEMM of N = 3E instead of three of N = E (on
// an H100, ViT-B/16's 12608 x 2304 x 768 FP16 GEMM takes 0.121 ms, a 12608 x 768 x 768 one
// 0.067, so three cost 0.201; INT8 0.084 against 3 x 0.035) and two launches fewer a layer.
// Each projection must be a row-wise MatMul of a constant 2-D weight (its bias folded in, no
// activation or residual), with the same input, weight type and layout and the same precision
// constraints, read by this layer alone as a view. Projections of different inputs (a
// decoder's cross-attention: q from the decoder, k and v from the encoder) pack as far as they
// share one. True when it changed.
bool packProjections(ir::Network& net, size_t ai) {
  static const char* const kNames[] = {"q", "k", "v"};
  const Consumers cons = net.consumers();
  struct Proj {
    int slot, layer;
    int64_t n;
  };
  std::vector<std::vector<Proj>> groups;
  for (int slot = 0; slot < 3; ++slot) {
    const ir::Layer& a = net.layers[ai];
    const std::string nm = kNames[slot];
    const int t = a.inputs[static_cast<size_t>(slot)];
    if (t < 0 || !a.attrs.has(nm + "_strides")) continue;
    if (std::count(a.inputs.begin(), a.inputs.begin() + 3, t) != 1) continue;  // packed already
    const int mi = net.tensors[t].producer;
    if (mi < 0 || net.layers[mi].dead) continue;
    const ir::Layer& m = net.layers[mi];
    const ir::Tensor& y = net.tensors[t];
    if (!rowWiseMatmul(m) || hasResidual(m) || hasActivation(m) ||
        m.weights.size() != (m.weights.count("bias") ? 2 : 1) ||
        std::any_of(m.output_types.begin(), m.output_types.end(),
                    [](const auto& o) { return o.has_value(); }) ||
        y.is_output || y.debug || y.qdq_point || !staticDims(y.dims) || y.dims.empty() ||
        a.attrs.ints(nm + "_src") != std::vector<int64_t>(y.dims.begin(), y.dims.end()))
      continue;
    const HostTensor& kernel = m.weights.at("kernel");  // 2-D (rowWiseMatmul)
    const std::vector<int> readers = liveConsumers(net, cons, t);
    if (readers.size() != 1 || readers[0] != static_cast<int>(ai)) continue;
    const int64_t n = outputChannels(net, m);
    if (n <= 0 || n != y.dims.back()) continue;
    bool placed = false;
    for (auto& g : groups) {
      const ir::Layer& m0 = net.layers[g[0].layer];
      const HostTensor& k0 = m0.weights.at("kernel");
      const int tb = static_cast<int>(m.attrs.i("trans_b", 0));
      if (m0.inputs[0] != m.inputs[0] || k0.dtype != kernel.dtype ||
          m0.attrs.i("trans_b", 0) != tb || k0.dims[tb ? 1 : 0] != kernel.dims[tb ? 1 : 0] ||
          !sameConstraints(m0, m) || net.tensors[m0.outputs[0]].dtype != y.dtype)
        continue;
      Dims lead0 = net.tensors[m0.outputs[0]].dims, lead = y.dims;
      lead0.pop_back(), lead.pop_back();
      if (lead0 != lead) continue;
      g.push_back({slot, mi, n});
      placed = true;
      break;
    }
    if (!placed) groups.push_back({{slot, mi, n}});
  }
  bool changed = false;
  for (const auto& g : groups) {
    if (g.size() < 2) continue;
    int64_t total = 0;
    for (const Proj& p : g) total += p.n;
    // Dry run: every view widens.
    std::vector<std::vector<int64_t>> newStrides;
    std::vector<int64_t> newOffsets;
    int64_t col = 0;
    bool ok = true;
    for (const Proj& p : g) {
      const ir::Layer& a = net.layers[ai];
      const std::string nm = kNames[p.slot];
      std::vector<int64_t> st = a.attrs.ints(nm + "_strides");
      int64_t off = a.attrs.i(nm + "_offset", 0);
      ok = ok && widenView(a.attrs.ints(nm + "_dims"), &st, &off, p.n, total, col);
      newStrides.push_back(st);
      newOffsets.push_back(off);
      col += p.n;
    }
    if (!ok) continue;
    // The packed weight [K, N] side by side (trans_b: [N, K] one above the other) and bias.
    ir::Layer& m0 = net.layers[g[0].layer];
    const bool tb = m0.attrs.i("trans_b", 0) != 0;
    const HostTensor& k0 = m0.weights.at("kernel");
    const int64_t kdim = k0.dims[tb ? 1 : 0];
    const size_t es = dtypeSize(k0.dtype);
    HostTensor packed(k0.dtype, tb ? Dims{total, kdim} : Dims{kdim, total});
    std::vector<float> bias;
    bool anyBias = false;
    int64_t at = 0;
    std::string name, tensorName;
    std::optional<std::pair<float, float>> range = std::make_pair(0.0f, 0.0f);
    for (const Proj& p : g) {
      const ir::Layer& m = net.layers[p.layer];
      const HostTensor& k = m.weights.at("kernel");
      auto copy = [&](int64_t from, int64_t count, int64_t to) {
        std::copy_n(k.bytes.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(from) * es),
                    static_cast<size_t>(count) * es,
                    packed.bytes.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(to) * es));
      };
      if (tb) {  // rows at..at + n - 1 of [N, K]
        copy(0, p.n * kdim, at * kdim);
      } else {  // columns at..at + n - 1 of each row of [K, N]
        for (int64_t r = 0; r < kdim; ++r) copy(r * p.n, p.n, r * total + at);
      }
      auto b = m.weights.find("bias");
      anyBias = anyBias || b != m.weights.end();
      const std::vector<float> bv =
          b != m.weights.end() ? b->second.asFloats() : std::vector<float>(p.n, 0.0f);
      bias.insert(bias.end(), bv.begin(), bv.end());
      at += p.n;
      name += (name.empty() ? "" : " + ") + m.name;
      tensorName += (tensorName.empty() ? "" : " + ") + net.tensors[m.outputs[0]].name;
      const auto& dr = net.tensors[m.outputs[0]].dynamic_range;
      if (!dr) {
        range.reset();
      } else if (range) {
        range =
            std::make_pair(std::min(range->first, dr->first), std::max(range->second, dr->second));
      }
    }
    ir::Tensor pt;
    pt.name = net.uniqueTensorName(tensorName);
    pt.dtype = net.tensors[m0.outputs[0]].dtype;
    pt.dims = net.tensors[m0.outputs[0]].dims;
    pt.dims.back() = total;
    pt.producer = g[0].layer;
    // Each column block keeps its values, so the widest range holds for all of them (the
    // attention reads them as FP16; a range matters only where INT8 storage would be chosen).
    pt.dynamic_range = range;
    net.tensors.push_back(pt);
    const int p = static_cast<int>(net.tensors.size()) - 1;
    m0.weights["kernel"] = std::move(packed);
    if (anyBias) m0.weights["bias"] = HostTensor::fromFloats({total}, bias);
    net.tensors[m0.outputs[0]].producer = -1;  // orphaned; compact() drops it
    m0.outputs[0] = p;
    m0.name = name;
    for (size_t i = 1; i < g.size(); ++i) {
      ir::Layer& m = net.layers[g[i].layer];
      m0.onnx_nodes.insert(m0.onnx_nodes.end(), m.onnx_nodes.begin(), m.onnx_nodes.end());
      m.dead = true;
    }
    ir::Layer& a = net.layers[ai];
    for (size_t i = 0; i < g.size(); ++i) {
      const std::string nm = kNames[g[i].slot];
      a.attrs.set(nm + "_strides", newStrides[i]);
      a.attrs.set(nm + "_offset", newOffsets[i]);
      a.attrs.set(nm + "_src", net.tensors[p].dims);
      a.inputs[static_cast<size_t>(g[i].slot)] = p;
    }
    note(str("fuseAttention: ", g.size(), " projections packed into one MatMul '", name, "' of ",
             total, " columns; '", a.name, "' reads them as views of its output"));
    changed = true;
  }
  return changed;
}

}  // namespace clrt::passes::detail
