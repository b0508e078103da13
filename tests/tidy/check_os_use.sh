#!/usr/bin/env bash
# Enforces the rule "only core/io/posix touches the operating system" (see DESIGN.md).
#
# Usage: check_os_use.sh [--list-rules] CORE_DIR...
#
# Scans every C++ source file under each CORE_DIR except CORE_DIR/io/posix/ for direct use of
# the OS: clocks, threads, sockets, files and randomness. Everything else in core/ must reach the
# world through the Env seam, or the simulator cannot control it. Prints one line per violation,
#   core/base/foo.cc:12: [threads/std-thread] core/ is single-threaded: run concurrent work ...
#       std::thread worker(Run);
# (the offending source line under it), and exits 1 if there was any; 0 when clean; 2 on a
# usage error.
#
# Comments are not code: whole-line and trailing // comments and /* */ blocks are ignored, and
# so is the text inside string and character literals (log messages may name a syscall). Writing
# to stderr with fprintf/fwrite and std::abort() are allowed: assertions and the default log sink
# use them, and stdio to stderr is not file I/O in the sense of this rule (opening a FILE is).
#
# Needs only bash, find, mawk/gawk and grep -E, all in a minimal Debian.

set -euo pipefail

# Each rule: category|name|extended regex|why (the regex may itself contain |, the other fields
# may not). A regex sees the line with comments and literal contents removed. "Free call"
# patterns exclude member calls (x.connect(, x->bind() and qualified names (std::bind(,
# Foo::connect() through the character class before the name. Short names a snake_case lambda
# might carry (open, listen, send, poll, ...) count only when ::-qualified; their headers are
# flagged anyway.
readonly B='(^|[^[:alnum:]_.>:])'  # start of a free (unqualified or ::-qualified) name
readonly W='(^|[^[:alnum:]_])'     # start of a word
readonly P='[[:space:]]*\('        # then a call's opening parenthesis
RULES=(
  "clocks|std-clock|${W}(std::chrono::)?(system|steady|high_resolution|utc|tai|gps|file)_clock([^[:alnum:]_]|$)|read time from io::Clock (Env::clock), not the OS"
  "clocks|clock-syscall|${W}(clock_gettime|clock_settime|gettimeofday|timespec_get)${P}|read time from io::Clock (Env::clock), not the OS"
  "clocks|time-now|${B}(std::|::)?time${P}[[:space:]]*(nullptr|NULL|0)[[:space:]]*\)|read time from io::Clock (Env::clock), not the OS"
  "clocks|sleep|${B}(::)?(sleep|usleep|nanosleep|clock_nanosleep)${P}|sleep with Scheduler::Sleep, which the simulator controls"
  "clocks|time-header|#[[:space:]]*include[[:space:]]*<(ctime|time\.h|sys/time\.h|sys/timerfd\.h)>|read time from io::Clock (Env::clock), not the OS"
  "threads|std-thread|${W}std::(thread|jthread|this_thread|async)([^[:alnum:]_]|$)|core/ is single-threaded: run concurrent work as fibers (Scheduler::Spawn)"
  "threads|pthread|${W}pthread_[[:alnum:]_]+|core/ is single-threaded: run concurrent work as fibers (Scheduler::Spawn)"
  "threads|std-sync|${W}std::(mutex|timed_mutex|recursive_mutex|shared_mutex|condition_variable|condition_variable_any|lock_guard|unique_lock|scoped_lock)([^[:alnum:]_]|$)|core/ is single-threaded: use the fiber primitives of core/io/sync.h"
  "threads|thread-header|#[[:space:]]*include[[:space:]]*<(thread|pthread\.h|future|mutex|shared_mutex|condition_variable)>|core/ is single-threaded: run concurrent work as fibers (Scheduler::Spawn)"
  "sockets|socket-call|${B}(::)?(socket|socketpair|connect|bind|accept4|getaddrinfo|freeaddrinfo|getpeername|getsockname|setsockopt|getsockopt|recvfrom|recvmsg|sendto|sendmsg)${P}|use io::Network (Env::network) for connections"
  "sockets|socket-syscall|${W}::(accept|listen|send|recv|shutdown)${P}|use io::Network (Env::network) for connections"
  "sockets|socket-header|#[[:space:]]*include[[:space:]]*<(sys/socket\.h|netinet/[^>]*|arpa/inet\.h|netdb\.h|sys/un\.h|poll\.h|sys/select\.h|sys/epoll\.h|sys/eventfd\.h)>|use io::Network (Env::network) for connections"
  "sockets|epoll|${W}(epoll_[[:alnum:]_]+|eventfd([^[:alnum:]_]|$))|use io::Network (Env::network); the reactor lives in core/io/posix"
  "sockets|poll-select|${W}::(poll|select)${P}|${B}(::)?(ppoll|pselect)${P}|use io::Network (Env::network); the reactor lives in core/io/posix"
  "files|stdio-open|${B}(std::|::)?(fopen|freopen|fdopen|tmpfile|popen)${P}|use io::Disk (Env::disk) for files"
  "files|open-syscall|${W}::(open|openat|creat)${P}|${B}(openat|creat)${P}|use io::Disk (Env::disk) for files"
  "files|fd-syscall|${W}::(read|write|close|lseek|ftruncate|truncate|unlink|rename|remove|mkdir|rmdir|opendir|readdir|closedir|stat|fstat|statvfs|fstatvfs|mmap)${P}|use io::Disk (Env::disk) for files"
  "files|sync-syscall|${B}(::)?(fsync|fdatasync|sync_file_range|syncfs)${P}|use io::Disk (Env::disk): File::Sync and Dir sync keep the durability contract"
  "files|positional-io|${B}(::)?(pread|pwrite|preadv|pwritev|pread64|pwrite64)${P}|use io::Disk (Env::disk) for files"
  "files|fstream|${W}std::(basic_)?(i|o)?fstream([^[:alnum:]_]|$)|use io::Disk (Env::disk) for files"
  "files|filesystem|${W}std::filesystem::|use io::Disk (Env::disk) for files and directories"
  "files|file-header|#[[:space:]]*include[[:space:]]*<(fcntl\.h|unistd\.h|sys/stat\.h|sys/statvfs\.h|sys/mman\.h|sys/file\.h|dirent\.h|fstream|filesystem)>|use io::Disk (Env::disk) for files"
  "randomness|rand-call|${B}(std::|::)?(rand|srand|rand_r|srandom|drand48|lrand48|mrand48|arc4random)${P}|${B}(::)?random${P}[[:space:]]*\)|draw from io::Random (Env::random), which the seed controls"
  "randomness|getrandom|${W}(getrandom|getentropy)${P}|draw from io::Random (Env::random), which the seed controls"
  "randomness|std-random|${W}std::(random_device|mt19937|mt19937_64|minstd_rand|minstd_rand0|default_random_engine|ranlux24|ranlux48|ranlux24_base|ranlux48_base|knuth_b|linear_congruential_engine|mersenne_twister_engine|subtract_with_carry_engine)([^[:alnum:]_]|$)|draw from io::Random (Env::random), which the seed controls"
  "randomness|random-header|#[[:space:]]*include[[:space:]]*<(random|sys/random\.h)>|draw from io::Random (Env::random): <random> engines are not seeded by the run and its distributions differ between standard libraries"
)

# Splits a rule into category, name, regex and why.
parse_rule() {
  local rest
  category="${1%%|*}"
  rest="${1#*|}"
  name="${rest%%|*}"
  rest="${rest#*|}"
  why="${rest##*|}"
  regex="${rest%|*}"
}

if [[ "${1:-}" == "--list-rules" ]]; then
  for rule in "${RULES[@]}"; do
    parse_rule "${rule}"
    echo "${category}/${name}"
  done
  exit 0
fi

if [[ $# -eq 0 ]]; then
  echo "usage: $0 [--list-rules] CORE_DIR..." >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

files="${work}/files"
: >"${files}"
for root in "$@"; do
  if [[ ! -d "${root}" ]]; then
    echo "check_os_use: no such directory: ${root}" >&2
    exit 2
  fi
  root="${root%/}"
  find "${root}" -path "${root}/io/posix" -prune -o -type f \
    \( -name '*.h' -o -name '*.hh' -o -name '*.hpp' -o -name '*.c' -o -name '*.cc' \
    -o -name '*.cpp' -o -name '*.cxx' -o -name '*.inc' -o -name '*.ipp' -o -name '*.tcc' \) \
    -print >>"${files}"
done
sort -o "${files}" "${files}"

# One output line per input line, in the same order: "where" holds "file:line", "code" the line
# with comments removed and literal contents blanked, "text" the original line.
where="${work}/where"
code="${work}/code"
text="${work}/text"
: >"${where}"
: >"${code}"
: >"${text}"
if [[ -s "${files}" ]]; then
  # shellcheck disable=SC2016  # the awk program is meant to reach awk unexpanded
  tr '\n' '\0' <"${files}" | xargs -0 awk -v where="${where}" -v code="${code}" -v text="${text}" '
    FNR == 1 { in_block = 0 }
    {
      line = $0
      out = ""
      quote = ""
      n = length(line)
      i = 1
      while (i <= n) {
        c = substr(line, i, 1)
        c2 = substr(line, i, 2)
        if (in_block) {
          if (c2 == "*/") { in_block = 0; out = out "  "; i += 2 } else { out = out " "; i++ }
          continue
        }
        if (quote != "") {
          if (c == "\\") { out = out "  "; i += 2; continue }
          if (c == quote) { quote = ""; out = out c } else { out = out " " }
          i++
          continue
        }
        if (c2 == "//") break
        if (c2 == "/*") { in_block = 1; out = out "  "; i += 2; continue }
        if (c == "\"" || c == "\047") quote = c
        out = out c
        i++
      }
      print FILENAME ":" FNR >> where
      print out >> code
      print line >> text
    }'
fi

violations=0
matches="${work}/matches"
for rule in "${RULES[@]}"; do
  parse_rule "${rule}"
  status=0
  grep -nE -e "${regex}" "${code}" >"${matches}" || status=$?
  if [[ ${status} -gt 1 ]]; then
    echo "check_os_use: bad pattern for rule ${category}/${name}: ${regex}" >&2
    exit 2
  fi
  while IFS=: read -r index _; do
    location="$(sed -n "${index}p" "${where}")"
    source_line="$(sed -n "${index}p" "${text}")"
    echo "${location}: [${category}/${name}] ${why}"
    echo "    ${source_line#"${source_line%%[![:space:]]*}"}"
    violations=$((violations + 1))
  done <"${matches}"
done

if [[ ${violations} -gt 0 ]]; then
  echo "check_os_use: ${violations} use(s) of the OS outside core/io/posix (see DESIGN.md)" >&2
  exit 1
fi
exit 0
