#!/usr/bin/env bash
# Proves check_os_use.sh catches what it should and nothing else: every rule is exercised by at
# least one planted violation, which must be reported under that rule at its exact line and
# must pass when the same file sits in core/io/posix; a tree of allowed look-alikes (stderr
# output, std::bind, member calls, comments, log strings) must pass cleanly.
#
# Usage: selftest.sh [path/to/check_os_use.sh]. Exits 0 when every check holds, 1 otherwise.

set -euo pipefail

checker="${1:-$(dirname "$0")/check_os_use.sh}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# rule|planted line. Several lines per rule cover the spellings DESIGN.md's tidy rule names.
PLANTED=(
  "clocks/std-clock|auto t = std::chrono::steady_clock::now();"
  "clocks/std-clock|auto t = std::chrono::system_clock::now();"
  "clocks/std-clock|using Hrc = std::chrono::high_resolution_clock;"
  "clocks/clock-syscall|clock_gettime(CLOCK_MONOTONIC, &ts);"
  "clocks/clock-syscall|gettimeofday(&tv, nullptr);"
  "clocks/time-now|long t = time(nullptr);"
  "clocks/time-now|long t = std::time(NULL);"
  "clocks/sleep|usleep(1000);"
  "clocks/time-header|#include <sys/time.h>"
  "threads/std-thread|std::thread worker([] {});"
  "threads/std-thread|std::jthread worker([] {});"
  "threads/std-thread|auto f = std::async(Work);"
  "threads/std-thread|std::this_thread::sleep_for(kDelay);"
  "threads/std-sync|std::mutex mu;"
  "threads/pthread|pthread_create(&t, nullptr, Run, nullptr);"
  "threads/thread-header|#include <thread>"
  "sockets/socket-call|int fd = socket(AF_INET, SOCK_STREAM, 0);"
  "sockets/socket-call|if (::connect(fd, addr, len) != 0) return;"
  "sockets/socket-call|bind(fd, addr, len);"
  "sockets/socket-syscall|int c = ::accept(fd, nullptr, nullptr);"
  "sockets/socket-header|#include <sys/socket.h>"
  "sockets/socket-header|#include <netinet/in.h>"
  "sockets/socket-header|#include <arpa/inet.h>"
  "sockets/epoll|int ep = epoll_create1(0);"
  "sockets/poll-select|::poll(fds, 1, 0);"
  "files/stdio-open|FILE* f = fopen(\"x\", \"r\");"
  "files/open-syscall|int fd = ::open(path, O_RDONLY);"
  "files/fd-syscall|::close(fd);"
  "files/sync-syscall|fsync(fd);"
  "files/positional-io|pread(fd, buf, 1, 0);"
  "files/positional-io|::pwrite(fd, buf, 1, 0);"
  "files/fstream|std::ifstream in(path);"
  "files/fstream|std::ofstream out(path);"
  "files/fstream|std::fstream both(path);"
  "files/filesystem|std::filesystem::remove(path);"
  "files/file-header|#include <fcntl.h>"
  "files/file-header|#include <unistd.h>"
  "randomness/rand-call|int r = rand();"
  "randomness/rand-call|srand(42);"
  "randomness/rand-call|long r = random();"
  "randomness/getrandom|getrandom(buf, 8, 0);"
  "randomness/std-random|std::random_device device;"
  "randomness/std-random|std::mt19937 gen(42);"
  "randomness/random-header|#include <random>"
)

# Code that looks like OS use but is not, or is allowed (see check_os_use.sh).
ALLOWED="$(
  cat <<'END'
#include "core/base/time.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
// Comment lines may say anything: std::thread, fopen("x"), rand(), socket(AF_INET).
  // Indented comments too: ::close(fd); #include <unistd.h>
/* A block comment: std::mt19937 and epoll_wait(
   spanning lines: gettimeofday(&tv, nullptr); */
int after_block = 1; /* time(nullptr) */ int also_after = 2;
void Fail(const char* report) {
  std::fprintf(stderr, "%s\n", report);  // stdio to stderr is allowed
  std::fwrite(report, 1, 1, stderr);
  std::fflush(stderr);
  std::abort();
}
void Log() { LogLine("bind() failed: socket(AF_INET) and fopen(x) in a message"); }
char quote = '"'; const char* s = "// not a comment"; int ok_after_string = Connect(0);
auto cb = std::bind(&Server::Accept, this);
void Use(Conn* c, Conn& d) { c->connect(); d.open(); c->bind(1); d.accept(); }
Status s = network.Connect(addr, deadline);
Status t = file->Sync();
Instant now = clock.Now();
uint64_t r = random.Next();
uint64_t u = env.random.Uniform(10);
Node::Node(Random& random) : random_(random) {}
using Duration = std::chrono::nanoseconds;
thread_local DiagContext diag_context;
int reconnect_count = Reconnect(3) + disconnect_();
scheduler.Sleep(10ms);
io::Mutex mu(runtime);
MutexLock lock(mu);
bool timed = OnTimeout(time_ms);
END
)"

plant() {  # plant DIR FILE LINE: writes LINE as line 3 of DIR/FILE
  mkdir -p "$(dirname "$1/$2")"
  printf '// Planted by selftest.sh.\nnamespace x {\n%s\n}  // namespace x\n' "$3" >"$1/$2"
}

# 1. Every rule has at least one planted sample.
while read -r rule; do
  covered=0
  for entry in "${PLANTED[@]}"; do
    [[ "${entry%%|*}" == "${rule}" ]] && covered=1
  done
  [[ ${covered} -eq 1 ]] || fail "rule ${rule} has no planted violation in selftest.sh"
done < <(bash "${checker}" --list-rules)

# 2. Each planted line is caught, under its rule, at line 3.
n=0
for entry in "${PLANTED[@]}"; do
  rule="${entry%%|*}"
  line="${entry#*|}"
  n=$((n + 1))
  tree="${work}/case${n}/core"
  plant "${tree}" "base/planted.cc" "${line}"
  status=0
  out="$(bash "${checker}" "${tree}" 2>&1)" || status=$?
  if [[ ${status} -ne 1 ]]; then
    fail "not caught (exit ${status}): ${line}"
  elif ! grep -qF "base/planted.cc:3: [${rule}]" <<<"${out}"; then
    fail "caught under the wrong rule or line, expected ${rule} at line 3: ${line}"$'\n'"${out}"
  fi
done

# 3. The same lines pass inside core/io/posix, the one place allowed to use the OS.
exempt="${work}/exempt/core"
mkdir -p "${exempt}/io/posix" "${exempt}/base"
for entry in "${PLANTED[@]}"; do echo "${entry#*|}"; done >"${exempt}/io/posix/planted.cc"
echo "int fine = 0;" >"${exempt}/base/fine.cc"
status=0
out="$(bash "${checker}" "${exempt}" 2>&1)" || status=$?
[[ ${status} -eq 0 ]] || fail "flagged inside core/io/posix (exit ${status}):"$'\n'"${out}"

# 4. Allowed look-alikes pass, in a header and in a source file, with no output at all.
clean="${work}/clean/core"
mkdir -p "${clean}/base" "${clean}/io"
printf '%s\n' "${ALLOWED}" >"${clean}/base/allowed.cc"
printf '%s\n' "${ALLOWED}" >"${clean}/io/allowed.h"
status=0
out="$(bash "${checker}" "${clean}" 2>&1)" || status=$?
[[ ${status} -eq 0 && -z "${out}" ]] || fail "clean tree not accepted (exit ${status}):"$'\n'"${out}"

# 5. A violation after a block comment closes on the same line is still code.
plant "${work}/after/core" "base/after.cc" "/* fine */ int fd = socket(AF_INET, SOCK_STREAM, 0);"
status=0
bash "${checker}" "${work}/after/core" >/dev/null 2>&1 || status=$?
[[ ${status} -eq 1 ]] || fail "code after a closed block comment was ignored"

# 6. Every violation of a file is reported, not just the first.
plant "${work}/many/core" "base/many.cc" $'std::thread a;\nint r = rand();\nFILE* f = fopen("x", "r");'
count="$(bash "${checker}" "${work}/many/core" 2>/dev/null | grep -c '^[^ ].*many\.cc:[0-9]*: \[' || true)"
[[ "${count}" -eq 3 ]] || fail "expected 3 reports for three violations, got ${count}"

# 7. A file that ends inside an unterminated /* comment does not hide the next file's code.
mkdir -p "${work}/unterminated/core/base"
printf 'int a = 0;\n/* never closed\n' >"${work}/unterminated/core/base/a.cc"
plant "${work}/unterminated/core" "base/b.cc" "std::thread t;"
status=0
bash "${checker}" "${work}/unterminated/core" >/dev/null 2>&1 || status=$?
[[ ${status} -eq 1 ]] || fail "an unterminated comment in one file hid a violation in the next"

# 8. A missing directory is a usage error, not a pass.
status=0
bash "${checker}" "${work}/does-not-exist" >/dev/null 2>&1 || status=$?
[[ ${status} -eq 2 ]] || fail "missing directory gave exit ${status}, want 2"

if [[ ${failures} -gt 0 ]]; then
  echo "selftest: ${failures} check(s) failed"
  exit 1
fi
echo "selftest: ${#PLANTED[@]} planted violations caught, clean tree accepted"
