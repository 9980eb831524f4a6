// Frame outcomes and rank logs: their transport records, the summary table and the
// --timing JSON (see run_record.hpp).
#include "run_record.hpp"

#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "libextract/config.hpp"
#include "libextract/errors.hpp"
#include "libextract/frame.hpp"

namespace libextract {
namespace dispatch {

void FrameOutcome::write(RecordWriter& w) const {
  w.put(number).put(line).put_string(input).put_string(psf).put_string(output).put(group).put(ranks);
  w.put_string(status).put_string(reason).put(failed_rank).put(error_code);
  w.put(seconds).put(read_seconds).put(extract_seconds).put(write_seconds);
  w.put(nspec)
      .put(nwave)
      .put(patches)
      .put(bundles)
      .put(retried_patches)
      .put(failed_patches)
      .put_string(backend);
  w.put(static_cast<int>(stages.size()));
  for (const StageTiming& s : stages)
    w.put_string(s.name).put_string(s.backend).put(s.seconds).put(s.launches).put(s.flops);
}

FrameOutcome FrameOutcome::read(RecordReader& r) {
  FrameOutcome f;
  f.number = r.get<int>();
  f.line = r.get<int>();
  f.input = r.get_string();
  f.psf = r.get_string();
  f.output = r.get_string();
  f.group = r.get<int>();
  f.ranks = r.get<int>();
  f.status = r.get_string();
  f.reason = r.get_string();
  f.failed_rank = r.get<int>();
  f.error_code = r.get<int>();
  f.seconds = r.get<double>();
  f.read_seconds = r.get<double>();
  f.extract_seconds = r.get<double>();
  f.write_seconds = r.get<double>();
  f.nspec = r.get<int>();
  f.nwave = r.get<int>();
  f.patches = r.get<int>();
  f.bundles = r.get<int>();
  f.retried_patches = r.get<int>();
  f.failed_patches = r.get<int>();
  f.backend = r.get_string();
  const int nstages = r.get<int>();
  for (int i = 0; i < nstages; ++i) {
    StageTiming s;
    s.name = r.get_string();
    s.backend = r.get_string();
    s.seconds = r.get<double>();
    s.launches = r.get<long long>();
    s.flops = r.get<double>();
    f.stages.push_back(s);
  }
  return f;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string quoted(const std::string& text) {
  return "\"" + json_escape(text) + "\"";
}

}  // namespace

std::string RankLog::json() const {
  std::ostringstream j;
  j << std::setprecision(6);
  j << "{\"rank\": " << rank << ", \"group\": " << group << ", \"group_rank\": " << group_rank
    << ", \"host\": " << quoted(host) << ", \"local_rank\": " << local_rank << ", \"device\": " << device
    << ", \"files_read\": [";
  for (std::size_t i = 0; i < files_read.size(); ++i) j << (i ? ", " : "") << quoted(files_read[i]);
  long long patches = 0;
  double seconds = 0.0;
  j << "], \"work\": [";
  for (std::size_t i = 0; i < work.size(); ++i) {
    const RankWork& w = work[i];
    j << (i ? ", " : "") << "{\"frame\": " << w.frame << ", \"first_patch\": " << w.first
      << ", \"patches\": " << w.count << ", \"solve_seconds\": " << w.solve_seconds << "}";
    patches += w.count;
    seconds += w.solve_seconds;
  }
  j << "], \"patches_solved\": " << patches << ", \"solve_seconds\": " << seconds << "}";
  return j.str();
}

void print_summary(std::ostream& out, const std::vector<FrameOutcome>& frames) {
  int ok = 0, failed = 0, skipped = 0;
  out << "frame  group  ranks   seconds  status   output / reason\n";
  for (const FrameOutcome& f : frames) {
    std::ostringstream secs;
    if (f.status == "skipped") {
      secs << "-";
    } else {
      secs << std::fixed << std::setprecision(2) << f.seconds;
    }
    out << std::setw(5) << f.number << "  " << std::setw(5) << (f.group >= 0 ? std::to_string(f.group) : "-")
        << "  " << std::setw(5) << (f.ranks > 0 ? std::to_string(f.ranks) : "-") << "  " << std::setw(8)
        << secs.str() << "  " << std::left << std::setw(7) << (f.status == "failed" ? "FAILED" : f.status)
        << std::right << "  ";
    if (f.status == "ok") out << f.output;
    if (f.status == "skipped") out << f.output << " (" << f.reason << ")";
    if (f.status == "failed") out << f.reason;
    out << "\n";
    ok += f.status == "ok";
    failed += f.status == "failed";
    skipped += f.status == "skipped";
  }
  out << frames.size() << " frames: " << ok << " ok, " << failed << " failed, " << skipped << " skipped\n";
}

void write_timing_json(const std::string& path, const RunInfo& run, const std::vector<FrameOutcome>& frames,
                       const std::vector<std::string>& rank_json) {
  std::ostringstream j;
  j << std::setprecision(6);
  j << "{\n  \"libextract_version\": \"" << LIBEXTRACT_VERSION_STRING << "\",\n  \"mode\": \"mpi\",\n"
    << "  \"jobs\": " << quoted(run.jobs) << ",\n  \"ranks\": " << run.ranks
    << ",\n  \"group_size\": " << run.group_size << ",\n  \"groups\": " << run.groups
    << ",\n  \"total_seconds\": " << run.seconds << ",\n  \"frames\": [\n";
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const FrameOutcome& f = frames[i];
    j << "    {\"frame\": " << f.number << ", \"line\": " << f.line << ", \"input\": " << quoted(f.input)
      << ", \"psf\": " << quoted(f.psf) << ", \"output\": " << quoted(f.output) << ", \"group\": " << f.group
      << ", \"ranks\": " << f.ranks << ", \"status\": " << quoted(f.status)
      << ", \"reason\": " << quoted(f.reason) << ", \"failed_rank\": " << f.failed_rank
      << ", \"seconds\": " << f.seconds << ", \"read_seconds\": " << f.read_seconds
      << ", \"extract_seconds\": " << f.extract_seconds << ", \"write_seconds\": " << f.write_seconds
      << ", \"nspec\": " << f.nspec << ", \"nwave\": " << f.nwave << ", \"patches\": " << f.patches
      << ", \"bundles\": " << f.bundles << ", \"retried_patches\": " << f.retried_patches
      << ", \"failed_patches\": " << f.failed_patches << ", \"backend\": " << quoted(f.backend)
      << ", \"stages\": [";
    for (std::size_t k = 0; k < f.stages.size(); ++k) {
      const StageTiming& s = f.stages[k];
      j << (k ? ", " : "") << "{\"name\": " << quoted(s.name) << ", \"backend\": " << quoted(s.backend)
        << ", \"seconds\": " << s.seconds << ", \"launches\": " << s.launches << ", \"flops\": " << s.flops
        << "}";
    }
    j << "]}" << (i + 1 < frames.size() ? "," : "") << "\n";
  }
  j << "  ],\n  \"per_rank\": [\n";
  for (std::size_t i = 0; i < rank_json.size(); ++i) {
    j << "    " << rank_json[i] << (i + 1 < rank_json.size() ? "," : "") << "\n";
  }
  j << "  ]\n}\n";
  FrameOutputs output;  // <path>.tmp-<host>-<pid>, renamed when complete
  output.stage_text(path, j.str());
  output.commit();
}

}  // namespace dispatch
}  // namespace libextract
