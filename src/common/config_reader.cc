#include "common/config_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parasol::config {
namespace internal {

// A document converted once from yaml-cpp or nlohmann::json into one tree with lines.
struct Value {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string text;               // a scalar's text
  bool quoted = false;            // a quoted YAML scalar or a JSON string: text, never a number
  int line = 0;                   // 1-based; 0 when unknown
  std::vector<Value> items;       // a list's items, or a mapping's values
  std::vector<std::string> keys;  // a mapping's keys, in document order
  std::vector<int> key_lines;     // where each key is
};

struct MapState {
  const Value* value = nullptr;
  std::string path;
  std::set<std::string, std::less<>> known;
  bool allow_other_keys = false;
  std::vector<std::string> asked;  // known, in the order asked (for suggestions)
};

// Thrown by Node::Fail; Read* turn it into the returned status.
struct ReadError {
  std::string message;
};

struct Document {
  std::string origin;
  bool json = false;  // a JSON value: strings are JSON strings
  Value root;
  Value null_value;
  std::deque<MapState> maps;
  std::unordered_map<const Value*, MapState*> map_of;

  std::string Where(int line, const std::string& path, absl::string_view message) const {
    return absl::StrCat(origin, line > 0 ? absl::StrCat(":", line) : "", ": ", path,
                        path.empty() ? "" : ": ", message);
  }
  [[noreturn]] void Fail(int line, const std::string& path, absl::string_view message) const {
    throw ReadError{Where(line, path, message)};
  }

  // Keys of every mapping the reader opened that it never asked about.
  void RefuseUnknownKeys() const {
    for (const MapState& map : maps) RefuseUnknownKeys(map);
  }
  void RefuseUnknownKeys(const MapState& map) const {
    if (map.allow_other_keys) return;
    for (size_t i = 0; i < map.value->keys.size(); ++i) {
      const std::string& key = map.value->keys[i];
      if (map.known.count(key) != 0) continue;
      const std::string nearest = NearestName(key, map.asked);
      Fail(map.value->key_lines[i], Join(map.path, key),
           nearest.empty()
               ? absl::StrCat("unknown key (known here: ", absl::StrJoin(map.asked, ", "), ")")
               : absl::StrCat("unknown key, did you mean '", nearest, "'?"));
    }
  }

  Node RootNode() { return Node(this, &root, ""); }
  Node Child(const Value* value, std::string path) { return Node(this, value, std::move(path)); }

  static std::string Join(const std::string& path, absl::string_view key) {
    return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
  }
};

}  // namespace internal

namespace {

using internal::Document;
using internal::Value;
using Kind = Value::Kind;

constexpr int kMaxDepth = 128;

std::string Describe(const Value& v) {
  switch (v.kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a mapping";
    case Kind::kScalar:
      break;
  }
  std::string shown = v.text.size() > 40 ? v.text.substr(0, 40) + "..." : v.text;
  return v.quoted ? absl::StrCat("the string \"", shown, "\"") : absl::StrCat("'", shown, "'");
}

void FromYaml(const YAML::Node& node, int depth, const Document& doc, Value* out) {
  out->line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  if (depth > kMaxDepth) doc.Fail(out->line, "", "nested too deeply");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out->kind = Kind::kNull;
      return;
    case YAML::NodeType::Scalar:
      out->kind = Kind::kScalar;
      out->text = node.Scalar();
      out->quoted = node.Tag() == "!";
      return;
    case YAML::NodeType::Sequence:
      out->kind = Kind::kSequence;
      out->items.resize(node.size());
      for (size_t i = 0; i < node.size(); ++i) FromYaml(node[i], depth + 1, doc, &out->items[i]);
      return;
    case YAML::NodeType::Map:
      out->kind = Kind::kMap;
      out->items.reserve(node.size());
      for (const auto& kv : node) {
        const int line = kv.first.Mark().line + 1;
        if (!kv.first.IsScalar()) doc.Fail(line, "", "a key must be a plain name");
        const std::string& key = kv.first.Scalar();
        if (std::find(out->keys.begin(), out->keys.end(), key) != out->keys.end()) {
          doc.Fail(line, key, "duplicate key");
        }
        out->keys.push_back(key);
        out->key_lines.push_back(line);
        FromYaml(kv.second, depth + 1, doc, &out->items.emplace_back());
      }
      return;
  }
}

void FromJson(const nlohmann::json& j, int depth, const Document& doc, Value* out) {
  if (depth > kMaxDepth) doc.Fail(0, "", "nested too deeply");
  if (j.is_object()) {
    out->kind = Kind::kMap;
    out->items.reserve(j.size());
    for (const auto& [key, value] : j.items()) {
      out->keys.push_back(key);
      out->key_lines.push_back(0);
      FromJson(value, depth + 1, doc, &out->items.emplace_back());
    }
  } else if (j.is_array()) {
    out->kind = Kind::kSequence;
    out->items.resize(j.size());
    for (size_t i = 0; i < j.size(); ++i) FromJson(j[i], depth + 1, doc, &out->items[i]);
  } else if (j.is_string()) {
    out->kind = Kind::kScalar;
    out->text = j.get<std::string>();
    out->quoted = true;
  } else if (j.is_number() || j.is_boolean()) {
    out->kind = Kind::kScalar;
    out->text = j.dump();
  } else {
    out->kind = Kind::kNull;
  }
}

absl::Status Run(Document& doc, const std::function<void(const Node&)>& read,
                 const std::function<void()>& convert) {
  try {
    convert();
    read(doc.RootNode());
    doc.RefuseUnknownKeys();
  } catch (const internal::ReadError& e) {
    return absl::InvalidArgumentError(e.message);
  }
  return absl::OkStatus();
}

template <typename Int>
Int ParseInteger(const Node& node, const Value& v, const char* what) {
  Int out{};
  if (v.kind != Kind::kScalar || v.quoted || !absl::SimpleAtoi(v.text, &out)) {
    node.Fail(absl::StrCat("expected ", what, ", got ", Describe(v)));
  }
  return out;
}

}  // namespace

bool Node::IsNull() const { return value_->kind == Kind::kNull; }
bool Node::IsScalar() const { return value_->kind == Kind::kScalar; }
bool Node::IsSequence() const { return value_->kind == Kind::kSequence; }
bool Node::IsMap() const { return value_->kind == Kind::kMap; }
int Node::line() const { return value_->line; }

void Node::Fail(absl::string_view message) const { doc_->Fail(value_->line, path_, message); }

template <>
std::string Node::As<std::string>() const {
  if (value_->kind != Kind::kScalar || (doc_->json && !value_->quoted)) {
    Fail("expected a string, got " + Describe(*value_));
  }
  return value_->text;
}

std::string Node::ScalarText() const {
  if (value_->kind != Kind::kScalar) Fail("expected a value, got " + Describe(*value_));
  return value_->text;
}

template <>
bool Node::As<bool>() const {
  static const std::set<std::string, std::less<>> kTrue = {"true", "yes", "on"};
  static const std::set<std::string, std::less<>> kFalse = {"false", "no", "off"};
  if (value_->kind == Kind::kScalar && !value_->quoted) {
    const std::string lower = absl::AsciiStrToLower(value_->text);
    const bool same_case = lower == value_->text || absl::AsciiStrToUpper(lower) == value_->text ||
                           (lower.size() > 0 && lower.substr(1) == value_->text.substr(1));
    if (same_case && kTrue.count(lower)) return true;
    if (same_case && kFalse.count(lower)) return false;
  }
  Fail("expected true or false, got " + Describe(*value_));
}

template <>
int Node::As<int>() const {
  return ParseInteger<int>(*this, *value_, "an integer");
}
template <>
int64_t Node::As<int64_t>() const {
  return ParseInteger<int64_t>(*this, *value_, "an integer");
}
template <>
uint64_t Node::As<uint64_t>() const {
  return ParseInteger<uint64_t>(*this, *value_, "a whole number >= 0");
}

template <>
double Node::As<double>() const {
  double out = 0;
  if (value_->kind != Kind::kScalar || value_->quoted || !absl::SimpleAtod(value_->text, &out)) {
    Fail("expected a number, got " + Describe(*value_));
  }
  return out;
}
template <>
float Node::As<float>() const {
  return static_cast<float>(As<double>());
}

std::vector<Node> Node::Items() const {
  if (value_->kind != Kind::kSequence) Fail("expected a list, got " + Describe(*value_));
  std::vector<Node> items;
  for (size_t i = 0; i < value_->items.size(); ++i) {
    items.push_back(doc_->Child(&value_->items[i], absl::StrCat(path_, "[", i, "]")));
  }
  return items;
}

template <>
std::vector<std::string> Node::As<std::vector<std::string>>() const {
  std::vector<std::string> out;
  for (const Node& item : Items()) out.push_back(item.As<std::string>());
  return out;
}
template <>
std::vector<int64_t> Node::As<std::vector<int64_t>>() const {
  std::vector<int64_t> out;
  for (const Node& item : Items()) out.push_back(item.As<int64_t>());
  return out;
}
template <>
std::vector<double> Node::As<std::vector<double>>() const {
  std::vector<double> out;
  for (const Node& item : Items()) out.push_back(item.As<double>());
  return out;
}

std::vector<std::pair<std::string, Node>> Node::Entries() const {
  if (value_->kind != Kind::kMap) Fail("expected a mapping, got " + Describe(*value_));
  std::vector<std::pair<std::string, Node>> entries;
  for (size_t i = 0; i < value_->keys.size(); ++i) {
    const std::string& key = value_->keys[i];
    entries.emplace_back(key, doc_->Child(&value_->items[i], Document::Join(path_, key)));
  }
  return entries;
}

Map Node::AsMap() const {
  if (value_->kind != Kind::kMap) Fail("expected a mapping, got " + Describe(*value_));
  internal::MapState*& state = doc_->map_of[value_];
  if (state == nullptr) {
    doc_->maps.push_back({value_, path_, {}, false, {}});
    state = &doc_->maps.back();
  }
  return Map(*this, state);
}

namespace {

const Value* FindValue(const Value& map, absl::string_view key) {
  for (size_t i = 0; i < map.keys.size(); ++i) {
    if (map.keys[i] == key) return &map.items[i];
  }
  return nullptr;
}

void MarkKnown(internal::MapState* state, absl::string_view key) {
  if (state->known.insert(std::string(key)).second) state->asked.emplace_back(key);
}

}  // namespace

std::optional<Node> Map::Find(absl::string_view key) const {
  MarkKnown(state_, key);
  const Value* value = FindValue(*state_->value, key);
  if (value == nullptr || value->kind == Kind::kNull) return std::nullopt;
  return node_.doc_->Child(value, Document::Join(node_.path_, key));
}

bool Map::Has(absl::string_view key) const { return Find(key).has_value(); }

Node Map::Get(absl::string_view key) const { return Require(key, ""); }

Node Map::Require(absl::string_view key, absl::string_view what) const {
  std::optional<Node> node = Find(key);
  if (node) return *std::move(node);
  std::vector<std::string> unasked;
  for (const std::string& k : state_->value->keys) {
    if (state_->known.count(k) == 0) unasked.push_back(k);
  }
  const std::string nearest = NearestName(key, unasked);
  node_.doc_->Fail(
      node_.value_->line, Document::Join(node_.path_, key),
      absl::StrCat("required", what.empty() ? "" : ": ", what,
                   nearest.empty() ? "" : absl::StrCat(" (is '", nearest, "' a misspelling?)")));
}

void Map::Fail(absl::string_view key, absl::string_view message) const {
  MarkKnown(state_, key);
  int line = node_.value_->line;
  const Value& map = *state_->value;
  for (size_t i = 0; i < map.keys.size(); ++i) {
    if (map.keys[i] == key) line = map.key_lines[i];
  }
  node_.doc_->Fail(line, Document::Join(node_.path_, key), message);
}

void Map::Allow(std::initializer_list<absl::string_view> keys) const {
  for (absl::string_view key : keys) MarkKnown(state_, key);
}

void Map::AllowOtherKeys() const { state_->allow_other_keys = true; }

void Map::RefuseUnknownKeys() const { node_.doc_->RefuseUnknownKeys(*state_); }

absl::Status ReadYaml(absl::string_view text, const std::string& origin,
                      const std::function<void(const Node& root)>& read) {
  Document doc;
  doc.origin = origin;
  return Run(doc, read, [&] {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      doc.Fail(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", absl::StrCat("not valid YAML: ", e.msg));
    }
    FromYaml(root, 0, doc, &doc.root);
  });
}

absl::Status ReadJson(const nlohmann::json& value, const std::string& origin,
                      const std::function<void(const Node& root)>& read) {
  Document doc;
  doc.origin = origin;
  doc.json = true;
  return Run(doc, read, [&] { FromJson(value, 0, doc, &doc.root); });
}

std::string NearestName(absl::string_view name, const std::vector<std::string>& known) {
  // Optimal string alignment distance: a swap of two neighbours is one edit.
  auto distance = [](absl::string_view a, absl::string_view b) {
    std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
    for (size_t i = 1; i <= a.size(); ++i) {
      for (size_t j = 1; j <= b.size(); ++j) {
        const int cost = absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]) ? 0 : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.size()][b.size()];
  };
  const int allowed = std::max<int>(1, static_cast<int>(name.size()) / 3);
  std::string best;
  int best_distance = allowed + 1;
  for (const std::string& candidate : known) {
    const int d = distance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace parasol::config
