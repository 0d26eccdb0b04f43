// Model-local ONNX functions, and operators ONNX defines by a function body, expanded before the
// import (functions.cc).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace clrt::onnx {

// Replaces every call of a function of model.functions() (matched by domain, name and overload;
// in the graph, in nested graphs and in bodies) by its body, for a model of ai.onnx opset `opset`;
// and every default-domain node no importer takes whose operator ONNX defines by a function body.
// Returns the number of calls expanded; `errors` lists what could not be expanded (a function of
// another opset whose operators differ there, more arguments than parameters, calls nested deeper
// than 64, more than 2^18 nodes in all).
int inlineFunctions(::onnx::ModelProto& model, int opset, std::vector<std::string>& errors);

// The operators with no importer that are expanded into ONNX's function body, where every
// operator of the body is imported (or itself expanded). Call after the importers are registered.
const std::vector<std::string>& functionBodyOps();

}  // namespace clrt::onnx
