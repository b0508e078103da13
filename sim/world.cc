#include "sim/world.h"

#include <fmt/format.h>

#include "core/base/assert.h"
#include "core/base/log.h"

namespace apogee::sim {

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kCrash:
      return "crash";
    case FaultKind::kStart:
      return "start";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kResume:
      return "resume";
    case FaultKind::kClockJump:
      return "clock_jump";
    case FaultKind::kClockDrift:
      return "clock_drift";
    case FaultKind::kPartition:
      return "partition";
    case FaultKind::kHeal:
      return "heal";
    case FaultKind::kClog:
      return "clog";
    case FaultKind::kReset:
      return "reset";
    case FaultKind::kDiskFaults:
      return "disk_faults";
    case FaultKind::kBitFlip:
      return "bit_flip";
  }
  return "?";
}

// One run of a node's process: its fiber group and everything its Env refers to. Kept until its
// fibers have all unwound, since they hold references into it while they do.
struct World::Incarnation {
  Incarnation(World& world, Node& node, uint32_t number);
  io::GroupId group;
  io::Scheduler scheduler;
  std::unique_ptr<TracedRandom> random;
  std::unique_ptr<io::Network> network;
  std::unique_ptr<io::Disk> disk;
  io::Env env;
};

struct World::Node {
  explicit Node(NodeSpec s) : spec(std::move(s)) {}
  NodeSpec spec;
  NodeId id = 0;
  NodeState state = NodeState::kDown;
  uint32_t incarnations = 0;
  std::unique_ptr<SimMachineDisk> disk;
  std::unique_ptr<SimClock> clock;
  std::unique_ptr<Incarnation> current;
  std::vector<std::unique_ptr<Incarnation>> dead;  // crashed, possibly still unwinding
};

World::Incarnation::Incarnation(World& world, Node& node, uint32_t number)
    : group(world.runtime().NewGroup(node.spec.name)),
      scheduler(world.runtime(), group),
      random(world.kernel_.NewStream(fmt::format("node/{}/{}", node.spec.name, number))),
      network(world.network_->Attach(node.spec.host)),
      disk(node.disk->Attach()),
      env{node.spec.name, scheduler, *node.clock, *network, *disk, *random, *world.buggify_} {}

World::World(uint64_t seed, Options options)
    : kernel_(seed),
      network_(std::make_unique<SimNetwork>(kernel_, options.network)),
      buggify_(std::make_unique<SimBuggify>(kernel_)),
      controller_group_(kernel_.runtime().NewGroup("sim")),
      controller_(kernel_.runtime(), controller_group_) {}

World::~World() {
  // Fibers refer to incarnations, disks and the network: unwind them all first, every group
  // (nodes', the controller's, and any a test made itself), as the runtime's destructor would.
  for (io::GroupId g = 1; g < runtime().group_count(); g++) runtime().KillGroup(g);
  kernel_.RunUntilQuiet();
}

World::Node& World::node(NodeId id) {
  APOGEE_ASSERT(id < nodes_.size(), "unknown node {}", id);
  return *nodes_[id];
}
const World::Node& World::node(NodeId id) const {
  APOGEE_ASSERT(id < nodes_.size(), "unknown node {}", id);
  return *nodes_[id];
}

NodeId World::AddNode(NodeSpec spec) {
  APOGEE_ASSERT(!spec.name.empty());
  APOGEE_ASSERT(!spec.host.empty());
  for (const auto& n : nodes_) {
    APOGEE_ASSERT(n->spec.name != spec.name, "duplicate node name {}", spec.name);
    APOGEE_ASSERT(n->spec.host != spec.host, "duplicate host {}", spec.host);
  }
  auto n = std::make_unique<Node>(std::move(spec));
  n->id = static_cast<NodeId>(nodes_.size());
  n->disk = std::make_unique<SimMachineDisk>(kernel_, n->spec.name, n->spec.disk_faults);
  n->clock = std::make_unique<SimClock>(kernel_);
  nodes_.push_back(std::move(n));
  return nodes_.back()->id;
}

const std::string& World::name(NodeId id) const { return node(id).spec.name; }
const std::string& World::host(NodeId id) const { return node(id).spec.host; }
NodeState World::state(NodeId id) const { return node(id).state; }
uint32_t World::incarnation(NodeId id) const { return node(id).incarnations; }
SimMachineDisk& World::disk(NodeId id) { return *node(id).disk; }
SimClock& World::clock(NodeId id) { return *node(id).clock; }

io::Env& World::env(NodeId id) {
  Node& n = node(id);
  APOGEE_ASSERT(n.current != nullptr, "node {} is down", n.spec.name);
  return n.current->env;
}

void World::ReapIncarnations(Node& n) {
  std::erase_if(n.dead, [this](const std::unique_ptr<Incarnation>& inc) {
    return runtime().LiveFibers(inc->group) == 0;
  });
}

void World::Start(NodeId id) {
  Node& n = node(id);
  APOGEE_ASSERT(n.state == NodeState::kDown, "start of node {} that is not down", n.spec.name);
  ReapIncarnations(n);
  n.incarnations++;
  n.current = std::make_unique<Incarnation>(*this, n, n.incarnations);
  n.state = NodeState::kUp;
  NoteFault(FaultKind::kStart, id);
  timeline_.Add(Now(), TimelineKind::kNodeUp, n.spec.name,
                fmt::format("incarnation {}", n.incarnations));
  LOG_DEBUG("start {} (incarnation {})", n.spec.name, n.incarnations);
  io::Env* env = &n.current->env;
  NodeMain main = n.spec.main;
  n.current->scheduler.Spawn("main", [env, main] { main(*env); });
}

void World::Crash(NodeId id, CrashMode mode) {
  Node& n = node(id);
  APOGEE_ASSERT(n.state != NodeState::kDown, "crash of node {} that is down", n.spec.name);
  LOG_DEBUG("crash {} ({})", n.spec.name, CrashModeName(mode));
  NoteFault(FaultKind::kCrash, (static_cast<uint64_t>(id) << 8) | static_cast<uint64_t>(mode));
  timeline_.Add(Now(), TimelineKind::kNodeDown, n.spec.name,
                fmt::format("crash (unsynced data: {})", CrashModeName(mode)));
  // Cut the process off from the world first, so nothing its unwinding destructors do can
  // reach the network or the disk; then unwind it.
  network_->CrashHost(n.spec.host);
  n.disk->Crash(mode);
  runtime().KillGroup(n.current->group);
  n.dead.push_back(std::move(n.current));
  n.state = NodeState::kDown;
}

void World::Pause(NodeId id) {
  Node& n = node(id);
  APOGEE_ASSERT(n.state == NodeState::kUp, "pause of node {} that is not up", n.spec.name);
  NoteFault(FaultKind::kPause, id);
  timeline_.Add(Now(), TimelineKind::kNodePaused, n.spec.name, "paused");
  runtime().PauseGroup(n.current->group);
  n.state = NodeState::kPaused;
}

void World::Resume(NodeId id) {
  Node& n = node(id);
  APOGEE_ASSERT(n.state == NodeState::kPaused, "resume of node {} that is not paused", n.spec.name);
  NoteFault(FaultKind::kResume, id);
  timeline_.Add(Now(), TimelineKind::kNodeResumed, n.spec.name, "resumed");
  runtime().ResumeGroup(n.current->group);
  n.state = NodeState::kUp;
}

void World::JumpClock(NodeId id, Duration delta) {
  NoteFault(FaultKind::kClockJump, static_cast<uint64_t>(delta.count()));
  node(id).clock->Jump(delta);
}

void World::SetClockDrift(NodeId id, double ppm) {
  NoteFault(FaultKind::kClockDrift, static_cast<uint64_t>(static_cast<int64_t>(ppm * 1000)));
  node(id).clock->SetDrift(ppm);
}

io::FiberHandle World::SpawnController(std::string name, std::function<void()> fn) {
  return controller_.Spawn(std::move(name), std::move(fn));
}

}  // namespace apogee::sim
