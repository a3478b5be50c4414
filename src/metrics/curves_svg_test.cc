#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "metrics/metrics.h"

namespace parasol {
namespace {

// Checks the markup is well-formed for what RenderCurvesSvg emits: every start tag is closed in
// order (or self-closing), attribute values are quoted, and every '&' starts a known entity.
// Returns "" when well-formed, else a description of the first problem.
std::string CheckWellFormed(const std::string& svg) {
  std::vector<std::string> open;
  size_t i = 0;
  while (i < svg.size()) {
    const char c = svg[i];
    if (c == '&') {
      static const char* const kEntities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
      bool known = false;
      for (const char* e : kEntities) known = known || svg.compare(i, strlen(e), e) == 0;
      if (!known) return "unescaped & at " + std::to_string(i);
      ++i;
      continue;
    }
    if (c == '>') return "stray > at " + std::to_string(i);
    if (c != '<') {
      ++i;
      continue;
    }
    // Find the end of the tag, skipping quoted attribute values.
    size_t j = i + 1;
    char quote = 0;
    while (j < svg.size() && (quote != 0 || svg[j] != '>')) {
      if (quote != 0) {
        if (svg[j] == quote) quote = 0;
        if (svg[j] == '<') return "< inside attribute at " + std::to_string(j);
      } else if (svg[j] == '"' || svg[j] == '\'') {
        quote = svg[j];
      } else if (svg[j] == '<') {
        return "< inside tag at " + std::to_string(j);
      }
      ++j;
    }
    if (j == svg.size()) return "unterminated tag at " + std::to_string(i);
    std::string tag = svg.substr(i + 1, j - i - 1);
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
      open.pop_back();
    } else if (!tag.empty() && tag.back() == '/') {
      // self-closing
    } else {
      open.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
    }
    i = j + 1;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return "";
}

// The "points" attribute of every polyline, in order.
std::vector<std::vector<std::string>> PolylinePoints(const std::string& svg) {
  std::vector<std::vector<std::string>> out;
  const std::string key = "<polyline";
  for (size_t at = svg.find(key); at != std::string::npos; at = svg.find(key, at + 1)) {
    const size_t begin = svg.find("points=\"", at) + 8;
    const size_t end = svg.find('"', begin);
    out.push_back(absl::StrSplit(svg.substr(begin, end - begin), ' '));
  }
  return out;
}

const std::vector<float> kProbs = {0.9f, 0.7f, 0.7f, 0.4f, 0.4f, 0.1f};
const std::vector<float> kLabels = {1, 1, 0, 0, 1, 0};  // AUC 7/9, AP 34/45 (metrics_test.cc)

TEST(CurvesSvgTest, IsWellFormedSelfContainedSvg) {
  const std::string svg = RenderCurvesSvg(kProbs, kLabels, "Validation");
  EXPECT_TRUE(absl::StartsWith(svg, "<svg"));
  EXPECT_TRUE(absl::EndsWith(svg, "</svg>"));
  EXPECT_EQ(CheckWellFormed(svg), "");
  // Self-contained: no links, images, scripts or style sheets; the only URL is the namespace.
  EXPECT_FALSE(absl::StrContains(svg, "href"));
  EXPECT_FALSE(absl::StrContains(svg, "<image"));
  EXPECT_FALSE(absl::StrContains(svg, "<script"));
  EXPECT_FALSE(absl::StrContains(svg, "@import"));
  EXPECT_EQ(svg.find("http"), svg.find("http://www.w3.org/2000/svg"));
}

TEST(CurvesSvgTest, HasAxesTicksTitlesAndAucValues) {
  const std::string svg = RenderCurvesSvg(kProbs, kLabels, "Validation");
  for (const char* text : {">False positive rate<", ">True positive rate<", ">Recall<",
                           ">Precision<", ">0.0<", ">0.2<", ">0.4<", ">0.6<", ">0.8<", ">1.0<",
                           ">Validation<", "AUC = 0.7778", "PR AUC = 0.7556", "stroke-dasharray"}) {
    EXPECT_TRUE(absl::StrContains(svg, text)) << text;
  }
  // Six tick labels per axis, two axes per panel, two panels.
  int ticks = 0;
  for (const char* t : {">0.0<", ">0.2<", ">0.4<", ">0.6<", ">0.8<", ">1.0<"}) {
    for (size_t at = svg.find(t); at != std::string::npos; at = svg.find(t, at + 1)) ++ticks;
  }
  EXPECT_EQ(ticks, 24);
}

TEST(CurvesSvgTest, CurvesStartAndEndAtTheCorners) {
  const auto lines = PolylinePoints(RenderCurvesSvg(kProbs, kLabels, "t"));
  ASSERT_EQ(lines.size(), 2u);
  // ROC panel: plot area x in [80, 440], y in [440 (value 0), 80 (value 1)].
  EXPECT_EQ(lines[0].front(), "80.0,440.0");
  EXPECT_EQ(lines[0].back(), "440.0,80.0");
  // ROC has the origin plus 4 distinct scores; PR draws each of its 4 steps with 2 vertices.
  EXPECT_EQ(lines[0].size(), 5u);
  EXPECT_EQ(lines[1].size(), 9u);
  // PR panel is offset by 480: starts at recall 0 / precision 1, ends at recall 1 /
  // precision 1/2.
  EXPECT_EQ(lines[1].front(), "560.0,80.0");
  EXPECT_EQ(lines[1].back(), "920.0,260.0");
}

TEST(CurvesSvgTest, EscapesTitle) {
  const std::string svg = RenderCurvesSvg(kProbs, kLabels, "A & B <\"x\"> 'y'\x01");
  EXPECT_TRUE(absl::StrContains(svg, "A &amp; B &lt;&quot;x&quot;&gt; &apos;y&apos;<"));
  EXPECT_FALSE(absl::StrContains(svg, "<\"x\">"));
  EXPECT_FALSE(absl::StrContains(svg, "\x01"));
  EXPECT_EQ(CheckWellFormed(svg), "");
}

TEST(CurvesSvgTest, OneClassShowsUndefinedAuc) {
  const std::string svg = RenderCurvesSvg({0.2f, 0.8f}, {0, 0}, "negatives only");
  EXPECT_TRUE(absl::StrContains(svg, "(AUC = n/a)"));
  EXPECT_TRUE(absl::StrContains(svg, "(PR AUC = n/a)"));
  EXPECT_EQ(CheckWellFormed(svg), "");
}

TEST(CurvesSvgTest, ThinsLargeCurvesKeepingEndpoints) {
  constexpr int kRows = 100'000;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> probs(kRows), labels(kRows);
  for (int i = 0; i < kRows; ++i) {
    probs[i] = u(rng);  // ~100k distinct scores
    labels[i] = u(rng) < probs[i] ? 1.0f : 0.0f;
  }
  ASSERT_GT(RocCurve(probs, labels).size(), 90'000u);
  const std::string svg = RenderCurvesSvg(probs, labels, "big");
  EXPECT_LT(svg.size(), 150'000u);  // unthinned, the ROC polyline alone is over 1 MB
  EXPECT_EQ(CheckWellFormed(svg), "");
  const auto lines = PolylinePoints(svg);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_LE(lines[0].size(), 2000u);
  EXPECT_GE(lines[0].size(), 1000u);
  EXPECT_LE(lines[1].size(), 2 * 2000u);  // steps double the vertices
  EXPECT_EQ(lines[0].front(), "80.0,440.0");
  EXPECT_EQ(lines[0].back(), "440.0,80.0");
  EXPECT_EQ(lines[1].front(), "560.0,80.0");
  EXPECT_EQ(lines[1].back().substr(0, 6), "920.0,");
}

}  // namespace
}  // namespace parasol
