#include "sim/html_report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace apogee::sim {
namespace {

using namespace std::chrono_literals;

size_t Count(const std::string& s, std::string_view what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

RunReport FailingRun() {
  RunReport r;
  r.scenario = "broker-crash-sync";
  r.seed = 7;
  r.outcome = Outcome::kViolation;
  r.violations = {"lost: message <p0-3> never came back & is gone"};
  r.trace_hash = 0xabcdef;
  r.sim_time_ns = 40'000'000'000;
  Fault crash;
  crash.at = 5s;
  crash.duration = 3s;
  crash.type = FaultType::kCrash;
  crash.a = "broker-a";
  r.fault_plan.faults = {crash};
  r.nodes = {"ns-1", "broker-a", "producer-1"};
  auto at = [](int64_t s) { return s * 1'000'000'000; };
  r.timeline = {
      {at(0), TimelineKind::kPhase, "", "start"},
      {at(0), TimelineKind::kNodeUp, "ns-1", "incarnation 1"},
      {at(0), TimelineKind::kNodeUp, "broker-a", "incarnation 1"},
      {at(5), TimelineKind::kNodeDown, "broker-a", "crash (unsynced data: drop)"},
      {at(5), TimelineKind::kFaultStart, "broker-a", Describe(crash)},
      {at(8), TimelineKind::kFaultEnd, "broker-a", Describe(crash)},
      {at(8), TimelineKind::kNodeUp, "broker-a", "incarnation 2"},
      {at(9), TimelineKind::kFaultSkipped, "ns-1", "pause ns-1"},
      {at(39), TimelineKind::kViolation, "", r.violations[0]},
  };
  r.ops = {{0, 10, 1, 2, 9}, {1, 12, 0, 0, 12}};
  r.counters = {{"fault_crash", 1}, {"sends", 25}};
  r.buggify = {{"store.cc:10", true, 5, 2}, {"remoting.cc:3", false, 9, 0}};
  return r;
}

TEST(HtmlReportTest, ShowsVerdictTimelinePlanAndCoverage) {
  RunReport r = FailingRun();
  HtmlReportInput in;
  in.report = &r;
  in.build_id = "deadbeef";
  in.replay_command = "apogee-sim replay failures/x.min.repro.json";
  in.original_plan = r.fault_plan;
  in.original_plan->faults.push_back(r.fault_plan.faults[0]);
  in.shrink = "2 faults -> 1 in 4 runs";
  std::string html = RenderHtmlReport(in);

  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_NE(html.find("broker-crash-sync"), std::string::npos);
  EXPECT_NE(html.find("class=\"badge violation\""), std::string::npos);
  EXPECT_NE(html.find("0000000000abcdef"), std::string::npos);
  EXPECT_NE(html.find(in.replay_command), std::string::npos);
  // Escaped, never raw markup from a violation.
  EXPECT_NE(html.find("message &lt;p0-3&gt; never came back &amp; is gone"), std::string::npos);
  EXPECT_EQ(html.find("<p0-3>"), std::string::npos);
  // One lane per node, the down span of broker-a, the fault bar and the skipped fault.
  for (const char* node : {">ns-1<", ">broker-a<", ">producer-1<"}) {
    EXPECT_NE(html.find(node), std::string::npos) << node;
  }
  EXPECT_NE(html.find("down 5.000s - 8.000s"), std::string::npos);
  EXPECT_NE(html.find(fmt::format("5.000s - 8.000s: {}", Describe(r.fault_plan.faults[0]))),
            std::string::npos);
  EXPECT_NE(html.find("skipped: pause ns-1"), std::string::npos);
  // The plan, the plan it was shrunk from, and how.
  EXPECT_NE(html.find("Fault plan (1 faults)"), std::string::npos);
  EXPECT_NE(html.find("shrunk from (2 faults)"), std::string::npos);
  EXPECT_NE(html.find("2 faults -&gt; 1 in 4 runs"), std::string::npos);
  // Coverage: every fault kind has a row; Buggify points listed.
  for (int i = 0; i < kFaultTypeCount; i++) {
    std::string row = fmt::format("<tr><td>{}</td>", FaultTypeName(static_cast<FaultType>(i)));
    EXPECT_NE(html.find(row), std::string::npos) << row;
  }
  EXPECT_NE(html.find("<tr><td>crash</td><td class=n>1</td><td class=n>1</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("2 points reached, 1 armed, 1 fired"), std::string::npos);
  EXPECT_NE(html.find("store.cc:10"), std::string::npos);
  // Operations: a bar per kind of send that happened, and the deliveries line.
  EXPECT_NE(html.find("0s: 10 sends acknowledged"), std::string::npos);
  EXPECT_NE(html.find("0s: 2 sends unknown outcome"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  // Self-contained: no scripts, nothing fetched.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(Count(html, "http"), Count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(Count(html, "<svg"), Count(html, "</svg>"));
  EXPECT_EQ(Count(html, "<table"), Count(html, "</table>"));
}

TEST(HtmlReportTest, ACrashWithoutTimelineSaysSo) {
  RunReport r;
  r.scenario = "demo";
  r.seed = 2;
  r.outcome = Outcome::kCrash;
  r.violations = {"assertion failed"};
  HtmlReportInput in;
  in.report = &r;
  in.note = "The run crashed, so it left no timeline.";
  std::string html = RenderHtmlReport(in);
  EXPECT_NE(html.find("No timeline was recorded"), std::string::npos);
  EXPECT_NE(html.find("class=\"badge crash\""), std::string::npos);
  EXPECT_NE(html.find("The run crashed, so it left no timeline."), std::string::npos);
  EXPECT_NE(html.find("No faults."), std::string::npos);
}

}  // namespace
}  // namespace apogee::sim
