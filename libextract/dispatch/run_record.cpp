// Frame outcomes and rank logs: their transport records, the summary table and the
// --timing JSON (see run_record.hpp).
#include "run_record.hpp"

#include <cstdio>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "json_writer.hpp"
#include "stage_json.hpp"
#include "libextract/errors.hpp"
#include "libextract/frame.hpp"
#include "libextract/version.hpp"

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

std::string RankLog::json() const {
  json::Writer j;
  j.begin_object(true)
      .member("rank", rank)
      .member("group", group)
      .member("group_rank", group_rank)
      .member("host", host)
      .member("local_rank", local_rank)
      .member("device", device);
  j.key("files_read").begin_array();
  for (const std::string& f : files_read) j.value(f);
  j.end_array();
  long long patches = 0;
  double seconds = 0.0;
  j.key("work").begin_array();
  for (const RankWork& w : work) {
    j.begin_object()
        .member("frame", w.frame)
        .member("first_patch", w.first)
        .member("patches", w.count)
        .member("solve_seconds", w.solve_seconds)
        .end_object();
    patches += w.count;
    seconds += w.solve_seconds;
  }
  j.end_array().member("patches_solved", patches).member("solve_seconds", seconds).end_object();
  return j.text();
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
  json::Writer j;
  j.begin_object()
      .member("libextract_version", version())
      .member("mode", "mpi")
      .member("jobs", run.jobs)
      .member("ranks", run.ranks)
      .member("group_size", run.group_size)
      .member("groups", run.groups)
      .member("total_seconds", run.seconds);
  j.key("frames").begin_array();
  for (const FrameOutcome& f : frames) {
    j.begin_object(true)
        .member("frame", f.number)
        .member("line", f.line)
        .member("input", f.input)
        .member("psf", f.psf)
        .member("output", f.output)
        .member("group", f.group)
        .member("ranks", f.ranks)
        .member("status", f.status)
        .member("reason", f.reason)
        .member("failed_rank", f.failed_rank)
        .member("seconds", f.seconds)
        .member("read_seconds", f.read_seconds)
        .member("extract_seconds", f.extract_seconds)
        .member("write_seconds", f.write_seconds)
        .member("nspec", f.nspec)
        .member("nwave", f.nwave)
        .member("patches", f.patches)
        .member("bundles", f.bundles)
        .member("retried_patches", f.retried_patches)
        .member("failed_patches", f.failed_patches)
        .member("backend", f.backend);
    json::write_stages(j, "stages", f.stages);
    j.end_object();
  }
  j.end_array();
  j.key("per_rank").begin_array();
  for (const std::string& r : rank_json) j.raw(r);
  j.end_array().end_object();
  FrameOutputs output;  // <path>.tmp-<host>-<pid>, renamed when complete
  output.stage_text(path, j.text());
  output.commit();
}

}  // namespace dispatch
}  // namespace libextract
