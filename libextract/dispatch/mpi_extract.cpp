// `libextract extract --mpi`: MPI set-up, the frame list (one frame, or a jobs file
// read by world rank 0), rank groups, frames dealt to groups, the summary and the
// timing report. The one error boundary of the dispatcher is here: a frame's errors
// are reported and the job goes on; out of memory or any other exception that
// escapes a frame ends the job with MPI_Abort, never a hang.
#include "mpi_extract.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <new>
#include <sstream>

#include "frame_inputs.hpp"
#include "group_frame.hpp"
#include "jobs_file.hpp"
#include "watchdog.hpp"
#include "libextract/backend.hpp"
#include "libextract/errors.hpp"
#include "libextract/log.hpp"
#include "mpi_util.hpp"
#include "run_record.hpp"
#include "work_share.hpp"

namespace libextract {
namespace dispatch {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int exit_code_of(int error_code) {
  return error_code == static_cast<int>(ErrorCode::invalid_argument) ? 2 : 1;
}

bool file_exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io_error, path + ": cannot open the jobs file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::io_error, path + ": cannot read the jobs file");
  return text.str();
}

// The frames to do, as world rank 0 sees them (it alone reads the jobs file).
std::vector<FrameJob> load_jobs(const MpiExtractRequest& request, RankLog& log) {
  std::vector<FrameJob> jobs;
  if (!request.jobs.empty()) {
    log.files_read.push_back(request.jobs);
    jobs = parse_jobs(read_text(request.jobs), request.jobs);
  } else {
    FrameJob job;
    job.number = 1;
    job.input = request.input;
    job.psf = request.psf;
    job.output = request.output;
    job.model = request.model;
    jobs.push_back(job);
  }
  if (request.skip_existing) {
    for (FrameJob& job : jobs) job.skip = job.error.empty() && file_exists(job.output);
  }
  return jobs;
}

void write_job(RecordWriter& w, const FrameJob& j) {
  w.put(j.number).put(j.line).put_string(j.input).put_string(j.psf).put_string(j.output).put_string(j.model);
  w.put(static_cast<int>(j.grid.has_value()));
  const WavelengthGrid grid = j.grid.value_or(WavelengthGrid{});
  w.put(grid.wmin).put(grid.wmax).put(grid.dw).put(static_cast<int>(j.skip)).put_string(j.error);
}

FrameJob read_job(RecordReader& r) {
  FrameJob j;
  j.number = r.get<int>();
  j.line = r.get<int>();
  j.input = r.get_string();
  j.psf = r.get_string();
  j.output = r.get_string();
  j.model = r.get_string();
  const bool has_grid = r.get<int>() != 0;
  WavelengthGrid grid;
  grid.wmin = r.get<double>();
  grid.wmax = r.get<double>();
  grid.dw = r.get<double>();
  if (has_grid) j.grid = grid;
  j.skip = r.get<int>() != 0;
  j.error = r.get_string();
  return j;
}

// World rank 0 loads the jobs and broadcasts them, or the reason it could not.
// Returns 0 and fills `jobs`, or the exit status (the same on every rank).
int share_jobs(const MpiExtractRequest& request, int world_rank, RankLog& log, std::vector<FrameJob>& jobs) {
  std::vector<unsigned char> bytes;
  if (world_rank == 0) {
    RecordWriter w;
    try {
      const std::vector<FrameJob> loaded = load_jobs(request, log);
      w.put(0).put_string("").put(static_cast<int>(loaded.size()));
      for (const FrameJob& j : loaded) write_job(w, j);
    } catch (const Error& e) {
      w = RecordWriter();
      w.put(static_cast<int>(e.code())).put_string(e.what());
    }
    bytes = std::move(w.bytes());
  }
  bcast_bytes(bytes, 0, MPI_COMM_WORLD);
  RecordReader r(bytes);
  const int code = r.get<int>();
  const std::string message = r.get_string();
  if (code != 0) {
    if (world_rank == 0) std::cerr << "libextract: error: " << message << "\n";
    return exit_code_of(code);
  }
  const int n = r.get<int>();
  for (int i = 0; i < n; ++i) jobs.push_back(read_job(r));
  return 0;
}

// Usage errors found before any collective; every rank finds the same ones.
std::string usage_error(const MpiExtractRequest& request, int world_size) {
  if (request.group_size < 0) return "--group-size must be >= 1";
  if (request.group_size > world_size) {
    return "--group-size " + std::to_string(request.group_size) + " exceeds the " +
           std::to_string(world_size) + " MPI ranks";
  }
  if (!request.jobs.empty() && !request.model.empty()) {
    return "-m/--model: not available with --jobs (the jobs file has no model column)";
  }
  return "";
}

std::string processor_name() {
  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  int length = 0;
  check(MPI_Get_processor_name(name, &length), "MPI_Get_processor_name");
  return std::string(name, static_cast<std::size_t>(length));
}

int node_local_rank(int world_rank) {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  const int local = comm_rank(node);
  check(MPI_Comm_free(&node), "MPI_Comm_free");
  return local;
}

void report_frame(const FrameOutcome& o, bool jobs_mode, bool quiet) {
  if (!jobs_mode || quiet) return;
  std::ostringstream line;
  if (o.status == "ok") {
    line << "libextract extract: frame " << o.number << " ok on group " << o.group << " (" << o.ranks
         << " ranks) in " << std::fixed << std::setprecision(2) << o.seconds << " s -> " << o.output;
    LIBEXTRACT_LOG_INFO(line.str());
  } else {
    line << "libextract extract: frame " << o.number << " (" << o.input << ") FAILED on group " << o.group
         << ": " << o.reason;
    LIBEXTRACT_LOG_ERROR(line.str());
  }
}

// One-frame mode: the line a plain `libextract extract` prints, or its error.
int report_single(const FrameOutcome& o, bool quiet) {
  if (o.status == "skipped") {
    if (!quiet) LIBEXTRACT_LOG_INFO("libextract extract: " + o.output + " exists, skipped (--skip-existing)");
    return 0;
  }
  if (o.status != "ok") {
    std::cerr << "libextract: error: " << o.reason << "\n";
    return exit_code_of(o.error_code);
  }
  if (!quiet) {
    std::ostringstream line;
    line << "libextract extract: " << o.nspec << " fibres x " << o.nwave << " wavelengths, " << o.patches
         << " patches on " << o.backend << " over " << o.ranks << " MPI ranks in " << std::fixed
         << std::setprecision(2) << o.extract_seconds << " s (read " << o.read_seconds << " s, write "
         << o.write_seconds << " s)";
    if (o.retried_patches) line << ", " << o.retried_patches << " patches retried";
    if (o.failed_patches) line << ", " << o.failed_patches << " patches FAILED (ivar 0)";
    line << " -> " << o.output;
    LIBEXTRACT_LOG_INFO(line.str());
  }
  return 0;
}

int run(const MpiExtractRequest& request) {
  const auto t_start = Clock::now();
  const int world_rank = comm_rank(MPI_COMM_WORLD), world_size = comm_size(MPI_COMM_WORLD);
  const bool jobs_mode = !request.jobs.empty();
  const std::string usage = usage_error(request, world_size);
  if (!usage.empty()) {
    if (world_rank == 0) std::cerr << "libextract: error: " << usage << "\n";
    return 2;
  }

  RankLog log;
  log.rank = world_rank;
  log.host = processor_name();
  log.local_rank = node_local_rank(world_rank);
  FrameSettings settings;
  settings.options = request.options;
  settings.write_options = request.write_options;
  settings.verbose = request.verbose;
  // Ranks of a node share its GPUs round robin unless --device pins them all.
  const int devices = cuda_device_count();
  if (!request.device_given && devices > 0) settings.options.backend.device = log.local_rank % devices;
  log.device = settings.options.backend.device;

  RankWatchdog watchdog(request.rank_timeout, world_rank, log.host);
  set_current_watchdog(&watchdog);
  struct Unset {
    ~Unset() { set_current_watchdog(nullptr); }
  } unset;

  std::vector<FrameJob> jobs;
  if (const int code = share_jobs(request, world_rank, log, jobs)) return code;

  const int group_size = request.group_size > 0 ? request.group_size : world_size;
  const int ngroups = (world_size + group_size - 1) / group_size;
  GroupContext group;
  group.index = world_rank / group_size;
  group.first_world_rank = group.index * group_size;
  check(MPI_Comm_split(MPI_COMM_WORLD, group.index, world_rank, &group.comm), "MPI_Comm_split");
  check(MPI_Comm_set_errhandler(group.comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  group.rank = comm_rank(group.comm);
  group.size = comm_size(group.comm);
  log.group = group.index;
  log.group_rank = group.rank;
  if (log_enabled(LogLevel::debug)) {
    char line[256];
    std::snprintf(
        line, sizeof line,
        "libextract extract: rank %d of %d on %s (node rank %d): group %d of %d, rank %d of %d, device %d",
        world_rank, world_size, log.host.c_str(), log.local_rank, group.index, ngroups, group.rank,
        group.size, log.device);
    LIBEXTRACT_LOG_DEBUG(line);
  }

  // Frames left to do, dealt to groups; a group takes its frames in order.
  std::vector<int> pending;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!jobs[i].skip && jobs[i].error.empty()) pending.push_back(static_cast<int>(i));
  }
  const std::vector<int> mine = frames_of_group(static_cast<int>(pending.size()), ngroups, group.index);
  std::vector<FrameOutcome> outcomes;
  {
    InputPrefetch prefetch(request.mask_bits);
    for (std::size_t k = 0; k < mine.size(); ++k) {
      const FrameJob& job = jobs[static_cast<std::size_t>(pending[static_cast<std::size_t>(mine[k])])];
      const FrameJob* next =
          k + 1 < mine.size()
              ? &jobs[static_cast<std::size_t>(pending[static_cast<std::size_t>(mine[k + 1])])]
              : nullptr;
      const auto t0 = Clock::now();
      watchdog.beat();
      FrameInputs inputs;
      if (group.rank == 0) {
        inputs = prefetch.take(job);
        log.files_read.insert(log.files_read.end(), inputs.files_read.begin(), inputs.files_read.end());
      }
      FrameOutcome outcome = run_group_frame(group, job, settings, inputs, prefetch, next, log);
      outcome.seconds = seconds_since(t0);
      if (group.rank == 0) {
        report_frame(outcome, jobs_mode, request.quiet);
        outcomes.push_back(std::move(outcome));
      }
    }
  }

  // Everything to world rank 0: the group roots' outcomes and every rank's log.
  RecordWriter w;
  w.put(static_cast<int>(outcomes.size()));
  for (const FrameOutcome& o : outcomes) o.write(w);
  const auto all_outcomes = gather_bytes(w.bytes(), 0, MPI_COMM_WORLD);
  const std::string my_json = log.json();
  const auto all_logs =
      gather_bytes(std::vector<unsigned char>(my_json.begin(), my_json.end()), 0, MPI_COMM_WORLD);
  check(MPI_Comm_free(&group.comm), "MPI_Comm_free");

  int code = 0;
  if (world_rank == 0) {
    std::vector<FrameOutcome> frames;
    for (const auto& bytes : all_outcomes) {
      RecordReader r(bytes);
      const int n = r.get<int>();
      for (int i = 0; i < n; ++i) frames.push_back(FrameOutcome::read(r));
    }
    for (const FrameJob& job : jobs) {
      if (!job.skip && job.error.empty()) continue;
      FrameOutcome o;
      o.number = job.number;
      o.line = job.line;
      o.input = job.input;
      o.psf = job.psf;
      o.output = job.output;
      o.status = job.skip ? "skipped" : "failed";
      o.reason = job.skip ? "output exists" : job.error;
      o.error_code = job.skip ? 0 : static_cast<int>(ErrorCode::invalid_argument);
      if (!job.skip) report_frame(o, jobs_mode, request.quiet);
      frames.push_back(o);
    }
    std::sort(frames.begin(), frames.end(),
              [](const FrameOutcome& a, const FrameOutcome& b) { return a.number < b.number; });
    if (jobs_mode) {
      if (!request.quiet) print_summary(std::cout, frames);
      std::cout.flush();
      for (const FrameOutcome& f : frames) code = std::max(code, f.status == "failed" ? 1 : 0);
    } else {
      code = report_single(frames.at(0), request.quiet);
    }
    if (!request.timing.empty()) {
      RunInfo run_info;
      run_info.ranks = world_size;
      run_info.group_size = group_size;
      run_info.groups = ngroups;
      run_info.jobs = request.jobs;
      run_info.seconds = seconds_since(t_start);
      std::vector<std::string> rank_json;
      for (const auto& bytes : all_logs) rank_json.emplace_back(bytes.begin(), bytes.end());
      try {
        write_timing_json(request.timing, run_info, frames, rank_json);
      } catch (const Error& e) {
        std::cerr << "libextract: error: " << e.what() << "\n";
        code = std::max(code, 1);
      }
    }
  }
  check(MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return code;
}

}  // namespace

int run_mpi_extract(const MpiExtractRequest& request) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Only the main thread calls MPI; the read-ahead thread and OpenMP never do.
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      std::cerr << "libextract: error: MPI_Init_thread failed\n";
      return 1;
    }
  }
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  int code = 1;
  try {
    code = run(request);
  } catch (const std::bad_alloc&) {
    abort_job("out of memory");
  } catch (const std::exception& e) {
    abort_job(std::string("unexpected error: ") + e.what());
  }
  check(MPI_Finalize(), "MPI_Finalize");
  return code;
}

}  // namespace dispatch
}  // namespace libextract
