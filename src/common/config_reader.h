// The one typed reader of Parasol's configuration documents: YAML files (train configs, schemas,
// transforms, model-server configs, job specs), JSON files (manifests, transforms.json) and JSON
// values already parsed (HTTP bodies, stored records, replies).
//
// A document is read by a function given its root Node. Reads are typed (`As<int64_t>()`,
// `Get<std::string>("name")`, `Read("lr", &lr)`), and every mistake — a wrong type, a missing key,
// a value the caller's own check refuses (`Node::Fail`) — ends the read with one error that says
// where: "train.yaml:7: optimizer.lr: expected a number, got 'fast'" (JSON values parsed elsewhere
// have no lines: "request body: replicas[0].count: ..."). Once the function returns, each mapping
// it opened must not hold keys it never asked about: "train.yaml:3: epcohs: unknown key, did you
// mean 'epochs'?". Keys whose names are the user's own (environment variables, roles) are read
// with `Entries()`, which accepts them all; a mapping another program writes and may extend (a
// service's reply) accepts keys never asked about with `AllowOtherKeys()`.
//
// Scalars are typed as written: a quoted "5" is a string, not a number. Nodes and Maps are
// handles into the document being read; they are valid only inside the read function.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parasol::config {

namespace internal {
struct Value;
struct Document;
struct MapState;
}  // namespace internal

class Map;

class Node {
 public:
  bool IsNull() const;  // absent values and YAML's `~`/empty are null
  bool IsScalar() const;
  bool IsSequence() const;
  bool IsMap() const;

  // The value as T: std::string, bool, int, int64_t, uint64_t, double, float, or a std::vector
  // of std::string, int64_t or double (a sequence). In YAML any scalar is a string; in a JSON
  // value (ReadJson) only a JSON string is.
  template <typename T>
  T As() const;
  // A scalar's text whatever its type, for values written either way (a quantity: 2 or "500m").
  std::string ScalarText() const;

  // The scalar given to `parse` (text → absl::StatusOr<T>); its error is reported here.
  template <typename ParseFn>
  auto Parse(ParseFn&& parse) const {
    auto parsed = parse(As<std::string>());
    if (!parsed.ok()) Fail(parsed.status().message());
    return *std::move(parsed);
  }

  // This node as a mapping whose keys the reader names (unknown keys are refused).
  Map AsMap() const;
  // A sequence's items, in order.
  std::vector<Node> Items() const;
  // A mapping whose keys are the user's own names, in document order; none is refused.
  std::vector<std::pair<std::string, Node>> Entries() const;

  // Ends the read with `message` about this node.
  [[noreturn]] void Fail(absl::string_view message) const;
  // Ends the read with `status`'s message about this node, unless it is OK.
  void Check(const absl::Status& status) const {
    if (!status.ok()) Fail(status.message());
  }

  // Where this node is: the dotted path ("train.servers", "transforms[2].type"; empty at the
  // root) and its 1-based line (0 when unknown).
  const std::string& path() const { return path_; }
  int line() const;

 private:
  friend class Map;
  friend struct internal::Document;
  Node(internal::Document* doc, const internal::Value* value, std::string path)
      : doc_(doc), value_(value), path_(std::move(path)) {}

  internal::Document* doc_;
  const internal::Value* value_;  // never null (absent keys are a shared null value)
  std::string path_;
};

// A mapping whose keys the reader knows. Asking about a key (Has, Find, Get, Read) makes it a
// known key; keys never asked about are refused when the read ends.
class Map {
 public:
  // Present and not null.
  bool Has(absl::string_view key) const;
  // The key's value if present and not null.
  std::optional<Node> Find(absl::string_view key) const;
  // The key's value; fails with "required" when absent (naming a near unknown key, if any).
  Node Get(absl::string_view key) const;
  template <typename T>
  T Get(absl::string_view key) const {
    return Get(key).As<T>();
  }
  // Sets *out when the key is present; true when it did.
  template <typename T>
  bool Read(absl::string_view key, T* out) const {
    const std::optional<Node> node = Find(key);
    if (node) *out = node->As<T>();
    return node.has_value();
  }
  // Marks keys as known without reading them (another reader takes them from the same text).
  void Allow(std::initializer_list<absl::string_view> keys) const;
  // Refuses now, rather than when the read ends, the keys not asked about so far: call it after
  // asking about every key and before checks across fields, whose errors a misspelled optional
  // key would otherwise explain badly.
  void RefuseUnknownKeys() const;
  // Accepts every key of this mapping, asked about or not: for documents another program
  // writes and may extend (a newer service's replies), never for what users write.
  void AllowOtherKeys() const;
  // Get, failing with "required: `what`" (and any near misspelling) when absent.
  Node Require(absl::string_view key, absl::string_view what) const;
  // Ends the read with `message` about `key` of this mapping: at the key's line when present,
  // else the mapping's.
  [[noreturn]] void Fail(absl::string_view key, absl::string_view message) const;

  // The mapping itself, e.g. to Fail about it as a whole.
  const Node& node() const { return node_; }

 private:
  friend class Node;
  Map(Node node, internal::MapState* state) : node_(std::move(node)), state_(state) {}
  Node node_;
  internal::MapState* state_;
};

template <>
std::string Node::As<std::string>() const;
template <>
bool Node::As<bool>() const;
template <>
int Node::As<int>() const;
template <>
int64_t Node::As<int64_t>() const;
template <>
uint64_t Node::As<uint64_t>() const;
template <>
double Node::As<double>() const;
template <>
float Node::As<float>() const;
template <>
std::vector<std::string> Node::As<std::vector<std::string>>() const;
template <>
std::vector<int64_t> Node::As<std::vector<int64_t>>() const;
template <>
std::vector<double> Node::As<std::vector<double>>() const;

// Parses `text` (YAML, and so JSON) named `origin` in messages and runs `read` on its root. An
// empty document is a null root. Errors: InvalidArgument "origin:line: path: message".
absl::Status ReadYaml(absl::string_view text, const std::string& origin,
                      const std::function<void(const Node& root)>& read);
// The same over a JSON value parsed elsewhere (messages have no line numbers).
absl::Status ReadJson(const nlohmann::json& value, const std::string& origin,
                      const std::function<void(const Node& root)>& read);

// The known name nearest to `name` when close enough to be a likely typo, else empty.
std::string NearestName(absl::string_view name, const std::vector<std::string>& known);

}  // namespace parasol::config
