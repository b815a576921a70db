// bench_parse: parse throughput of feedmerge::parse::parse_feed against a plain pugixml DOM
// load that only walks the items (the practical limit for any DOM-based XML feed parser).
// Every file is read into memory first, so I/O is not measured. Single-threaded.
//
//   bench_parse [--mode all|feedmerge|pugixml] [--rounds R] [--min-seconds S] [--reps N]
//               [--label L] DIR...
//
// Each mode runs R rounds (default 3), interleaved with the other modes; a round repeats whole
// passes over the files until S seconds of CPU time (default 2) have elapsed, or exactly N
// passes with --reps. The best round counts.
// Prints a readable table and one machine-readable `RESULT key=value ...` line per mode
// (bench/parse_bench.sh collects those). MB are 10^6 bytes.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "feedmerge/parse/parser.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct FeedFile {
  std::string path;
  std::string bytes;
  bool json = false;
};

struct Corpus {
  std::vector<FeedFile> xml;
  std::vector<FeedFile> json;
};

struct PassResult {
  std::size_t bytes = 0;
  std::size_t items = 0;
  std::size_t failures = 0;
  std::size_t checksum = 0;  // consumed so that the compiler cannot drop the walk
};

bool has_xml_extension(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".xml" || ext == ".rss" || ext == ".atom" || ext == ".rdf";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The synthetic corpus has corpus.json (its totals) next to the feeds: a JSON file counts only
// when it names jsonfeed (the version URL, whose slashes may be escaped) near its start.
bool is_json_feed(std::string_view bytes) {
  return bytes.substr(0, 4096).find("jsonfeed") != std::string_view::npos;
}

Corpus load_corpus(const std::vector<std::string>& dirs) {
  Corpus corpus;
  std::vector<fs::path> paths;
  for (const std::string& dir : dirs) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.is_regular_file()) {
        paths.push_back(entry.path());
      }
    }
  }
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    const bool json =
        path.extension() == ".json" && !path.filename().string().ends_with(".expected.json");
    if (!json && !has_xml_extension(path)) {
      continue;
    }
    FeedFile file{path.string(), read_file(path), json};
    if (json && !is_json_feed(file.bytes)) {
      continue;
    }
    (json ? corpus.json : corpus.xml).push_back(std::move(file));
  }
  return corpus;
}

PassResult feedmerge_pass(const std::vector<FeedFile>& files) {
  PassResult result;
  for (const FeedFile& file : files) {
    result.bytes += file.bytes.size();
    feedmerge::parse::ParseInput input;
    input.bytes = file.bytes;
    const auto parsed = feedmerge::parse::parse_feed(input);
    if (parsed) {
      result.items += parsed->feed.items.size();
      result.checksum += parsed->feed.title.size();
    } else {
      ++result.failures;
    }
  }
  return result;
}

std::size_t text_size(const pugi::xml_node& item, const char* name) {
  return std::strlen(item.child_value(name));
}

// What a minimal aggregator reads of an item, without namespace handling or normalisation.
std::size_t walk_item(const pugi::xml_node& item) {
  std::size_t n = text_size(item, "title");
  const pugi::xml_node link = item.child("link");
  n += link.first_child() ? std::strlen(link.child_value())
                          : std::strlen(link.attribute("href").value());
  n += item.child("guid") ? text_size(item, "guid") : text_size(item, "id");
  if (item.child("pubDate")) {
    n += text_size(item, "pubDate");
  } else if (item.child("updated")) {
    n += text_size(item, "updated");
  } else {
    n += text_size(item, "dc:date");
  }
  return n;
}

// parse_default decodes entities and keeps CDATA, so the walk reads the same text a feed parser
// needs; parse_minimal skips both (CDATA titles read as empty) and shows the tokenizer's speed.
PassResult pugixml_pass(const std::vector<FeedFile>& files, unsigned int parse_options) {
  PassResult result;
  for (const FeedFile& file : files) {
    result.bytes += file.bytes.size();
    pugi::xml_document doc;
    if (!doc.load_buffer(file.bytes.data(), file.bytes.size(), parse_options)) {
      ++result.failures;
      continue;
    }
    const pugi::xml_node root = doc.document_element();
    const std::string_view name = root.name();
    pugi::xml_node parent = root;
    const char* item_name = "item";
    if (name == "rss") {
      parent = root.child("channel");
    } else if (name == "feed") {
      item_name = "entry";
    }
    for (const pugi::xml_node item : parent.children(item_name)) {
      ++result.items;
      result.checksum += walk_item(item);
    }
  }
  return result;
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

// Process CPU time, not wall time: the machine is shared, and time spent waiting for a core is
// not the parser's. Single-threaded, so CPU seconds are the parser's seconds.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Options {
  std::string mode = "all";
  double min_seconds = 2.0;
  int rounds = 3;
  int reps = 0;  // 0: repeat passes until min_seconds of CPU time have elapsed
  std::string label = "corpus";
  std::vector<std::string> dirs;
};

using PassFunction = PassResult (*)(const std::vector<FeedFile>&);

struct Mode {
  Mode(const char* mode_name, const std::vector<FeedFile>& mode_files, PassFunction mode_pass)
      : name(mode_name), files(&mode_files), pass(mode_pass) {}

  const char* name;
  const std::vector<FeedFile>* files;
  PassFunction pass;
  PassResult counts;     // of one pass
  double best_rate = 0;  // passes per CPU second, best round
  double best_cpu = 0;
  double best_wall = 0;
  int best_reps = 0;
  std::size_t checksum = 0;
};

// One round of one mode: whole passes until min_seconds of CPU time (or exactly --reps passes).
void time_round(const Options& options, Mode& mode) {
  int reps = 0;
  double cpu = 0;
  const double cpu_start = cpu_seconds();
  const Clock::time_point wall_start = Clock::now();
  do {
    mode.checksum += mode.pass(*mode.files).checksum;
    ++reps;
    cpu = cpu_seconds() - cpu_start;
  } while (options.reps > 0 ? reps < options.reps : cpu < options.min_seconds);
  const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  if (reps / cpu > mode.best_rate) {
    mode.best_rate = reps / cpu;
    mode.best_cpu = cpu;
    mode.best_wall = wall;
    mode.best_reps = reps;
  }
}

void report(const Options& options, const Mode& mode) {
  const PassResult& one = mode.counts;
  const double mb_per_s = static_cast<double>(one.bytes) / 1e6 * mode.best_rate;
  const double items_per_s = static_cast<double>(one.items) * mode.best_rate;
  std::printf(
      "%-10s %-16s %6zu files %8.2f MB %7zu items %3zu failed  %5.2f cpu-s %5.2f s x%-4d %8.1f "
      "MB/s %10.0f items/s\n",
      options.label.c_str(), mode.name, mode.files->size(), static_cast<double>(one.bytes) / 1e6,
      one.items, one.failures, mode.best_cpu, mode.best_wall, mode.best_reps, mb_per_s,
      items_per_s);
  std::printf(
      "RESULT corpus=%s mode=%s files=%zu bytes=%zu items=%zu failures=%zu reps=%d "
      "cpu_seconds=%.6f wall_seconds=%.6f mb_per_s=%.3f items_per_s=%.1f peak_rss_kb=%ld "
      "checksum=%zu\n",
      options.label.c_str(), mode.name, mode.files->size(), one.bytes, one.items, one.failures,
      mode.best_reps, mode.best_cpu, mode.best_wall, mb_per_s, items_per_s, peak_rss_kb(),
      mode.checksum);
  std::fflush(stdout);
}

[[noreturn]] void usage() {
  std::fputs(
      "usage: bench_parse [--mode all|feedmerge|pugixml] [--rounds R] [--min-seconds S] "
      "[--reps N] [--label L] DIR...\n",
      stderr);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--mode" && has_value) {
      options.mode = argv[++i];
    } else if (arg == "--min-seconds" && has_value) {
      options.min_seconds = std::atof(argv[++i]);
    } else if (arg == "--rounds" && has_value) {
      options.rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--reps" && has_value) {
      options.reps = std::atoi(argv[++i]);
    } else if (arg == "--label" && has_value) {
      options.label = argv[++i];
    } else if (arg.starts_with("-")) {
      usage();
    } else {
      options.dirs.emplace_back(arg);
    }
  }
  if (options.dirs.empty() ||
      (options.mode != "all" && options.mode != "feedmerge" && options.mode != "pugixml")) {
    usage();
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  Corpus corpus;
  try {
    corpus = load_corpus(options.dirs);
  } catch (const fs::filesystem_error& e) {
    std::fprintf(stderr, "bench_parse: %s\n", e.what());
    return 1;
  }
  if (corpus.xml.empty() && corpus.json.empty()) {
    std::fputs("bench_parse: no feed files found\n", stderr);
    return 1;
  }
  std::vector<Mode> modes;
  if (options.mode != "pugixml") {
    modes.emplace_back("feedmerge-xml", corpus.xml, feedmerge_pass);
    modes.emplace_back("feedmerge-json", corpus.json, feedmerge_pass);
  }
  if (options.mode != "feedmerge") {
    // JSON files have no pugixml counterpart; they are left out of these modes.
    modes.emplace_back("pugixml-walk", corpus.xml, [](const std::vector<FeedFile>& files) {
      return pugixml_pass(files, pugi::parse_default);
    });
    modes.emplace_back("pugixml-minimal", corpus.xml, [](const std::vector<FeedFile>& files) {
      return pugixml_pass(files, pugi::parse_minimal);
    });
  }
  std::erase_if(modes, [](const Mode& mode) { return mode.files->empty(); });
  // An untimed first pass per mode warms caches and the allocator and gives the counts. The
  // rounds then alternate between the modes, and the best round of each counts, so that a
  // burst of load from other processes does not land on one mode only.
  for (Mode& mode : modes) {
    mode.counts = mode.pass(*mode.files);
  }
  for (int round = 0; round < options.rounds; ++round) {
    for (Mode& mode : modes) {
      time_round(options, mode);
    }
  }
  for (const Mode& mode : modes) {
    report(options, mode);
  }
  return 0;
}
