// LocalOffsetStore: offsets survive a restart through the file; increase-only updates.

#include "core/client/offset_store.h"

#include <gtest/gtest.h>

#include "sim/world.h"

namespace apogee::client {
namespace {

using namespace std::chrono_literals;

void RunOnNode(const std::function<void(io::Env&)>& body) {
  sim::World world(11);
  bool done = false;
  sim::NodeId n = world.AddNode(sim::NodeSpec{"c", "10.0.0.1", [&](io::Env& env) {
                                                body(env);
                                                done = true;
                                              }});
  world.Start(n);
  world.RunFor(10s);
  EXPECT_TRUE(done);
}

TEST(OffsetStoreTest, LocalOffsetsSurviveThroughTheFile) {
  // Proves: PersistAll writes the file and a new store's Load() reads the same offsets back.
  RunOnNode([](io::Env& env) {
    MessageQueue a{"T", "b", 0};
    MessageQueue b{"T", "b", 1};
    {
      LocalOffsetStore store(env, "offsets", "10.0.0.1@x", "G");
      ASSERT_TRUE(store.Load().ok());
      EXPECT_EQ(*store.ReadOffset(a, ReadOffsetType::kStore), kNoOffset);
      store.UpdateOffset(a, 7, false);
      store.UpdateOffset(b, 3, false);
      store.UpdateOffset(b, 2, true);  // ignored: increase only
      store.PersistAll({});
    }
    LocalOffsetStore again(env, "offsets", "10.0.0.1@x", "G");
    ASSERT_TRUE(again.Load().ok());
    EXPECT_EQ(*again.ReadOffset(a, ReadOffsetType::kStore), 7);
    EXPECT_EQ(*again.ReadOffset(b, ReadOffsetType::kMemory), 3);
    LocalOffsetStore other_group(env, "offsets", "10.0.0.1@x", "H");
    ASSERT_TRUE(other_group.Load().ok());
    EXPECT_EQ(*other_group.ReadOffset(a, ReadOffsetType::kStore), kNoOffset);
  });
}

TEST(OffsetStoreTest, CorruptFileIsReported) {
  // Proves: a file that is not an offset table fails Load() instead of starting from scratch.
  RunOnNode([](io::Env& env) {
    ASSERT_TRUE(env.disk.MakeDirs("offsets/id/G").ok());
    std::string junk = "{\"offsetTable\":[{\"topic\":1";
    ASSERT_TRUE(
        env.disk
            .WriteAtomically("offsets/id/G/offsets.json",
                             std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()))
            .ok());
    LocalOffsetStore store(env, "offsets", "id", "G");
    EXPECT_EQ(store.Load().code(), ErrorCode::kCorruption);
  });
}

}  // namespace
}  // namespace apogee::client
