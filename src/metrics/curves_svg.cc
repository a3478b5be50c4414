// RenderCurvesSvg: draws the ROC and precision-recall curves as one self-contained SVG.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "metrics/metrics.h"

namespace parasol {
namespace {

// Layout in SVG user units (pixels): two square plot panels side by side under a title.
constexpr double kPanelWidth = 480;
constexpr double kWidth = 2 * kPanelWidth;
constexpr double kHeight = 500;
constexpr double kPlotSize = 360;
constexpr double kPlotLeft = 80;  // within a panel
constexpr double kPlotTop = 80;
constexpr size_t kMaxCurvePoints = 2000;

// Escapes text for use in XML character data and attribute values. Control characters that
// XML 1.0 forbids are dropped.
std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\t' || ch == '\n' || ch == '\r') {
          out += ch;
        }
    }
  }
  return out;
}

// Keeps at most kMaxCurvePoints points, evenly spaced by index, always including the first and
// the last.
std::vector<CurvePoint> Thin(const std::vector<CurvePoint>& curve) {
  if (curve.size() <= kMaxCurvePoints) return curve;
  std::vector<CurvePoint> out;
  out.reserve(kMaxCurvePoints);
  const double step = static_cast<double>(curve.size() - 1) / (kMaxCurvePoints - 1);
  for (size_t i = 0; i < kMaxCurvePoints; ++i) {
    const size_t index =
        i + 1 == kMaxCurvePoints ? curve.size() - 1 : static_cast<size_t>(std::llround(i * step));
    out.push_back(curve[index]);
  }
  return out;
}

std::string FormatValue(double v) { return std::isnan(v) ? "n/a" : absl::StrFormat("%.4f", v); }

// One panel's plotting frame; maps data coordinates in [0, 1] to SVG coordinates.
struct Panel {
  double left;  // x of the plot area's left edge in the SVG

  double X(double x) const { return left + x * kPlotSize; }
  double Y(double y) const { return kPlotTop + (1 - y) * kPlotSize; }
};

// Appends the frame, grid, ticks, tick labels, axis titles and panel title.
void AppendAxes(const Panel& panel, const std::string& title, const std::string& x_title,
                const std::string& y_title, std::string* svg) {
  absl::StrAppendFormat(svg, "<g font-size=\"12\" fill=\"#222\">\n");
  for (int i = 0; i <= 5; ++i) {
    const double v = i * 0.2;
    const double x = panel.X(v), y = panel.Y(v);
    // Grid lines, then ticks pointing out of the plot, then labels.
    absl::StrAppendFormat(svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#e4e4e4\"/>\n",
                          x, panel.Y(0), x, panel.Y(1));
    absl::StrAppendFormat(svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#e4e4e4\"/>\n",
                          panel.X(0), y, panel.X(1), y);
    absl::StrAppendFormat(svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#222\"/>\n",
                          x, panel.Y(0), x, panel.Y(0) + 5);
    absl::StrAppendFormat(svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#222\"/>\n",
                          panel.X(0) - 5, y, panel.X(0), y);
    absl::StrAppendFormat(svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
                          x, panel.Y(0) + 19, v);
    absl::StrAppendFormat(svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                          panel.X(0) - 8, y + 4, v);
  }
  absl::StrAppendFormat(svg,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"none\" stroke=\"#222\"/>\n",
                        panel.X(0), panel.Y(1), kPlotSize, kPlotSize);
  absl::StrAppendFormat(svg,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                        "font-size=\"14\">%s</text>\n",
                        panel.X(0.5), panel.Y(0) + 42, XmlEscape(x_title));
  const double y_title_x = panel.X(0) - 48, y_title_y = panel.Y(0.5);
  absl::StrAppendFormat(svg,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" "
                        "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
                        y_title_x, y_title_y, y_title_x, y_title_y, XmlEscape(y_title));
  absl::StrAppendFormat(svg,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" "
                        "font-weight=\"bold\">%s</text>\n",
                        panel.X(0.5), panel.Y(1) - 14, XmlEscape(title));
  absl::StrAppend(svg, "</g>\n");
}

// Appends the curve as one polyline. With `steps`, each point is reached by a vertical then a
// horizontal segment, so the area under the line equals the step-wise sum used for average
// precision.
void AppendCurve(const Panel& panel, const std::vector<CurvePoint>& curve, bool steps,
                 const char* color, std::string* svg) {
  absl::StrAppendFormat(svg,
                        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                        "stroke-linejoin=\"round\" points=\"",
                        color);
  for (size_t i = 0; i < curve.size(); ++i) {
    if (steps && i > 0) {
      absl::StrAppendFormat(svg, "%.1f,%.1f ", panel.X(curve[i - 1].x), panel.Y(curve[i].y));
    }
    absl::StrAppendFormat(svg, "%.1f,%.1f ", panel.X(curve[i].x), panel.Y(curve[i].y));
  }
  if (!curve.empty()) svg->pop_back();  // trailing space
  absl::StrAppend(svg, "\"/>\n");
}

}  // namespace

std::string RenderCurvesSvg(absl::Span<const float> probs, absl::Span<const float> labels,
                            const std::string& title) {
  const std::vector<CurvePoint> roc = RocCurve(probs, labels);
  const std::vector<CurvePoint> pr = PrCurve(probs, labels);
  const double auc = RocAuc(probs, labels);
  // Average precision from the PR curve: sum of (R_i - R_{i-1}) * P_i, the same definition as
  // BinaryMetrics::pr_auc, without a second sort.
  double ap = std::numeric_limits<double>::quiet_NaN();
  if (!pr.empty() && pr.back().x > 0) {
    ap = 0;
    for (size_t i = 1; i < pr.size(); ++i) ap += (pr[i].x - pr[i - 1].x) * pr[i].y;
  }

  std::string svg;
  absl::StrAppendFormat(&svg,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                        "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
                        kWidth, kHeight, kWidth, kHeight);
  absl::StrAppendFormat(&svg, "<title>%s</title>\n", XmlEscape(title));
  absl::StrAppendFormat(&svg, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", kWidth,
                        kHeight);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"32\" text-anchor=\"middle\" font-size=\"18\" "
                        "font-weight=\"bold\" fill=\"#111\">%s</text>\n",
                        kWidth / 2, XmlEscape(title));

  const Panel roc_panel{kPlotLeft};
  AppendAxes(roc_panel, "ROC curve (AUC = " + FormatValue(auc) + ")", "False positive rate",
             "True positive rate", &svg);
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                        "stroke-dasharray=\"5 5\"/>\n",
                        roc_panel.X(0), roc_panel.Y(0), roc_panel.X(1), roc_panel.Y(1));
  AppendCurve(roc_panel, Thin(roc), /*steps=*/false, "#1f77b4", &svg);

  const Panel pr_panel{kPanelWidth + kPlotLeft};
  AppendAxes(pr_panel, "Precision-recall (PR AUC = " + FormatValue(ap) + ")", "Recall", "Precision",
             &svg);
  AppendCurve(pr_panel, Thin(pr), /*steps=*/true, "#d62728", &svg);

  absl::StrAppend(&svg, "</svg>");
  return svg;
}

}  // namespace parasol
