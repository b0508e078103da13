#include "sim/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace apogee::sim {

namespace {

constexpr double kWidth = 1000;  // the plot area of the timeline and the operations chart
constexpr double kLabel = 150;   // lane names to the left of it
constexpr double kLane = 22;
constexpr size_t kMaxLogRows = 3000;

std::string Esc(std::string_view s) { return EscapeMarkup(s); }

double Secs(int64_t ns) { return static_cast<double>(ns) / 1e9; }
double Secs(Duration d) { return std::chrono::duration<double>(d).count(); }

const char* kStyle = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1240px}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ddd}
code,pre{font:12px/1.4 ui-monospace,monospace;background:#f4f4f4;padding:2px 4px;border-radius:3px}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f4f4} td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.pass{background:#2e7d32} .violation{background:#c62828} .crash{background:#6a1b9a}
.liveness{background:#ef6c00} .nondeterminism{background:#1565c0}
.viol{color:#c62828} .note{background:#fff8e1;padding:8px;border-left:4px solid #ffb300}
.legend span{display:inline-block;margin-right:14px} .legend i{display:inline-block;width:12px;
height:12px;margin-right:4px;vertical-align:-1px}
details{margin:8px 0} .log{max-height:420px;overflow:auto;display:block}
</style>)";

// A node's state over time, from its up/down/paused/resumed events.
struct Span {
  double from;
  double to;
  const char* state;  // "up", "down", "paused"
};

std::vector<Span> StateSpans(const std::vector<TimelineEvent>& events, const std::string& node,
                             double end) {
  std::vector<Span> spans;
  const char* state = nullptr;
  double since = 0;
  for (const TimelineEvent& e : events) {
    if (e.node != node) continue;
    const char* next = nullptr;
    switch (e.kind) {
      case TimelineKind::kNodeUp:
      case TimelineKind::kNodeResumed:
        next = "up";
        break;
      case TimelineKind::kNodeDown:
        next = "down";
        break;
      case TimelineKind::kNodePaused:
        next = "paused";
        break;
      default:
        continue;
    }
    double at = Secs(e.at_ns);
    if (state != nullptr && at > since) spans.push_back(Span{since, at, state});
    state = next;
    since = at;
  }
  if (state != nullptr && end > since) spans.push_back(Span{since, end, state});
  return spans;
}

const char* StateColor(std::string_view state) {
  if (state == "up") return "#c8e6c9";
  if (state == "down") return "#ef9a9a";
  return "#ffe082";  // paused
}

std::string TimelineSvg(const RunReport& r, double end) {
  const std::vector<TimelineEvent>& events = r.timeline;
  std::vector<std::string> lanes = r.nodes;
  std::set<std::string> known(lanes.begin(), lanes.end());
  for (const TimelineEvent& e : events) {
    if (!e.node.empty() && known.insert(e.node).second) lanes.push_back(e.node);
  }
  auto x = [&](double s) { return kLabel + (end > 0 ? s / end : 0) * kWidth; };
  const double height = kLane * static_cast<double>(lanes.size() + 1) + 30;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "font-size=\"11\" font-family=\"ui-monospace,monospace\">\n",
      kLabel + kWidth + 20, height);
  // Seconds grid.
  double step = end > 120 ? 20 : end > 40 ? 10 : end > 10 ? 5 : 1;
  for (double t = 0; t <= end; t += step) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"0\" y2=\"{1:.0f}\" stroke=\"#eee\"/>"
        "<text x=\"{0:.1f}\" y=\"{2:.0f}\" fill=\"#888\" text-anchor=\"middle\">{3:.0f}s</text>\n",
        x(t), height - 18, height - 4, t);
  }
  // Lane 0: the run's phases and violations.
  svg += fmt::format("<text x=\"4\" y=\"{:.0f}\">run</text>\n", kLane * 0.7);
  for (const TimelineEvent& e : events) {
    if (!e.node.empty()) continue;
    bool violation = e.kind == TimelineKind::kViolation;
    svg += fmt::format(
        "<g><title>{:.3f}s {}: {}</title><rect x=\"{:.1f}\" y=\"3\" width=\"3\" height=\"{:.0f}\" "
        "fill=\"{}\"/></g>\n",
        Secs(e.at_ns), TimelineKindName(e.kind), Esc(e.text), x(Secs(e.at_ns)) - 1, kLane - 6,
        violation ? "#c62828" : "#1565c0");
  }
  for (size_t i = 0; i < lanes.size(); i++) {
    const std::string& node = lanes[i];
    const double y = kLane * static_cast<double>(i + 1);
    svg += fmt::format("<text x=\"4\" y=\"{:.0f}\">{}</text>\n", y + kLane * 0.7, Esc(node));
    for (const Span& s : StateSpans(events, node, end)) {
      svg += fmt::format(
          "<g><title>{} {:.3f}s - {:.3f}s</title><rect x=\"{:.1f}\" y=\"{:.0f}\" "
          "width=\"{:.1f}\" height=\"{:.0f}\" fill=\"{}\"/></g>\n",
          s.state, s.from, s.to, x(s.from), y + 2, std::max(0.5, x(s.to) - x(s.from)), kLane - 4,
          StateColor(s.state));
    }
    // Faults on this node: a bar from start to end, a tick when instantaneous, hollow when
    // skipped.
    std::vector<std::pair<double, std::string>> open;
    for (const TimelineEvent& e : events) {
      if (e.node != node) continue;
      double at = Secs(e.at_ns);
      if (e.kind == TimelineKind::kFaultStart) {
        open.emplace_back(at, e.text);
      } else if (e.kind == TimelineKind::kFaultEnd) {
        auto it = std::find_if(open.begin(), open.end(),
                               [&](const auto& o) { return o.second == e.text; });
        if (it == open.end()) continue;  // the start was skipped
        svg += fmt::format(
            "<g><title>{:.3f}s - {:.3f}s: {}</title><rect x=\"{:.1f}\" y=\"{:.0f}\" "
            "width=\"{:.1f}\" height=\"7\" fill=\"#5c6bc0\" opacity=\"0.85\"/></g>\n",
            it->first, at, Esc(it->second), x(it->first), y + 8,
            std::max(2.0, x(at) - x(it->first)));
        open.erase(it);
      } else if (e.kind == TimelineKind::kFaultSkipped) {
        svg += fmt::format(
            "<g><title>{:.3f}s skipped: {}</title><rect x=\"{:.1f}\" y=\"{:.0f}\" width=\"4\" "
            "height=\"12\" fill=\"none\" stroke=\"#5c6bc0\"/></g>\n",
            at, Esc(e.text), x(at) - 2, y + 5);
      }
    }
    for (const auto& [at, text] : open) {  // instantaneous, or cut off by the end of the run
      svg += fmt::format(
          "<g><title>{:.3f}s: {}</title><rect x=\"{:.1f}\" y=\"{:.0f}\" width=\"3\" "
          "height=\"14\" fill=\"#283593\"/></g>\n",
          at, Esc(text), x(at) - 1, y + 4);
    }
  }
  svg += "</svg>\n";
  return svg;
}

std::string OpsSvg(const std::vector<OpsBucket>& ops, double end) {
  if (ops.empty()) return "<p>No operations were recorded.</p>\n";
  uint32_t peak = 1;
  for (const OpsBucket& b : ops) {
    peak = std::max({peak, b.sends_ok + b.sends_failed + b.sends_unknown, b.deliveries});
  }
  const double h = 140;
  auto x = [&](double s) { return kLabel + (end > 0 ? s / end : 0) * kWidth; };
  auto y = [&](double v) { return 10 + h - v / peak * h; };
  const double bar = std::max(1.0, (end > 0 ? kWidth / end : kWidth) - 1);
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "font-size=\"11\" font-family=\"ui-monospace,monospace\">\n"
      "<text x=\"4\" y=\"20\">{} / s</text><text x=\"4\" y=\"{:.0f}\">0</text>\n",
      kLabel + kWidth + 20, h + 30, peak, h + 10);
  std::string deliveries;
  for (const OpsBucket& b : ops) {
    double left = x(static_cast<double>(b.second));
    double base = 0;
    for (auto [count, color, what] : {std::tuple{b.sends_ok, "#66bb6a", "acknowledged"},
                                      std::tuple{b.sends_failed, "#e53935", "failed"},
                                      std::tuple{b.sends_unknown, "#ffa726", "unknown outcome"}}) {
      if (count == 0) continue;
      svg += fmt::format(
          "<g><title>{}s: {} sends {}</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
          "height=\"{:.1f}\" fill=\"{}\"/></g>\n",
          b.second, count, what, left, y(base + count), bar, y(base) - y(base + count), color);
      base += count;
    }
    deliveries += fmt::format("{:.1f},{:.1f} ", left + bar / 2, y(b.deliveries));
  }
  svg += fmt::format(
      "<polyline points=\"{}\" fill=\"none\" stroke=\"#1e88e5\" stroke-width=\"1.5\"/>\n",
      deliveries);
  svg += "</svg>\n";
  return svg;
}

std::string PlanTable(const FaultPlan& plan) {
  if (plan.faults.empty()) return "<p>No faults.</p>\n";
  std::string out = "<table><tr><th>#</th><th>at</th><th>for</th><th>fault</th></tr>\n";
  for (size_t i = 0; i < plan.faults.size(); i++) {
    const Fault& f = plan.faults[i];
    out += fmt::format(
        "<tr><td class=n>{}</td><td class=n>{:.3f}s</td><td class=n>{}</td><td>{}</td></tr>\n", i,
        Secs(f.at), f.duration > Duration::zero() ? fmt::format("{:.3f}s", Secs(f.duration)) : "",
        Esc(Describe(f)));
  }
  out += "</table>\n";
  return out;
}

}  // namespace

std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string RenderHtmlReport(const HtmlReportInput& in) {
  const RunReport& r = *in.report;
  const std::string outcome = OutcomeName(r.outcome);
  double end = Secs(r.sim_time_ns);
  for (const TimelineEvent& e : r.timeline) end = std::max(end, Secs(e.at_ns));
  if (end <= 0) end = 1;

  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>{} seed {}: {}</title>\n{}\n</head><body>\n",
      Esc(r.scenario), r.seed, outcome, kStyle);
  h += fmt::format("<h1>{} &middot; seed {} &middot; <span class=\"badge {}\">{}</span></h1>\n",
                   Esc(r.scenario), r.seed, outcome, outcome);
  h += fmt::format(
      "<p>build <code>{}</code> &middot; trace hash <code>{:016x}</code> &middot; {:.3f} simulated "
      "seconds &middot; {} events</p>\n<p>replay: <code>{}</code></p>\n",
      Esc(in.build_id), r.trace_hash, Secs(r.sim_time_ns), r.trace_steps, Esc(in.replay_command));
  if (!in.note.empty()) h += fmt::format("<p class=\"note\">{}</p>\n", Esc(in.note));
  if (!r.violations.empty()) {
    h += "<h2>Violations</h2>\n<ol>\n";
    for (const std::string& v : r.violations) h += fmt::format("<li class=viol>{}</li>\n", Esc(v));
    h += "</ol>\n";
  }

  h += "<h2>Timeline</h2>\n";
  if (r.timeline.empty()) {
    h += "<p>No timeline was recorded for this run.</p>\n";
  } else {
    h += "<p class=legend><span><i style=\"background:#c8e6c9\"></i>up</span>"
         "<span><i style=\"background:#ef9a9a\"></i>down</span>"
         "<span><i style=\"background:#ffe082\"></i>paused</span>"
         "<span><i style=\"background:#5c6bc0\"></i>fault in force</span>"
         "<span><i style=\"background:#283593\"></i>instantaneous fault</span>"
         "<span><i style=\"border:1px solid #5c6bc0\"></i>fault skipped</span>"
         "<span><i style=\"background:#1565c0\"></i>phase</span>"
         "<span><i style=\"background:#c62828\"></i>violation</span> (hover for details)</p>\n";
    h += TimelineSvg(r, end);
  }
  h += "<h2>Operations per simulated second</h2>\n";
  h += "<p class=legend><span><i style=\"background:#66bb6a\"></i>sends acknowledged</span>"
       "<span><i style=\"background:#e53935\"></i>sends failed</span>"
       "<span><i style=\"background:#ffa726\"></i>sends with unknown outcome</span>"
       "<span><i style=\"background:#1e88e5\"></i>deliveries</span></p>\n";
  h += OpsSvg(r.ops, end);

  h += fmt::format("<h2>Fault plan ({} faults)</h2>\n", r.fault_plan.faults.size());
  if (!in.shrink.empty()) {
    h += fmt::format(
        "<p>Shrunk: {}. Dropping any one of these faults makes the run pass or fail "
        "differently, unless the shrink budget ran out first.</p>\n",
        Esc(in.shrink));
  }
  if (!r.fault_mix.empty()) h += fmt::format("<p>Swarm mix: {}</p>\n", Esc(r.fault_mix));
  h += PlanTable(r.fault_plan);
  if (in.original_plan.has_value()) {
    h += fmt::format(
        "<details><summary>The plan it was shrunk from ({} faults)</summary>\n{}"
        "</details>\n",
        in.original_plan->faults.size(), PlanTable(*in.original_plan));
  }

  h += "<h2>Fault coverage</h2>\n<table><tr><th>fault kind</th><th>planned</th><th>applied</th>"
       "</tr>\n";
  std::map<std::string, uint64_t> applied;
  for (const auto& [name, value] : r.counters) {
    if (name.starts_with("fault_") && name != "faults_planned" && name != "faults_skipped") {
      applied[name.substr(6)] = value;
    }
  }
  for (int i = 0; i < kFaultTypeCount; i++) {
    FaultType t = static_cast<FaultType>(i);
    size_t planned = std::count_if(r.fault_plan.faults.begin(), r.fault_plan.faults.end(),
                                   [t](const Fault& f) { return f.type == t; });
    std::string name(FaultTypeName(t));
    h += fmt::format("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>\n", name, planned,
                     applied.count(name) ? applied[name] : 0);
  }
  h += "</table>\n";
  size_t armed = 0;
  size_t fired = 0;
  for (const BuggifyPointStats& b : r.buggify) {
    armed += b.armed ? 1 : 0;
    fired += b.fired > 0 ? 1 : 0;
  }
  h += fmt::format(
      "<p>Buggify: {} points reached, {} armed, {} fired.</p>\n<details><summary>Buggify "
      "points</summary><table><tr><th>point</th><th>armed</th><th>reached</th><th>fired</th>"
      "</tr>\n",
      r.buggify.size(), armed, fired);
  for (const BuggifyPointStats& b : r.buggify) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>\n",
                     Esc(b.point), b.armed ? "yes" : "no", b.reached, b.fired);
  }
  h += "</table></details>\n";

  if (!r.counters.empty()) {
    h += "<h2>Counters</h2>\n<table>\n";
    for (const auto& [name, value] : r.counters) {
      h += fmt::format("<tr><td>{}</td><td class=n>{}</td></tr>\n", Esc(name), value);
    }
    h += "</table>\n";
  }
  if (!r.timeline.empty()) {
    h += fmt::format(
        "<h2>Event log</h2>\n<details><summary>{} events{}</summary>\n"
        "<table class=log><tr><th>time</th><th>node</th><th>event</th><th>what</th>"
        "</tr>\n",
        r.timeline.size(),
        r.timeline.size() > kMaxLogRows ? fmt::format(" (the first {} shown)", kMaxLogRows)
                                        : std::string());
    for (size_t i = 0; i < r.timeline.size() && i < kMaxLogRows; i++) {
      const TimelineEvent& e = r.timeline[i];
      h += fmt::format("<tr><td class=n>{:.3f}s</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       Secs(e.at_ns), Esc(e.node), TimelineKindName(e.kind), Esc(e.text));
    }
    h += "</table></details>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace apogee::sim
