// A layer's attributes: a small typed map, easy to serialize and to read with defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "clrt/core/error.h"

namespace clrt::ir {

using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

class Attrs {
 public:
  void set(const std::string& k, int64_t v) { m_[k] = v; }
  void set(const std::string& k, int v) { m_[k] = static_cast<int64_t>(v); }
  void set(const std::string& k, bool v) { m_[k] = static_cast<int64_t>(v); }
  void set(const std::string& k, double v) { m_[k] = v; }
  void set(const std::string& k, float v) { m_[k] = static_cast<double>(v); }
  void set(const std::string& k, const char* v) { m_[k] = std::string(v); }
  void set(const std::string& k, std::string v) { m_[k] = std::move(v); }
  void set(const std::string& k, std::vector<int64_t> v) { m_[k] = std::move(v); }
  void set(const std::string& k, std::vector<double> v) { m_[k] = std::move(v); }
  void erase(const std::string& k) { m_.erase(k); }
  bool has(const std::string& k) const { return m_.count(k) != 0; }

  int64_t i(const std::string& k, int64_t def = 0) const {
    auto it = m_.find(k);
    if (it == m_.end()) return def;
    if (auto p = std::get_if<int64_t>(&it->second)) return *p;
    if (auto p = std::get_if<double>(&it->second)) return static_cast<int64_t>(*p);
    fail(ErrorKind::kValue, "attribute '" + k + "' is not an integer");
  }
  double f(const std::string& k, double def = 0.0) const {
    auto it = m_.find(k);
    if (it == m_.end()) return def;
    if (auto p = std::get_if<double>(&it->second)) return *p;
    if (auto p = std::get_if<int64_t>(&it->second)) return static_cast<double>(*p);
    fail(ErrorKind::kValue, "attribute '" + k + "' is not a number");
  }
  std::string s(const std::string& k, const std::string& def = "") const {
    auto it = m_.find(k);
    if (it == m_.end()) return def;
    if (auto p = std::get_if<std::string>(&it->second)) return *p;
    fail(ErrorKind::kValue, "attribute '" + k + "' is not a string");
  }
  std::vector<int64_t> ints(const std::string& k, std::vector<int64_t> def = {}) const {
    auto it = m_.find(k);
    if (it == m_.end()) return def;
    if (auto p = std::get_if<std::vector<int64_t>>(&it->second)) return *p;
    fail(ErrorKind::kValue, "attribute '" + k + "' is not an integer list");
  }
  std::vector<double> floats(const std::string& k, std::vector<double> def = {}) const {
    auto it = m_.find(k);
    if (it == m_.end()) return def;
    if (auto p = std::get_if<std::vector<double>>(&it->second)) return *p;
    fail(ErrorKind::kValue, "attribute '" + k + "' is not a float list");
  }
  const std::map<std::string, AttrValue>& all() const { return m_; }

 private:
  std::map<std::string, AttrValue> m_;
};

}  // namespace clrt::ir
