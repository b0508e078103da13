#include "core/io/posix/posix_env.h"

#include <sys/random.h>

#include <cerrno>

#include "core/io/posix/errors.h"

namespace apogee::io {
namespace {

uint64_t SeedFromOs() {
  uint64_t seed = 0;
  auto* bytes = reinterpret_cast<uint8_t*>(&seed);
  size_t got = 0;
  while (got < sizeof(seed)) {
    ssize_t n = ::getrandom(bytes + got, sizeof(seed) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    APOGEE_ASSERT(n > 0, "getrandom: {}", ErrnoText(errno));
    got += static_cast<size_t>(n);
  }
  return seed;
}

int64_t MonotonicNanos(const void* /*arg*/) { return ToNanos(MonotonicNow()); }

}  // namespace

PosixEnv::PosixEnv(std::string node_name, std::string data_root, size_t io_threads)
    : node_name_(std::move(node_name)),
      seed_(SeedFromOs()),
      saved_diag_(CurrentDiag()),
      pool_(reactor_, io_threads),
      random_(seed_),
      network_(reactor_, pool_),
      disk_(pool_, std::move(data_root)),
      runtime_(&reactor_),
      scheduler_(runtime_, runtime_.NewGroup(node_name_)),
      env_{.node = node_name_,
           .scheduler = scheduler_,
           .clock = clock_,
           .network = network_,
           .disk = disk_,
           .random = random_,
           .buggify = buggify_} {
  reactor_.Attach(runtime_);
  DiagContext& diag = CurrentDiag();
  diag.node = node_name_;
  diag.now_ns = &MonotonicNanos;
  diag.now_arg = nullptr;
  // A production seed only seeds the node's random stream; it reproduces nothing, so logs do
  // not show it.
  diag.has_seed = false;
}

PosixEnv::~PosixEnv() {
  APOGEE_ASSERT(runtime_.Current() == nullptr, "PosixEnv destroyed from a fiber");
  CurrentDiag() = saved_diag_;
}

void PosixEnv::Run() {
  APOGEE_ASSERT(reactor_.OnLoopThread(), "PosixEnv::Run on a thread other than its own");
  runtime_.Run();
}

void PosixEnv::Stop() {
  if (reactor_.OnLoopThread()) {
    runtime_.Stop();
    return;
  }
  reactor_.Post([this] { runtime_.Stop(); });
}

int PosixEnv::RunMain(std::string node_name, std::string data_root,
                      std::function<void(Env&)> main) {
  PosixEnv posix(std::move(node_name), std::move(data_root));
  bool returned = false;
  posix.env().scheduler.Spawn("main", [&posix, &returned, &main] {
    main(posix.env());
    returned = true;
  });
  posix.Run();
  return returned ? 0 : 1;
}

}  // namespace apogee::io
