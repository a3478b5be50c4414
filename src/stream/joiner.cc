#include "stream/joiner.h"

#include "absl/strings/str_cat.h"

namespace parasol::stream {

bool Joiner::AddImpression(const std::string& id, std::string line, std::string where,
                           int64_t now_ms) {
  if (waiting_.count(id) > 0) return false;
  Waiting w{std::move(line), std::move(where), now_ms + window_ms_};
  bytes_ += Cost(id, w);
  waiting_.emplace(id, std::move(w));
  order_.push_back(id);
  EnforceLimit();
  return true;
}

void Joiner::AddLabel(const std::string& id, float label, int64_t now_ms,
                      std::vector<Example>* ready) {
  auto it = waiting_.find(id);
  if (it == waiting_.end()) {
    if (closed_.count(id) > 0) {
      ++counts_.late;
    } else {
      ++counts_.orphan_labels;
    }
    return;
  }
  ready->push_back({std::move(it->second.line), std::move(it->second.where), label});
  ++counts_.joined;
  bytes_ -= Cost(id, it->second);
  waiting_.erase(it);
  // The id is closed now: a second label for it counts as late.
  Close(id, now_ms);
}

void Joiner::Close(const std::string& id, int64_t now_ms) {
  closed_[id] = now_ms + window_ms_;
  closed_order_.push_back(id);
  bytes_ += id.size() + 64;
  EnforceLimit();
}

void Joiner::Expire(int64_t now_ms, std::vector<Example>* ready) {
  while (!order_.empty()) {
    auto it = waiting_.find(order_.front());
    if (it == waiting_.end()) {  // joined or evicted already
      order_.pop_front();
      continue;
    }
    if (it->second.deadline > now_ms) break;
    ready->push_back({std::move(it->second.line), std::move(it->second.where), 0.0f});
    ++counts_.negatives;
    const std::string id = order_.front();
    bytes_ -= Cost(id, it->second);
    waiting_.erase(it);
    order_.pop_front();
    Close(id, now_ms);
  }
  while (!closed_order_.empty()) {
    auto it = closed_.find(closed_order_.front());
    if (it != closed_.end() && it->second > now_ms) break;
    if (it != closed_.end()) {
      bytes_ -= it->first.size() + 64;
      closed_.erase(it);
    }
    closed_order_.pop_front();
  }
}

void Joiner::EnforceLimit() {
  // Forget closed ids first (only late-vs-orphan accounting depends on them), then evict the
  // oldest waiting impressions.
  while (bytes_ > limit_ && !closed_order_.empty()) {
    auto it = closed_.find(closed_order_.front());
    if (it != closed_.end()) {
      bytes_ -= it->first.size() + 64;
      closed_.erase(it);
    }
    closed_order_.pop_front();
  }
  while (bytes_ > limit_ && !order_.empty()) {
    auto it = waiting_.find(order_.front());
    if (it != waiting_.end()) {
      bytes_ -= Cost(it->first, it->second);
      waiting_.erase(it);
      ++counts_.evicted;
    }
    order_.pop_front();
  }
}

nlohmann::json Joiner::ToJson() const {
  nlohmann::json waiting = nlohmann::json::array();
  for (const std::string& id : order_) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) continue;
    waiting.push_back({id, it->second.line, it->second.where, it->second.deadline});
  }
  nlohmann::json closed = nlohmann::json::array();
  for (const std::string& id : closed_order_) {
    auto it = closed_.find(id);
    if (it != closed_.end()) closed.push_back({id, it->second});
  }
  return {{"waiting", waiting},        {"closed", closed},
          {"joined", counts_.joined},  {"negatives", counts_.negatives},
          {"late", counts_.late},      {"orphan_labels", counts_.orphan_labels},
          {"evicted", counts_.evicted}};
}

absl::Status Joiner::FromJson(const nlohmann::json& j) {
  try {
    waiting_.clear();
    order_.clear();
    closed_.clear();
    closed_order_.clear();
    bytes_ = 0;
    for (const auto& w : j.at("waiting")) {
      const std::string id = w.at(0).get<std::string>();
      Waiting entry{w.at(1).get<std::string>(), w.at(2).get<std::string>(), w.at(3).get<int64_t>()};
      bytes_ += Cost(id, entry);
      waiting_.emplace(id, std::move(entry));
      order_.push_back(id);
    }
    for (const auto& c : j.at("closed")) {
      const std::string id = c.at(0).get<std::string>();
      closed_[id] = c.at(1).get<int64_t>();
      closed_order_.push_back(id);
      bytes_ += id.size() + 64;
    }
    counts_.joined = j.at("joined").get<uint64_t>();
    counts_.negatives = j.at("negatives").get<uint64_t>();
    counts_.late = j.at("late").get<uint64_t>();
    counts_.orphan_labels = j.at("orphan_labels").get<uint64_t>();
    counts_.evicted = j.at("evicted").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("join state: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace parasol::stream
