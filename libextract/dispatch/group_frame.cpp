// One frame across one group (see group_frame.hpp). The steps, each ending in a
// collective that every rank reaches whatever happened before it:
//   1. header   root → all: did the root read the inputs? the image shape
//   2. PSF      root → all: the file's bytes; every rank builds the Psf and the plan
//   3. agree    allreduce: did any rank fail to plan?
//   4. pixels   root → all: the rows of the image the plan touches
//   5. solve    each rank its share (the root meanwhile reads its next frame ahead)
//   6. agree    allreduce: did any rank fail to solve?
//   7. gather   all → root, rank by rank (= plan order); the root stitches and writes
//   8. status   root → all: the frame's final status
// A local failure is caught and carried to the next agreement; only out of memory
// and failed MPI calls end the job (mpi_extract.cpp, mpi_util.cpp).
#include "group_frame.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>

#include "libextract/errors.hpp"
#include "libextract/extract_parts.hpp"
#include "libextract/log.hpp"
#include "libextract/progress.hpp"
#include "mpi_util.hpp"
#include "watchdog.hpp"
#include "work_share.hpp"

namespace libextract {
namespace dispatch {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr int result_tag = 0x7265;

struct Failure {
  bool failed = false;
  int rank = -1;  // group rank that failed
  int code = 0;   // libextract::ErrorCode
  std::string message;
};

// Runs `step`, turning any error but out-of-memory into a Failure of this rank.
template <class Step>
Failure capture(int rank, Step&& step) {
  try {
    step();
    return {};
  } catch (const std::bad_alloc&) {
    throw;  // unrecoverable: the caller's boundary aborts the job
  } catch (const Error& e) {
    return Failure{true, rank, static_cast<int>(e.code()), e.what()};
  } catch (const std::exception& e) {
    return Failure{true, rank, static_cast<int>(ErrorCode::internal_error), e.what()};
  }
}

// Every rank says whether it failed; all learn the failure of the lowest failing rank.
Failure agree(const Failure& mine, const GroupContext& g) {
  const int first = allreduce_min(mine.failed ? g.rank : g.size, g.comm);
  if (first == g.size) return {};
  std::vector<unsigned char> bytes;
  if (g.rank == first) {
    RecordWriter w;
    w.put(mine.code).put_string(mine.message);
    bytes = std::move(w.bytes());
  }
  bcast_bytes(bytes, first, g.comm);
  RecordReader r(bytes);
  Failure f;
  f.failed = true;
  f.rank = first;
  f.code = r.get<int>();
  f.message = r.get_string();
  return f;
}

FrameOutcome failed(FrameOutcome out, const Failure& f, const GroupContext& g) {
  out.status = "failed";
  out.failed_rank = g.first_world_rank + f.rank;
  out.error_code = f.code;
  out.reason = "rank " + std::to_string(out.failed_rank) + ": " + f.message;
  return out;
}

void fill_image_skeleton(Image& image, int nrows, int ncols, const std::string& path) {
  const std::size_t n = static_cast<std::size_t>(nrows) * static_cast<std::size_t>(ncols);
  image.nrows = nrows;
  image.ncols = ncols;
  image.pixels.assign(n, 0.0);  // only the plan's rows arrive (step 4); the rest is never read
  image.ivar.assign(n, 0.0);
  image.path = path;
}

// Writes the model (if asked) and the frame as one commit (FrameOutputs): a frame that
// cannot be written takes its model with it.
void write_outputs(const FrameJob& job, const Frame& frame, FrameWriteOptions options, bool has_fibermap,
                   RankLog& log) {
  if (has_fibermap && options.fibermap_source.empty()) {  // else -f/--fibermap's
    options.fibermap_source = job.input;                  // its FIBERMAP HDU is copied
    log.files_read.push_back(job.input);
  }
  FrameOutputs outputs;  // all or nothing; the frame is renamed last
  if (!job.model.empty()) outputs.stage_model(job.model, frame);
  outputs.stage_frame(job.output, frame, options);
  outputs.commit();
}

// Test hook: LIBEXTRACT_TEST_FAULT="KIND:FRAME:RANK" makes world rank RANK fail while
// solving frame FRAME, with an ordinary error (KIND "solve") or out of memory ("oom"),
// or stop it as SIGSTOP would ("stop"), so the MPI tests can show that a group agrees
// on a failure, or that the job aborts (the watchdog), where it would otherwise hang.
void injected_fault(const FrameJob& job, int world_rank) {
  const char* spec = std::getenv("LIBEXTRACT_TEST_FAULT");
  if (!spec) return;
  char kind[16] = {0};
  int frame = 0, rank = 0;
  if (std::sscanf(spec, "%15[a-z]:%d:%d", kind, &frame, &rank) != 3) return;
  if (frame != job.number || rank != world_rank) return;
  if (std::string(kind) == "oom") throw std::bad_alloc();
  if (std::string(kind) == "stop") ::raise(SIGSTOP);
  throw Error(ErrorCode::internal_error, "injected fault (LIBEXTRACT_TEST_FAULT=" + std::string(spec) + ")");
}

}  // namespace

FrameOutcome run_group_frame(const GroupContext& g, const FrameJob& job, const FrameSettings& settings,
                             FrameInputs& inputs, InputPrefetch& prefetch, const FrameJob* next_job,
                             RankLog& log) {
  const bool root = g.rank == 0;
  FrameOutcome out;
  out.number = job.number;
  out.line = job.line;
  out.input = job.input;
  out.psf = job.psf;
  out.output = job.output;
  out.group = g.index;
  out.ranks = g.size;
  if (root) out.read_seconds = inputs.seconds;

  // 1. header
  std::vector<unsigned char> header;
  if (root) {
    RecordWriter w;
    w.put(static_cast<int>(!inputs.error.empty())).put(inputs.error_code).put_string(inputs.error);
    w.put(inputs.image.nrows).put(inputs.image.ncols);
    header = std::move(w.bytes());
  }
  bcast_bytes(header, 0, g.comm);
  RecordReader hr(header);
  const bool read_failed = hr.get<int>() != 0;
  const int read_code = hr.get<int>();
  const std::string read_error = hr.get_string();
  const int nrows = hr.get<int>(), ncols = hr.get<int>();
  if (read_failed) return failed(out, Failure{true, 0, read_code, read_error}, g);

  // 2. PSF bytes, then Psf, image and plan on every rank
  std::vector<unsigned char> psf_bytes;
  bcast_bytes(root ? inputs.psf_bytes : psf_bytes, 0, g.comm);
  const auto t_extract = Clock::now();
  std::optional<Psf> psf_here;
  Image skeleton;
  Image& image = root ? inputs.image : skeleton;
  std::optional<ExtractionParts> parts;
  PatchRange share;
  Failure mine = capture(g.rank, [&] {
    if (!root) {
      psf_here = Psf::load_from_memory(job.psf, psf_bytes.data(), psf_bytes.size());
      fill_image_skeleton(skeleton, nrows, ncols, job.input);
    }
    ExtractOptions options = settings.options;
    if (job.grid) {
      options.grid = job.grid;
      options.wavelengths.clear();
    }
    parts.emplace(image, root ? *inputs.psf : *psf_here, options);
    std::vector<int> bundle_first;
    for (int b = 0; b <= parts->bundle_count(); ++b) bundle_first.push_back(parts->bundle_first_patch(b));
    share = patch_share(bundle_first, g.size, g.rank);
  });
  std::vector<unsigned char>().swap(psf_bytes);
  if (root) std::vector<unsigned char>().swap(inputs.psf_bytes);

  // 3. agree on the plan
  Failure agreed = agree(mine, g);
  if (agreed.failed) return failed(out, agreed, g);

  // 4. the rows of the image that the plan reads (identical plans: identical counts)
  const PixelWindow window = parts->pixel_window();
  if (window.ymax > window.ymin) {
    const std::size_t offset = static_cast<std::size_t>(window.ymin) * static_cast<std::size_t>(ncols);
    const std::size_t count =
        static_cast<std::size_t>(window.ymax - window.ymin) * static_cast<std::size_t>(ncols);
    bcast_doubles(image.pixels.data() + offset, count, 0, g.comm);
    bcast_doubles(image.ivar.data() + offset, count, 0, g.comm);
  }

  // 5. solve this rank's share; the root reads its next frame meanwhile
  if (root && next_job) prefetch.start(*next_job);
  std::vector<SolvedPatches> blocks;  // the root keeps its own blocks as they are
  std::vector<unsigned char> packed;  // the others send theirs as bytes
  const auto t_solve = Clock::now();
  // The group root logs the frame's progress, as its own share's: the shares are even
  // and solved at once, and no message between ranks is needed for it.
  ProgressLog progress("frame " + std::to_string(job.number) + " (" + job.output + ", group " +
                       std::to_string(g.index) + ", " + std::to_string(g.size) + " ranks, root's share)");
  int root_done = 0;
  mine = capture(g.rank, [&] {
    injected_fault(job, g.first_world_rank + g.rank);
    parts->solve_range(share.first, share.count, [&](SolvedPatches&& block) {
      if (RankWatchdog* w = current_watchdog()) w->beat();
      if (root) {
        root_done += block.count();
        progress.update(root_done, share.count);
        blocks.push_back(std::move(block));
      } else {
        block.pack(packed);
      }
    });
  });
  log.work.push_back(
      RankWork{job.number, share.first, mine.failed ? 0 : share.count, seconds_since(t_solve)});
  if (log_enabled(LogLevel::debug)) {
    char line[160];
    std::snprintf(line, sizeof line,
                  "libextract extract: frame %d: rank %d solved patches [%d, %d) in %.2f s", job.number,
                  g.first_world_rank + g.rank, share.first, share.first + share.count,
                  seconds_since(t_solve));
    LIBEXTRACT_LOG_DEBUG(line);
  }

  // 6. agree on the solve
  agreed = agree(mine, g);
  if (agreed.failed) return failed(out, agreed, g);

  // 7. results to the root; rank r's patches follow rank r-1's, so this is plan order
  Failure local;
  if (!root) {
    send_bytes(packed, 0, result_tag, g.comm);
  } else {
    local = capture(0, [&] {
      for (const SolvedPatches& block : blocks) parts->stitch(block);
    });
    blocks.clear();
    for (int r = 1; r < g.size; ++r) {
      // Received even after a failure, so that no sender waits for ever.
      const std::vector<unsigned char> bytes = recv_bytes(r, result_tag, g.comm);
      if (local.failed) continue;
      local = capture(0, [&] {
        for (std::size_t at = 0; at < bytes.size();) {
          std::size_t used = 0;
          const SolvedPatches block = SolvedPatches::unpack(bytes.data() + at, bytes.size() - at, used);
          at += used;
          parts->stitch(block);
        }
      });
    }
    ExtractReport report;
    std::optional<Frame> frame;
    if (!local.failed) local = capture(0, [&] { frame = parts->finish(&report); });
    out.extract_seconds = seconds_since(t_extract);
    prefetch.wait();  // CFITSIO is used below: the read-ahead must be done
    if (!local.failed) {
      const auto t_write = Clock::now();
      local = capture(
          0, [&] { write_outputs(job, *frame, settings.write_options, inputs.image.has_fibermap, log); });
      out.write_seconds = seconds_since(t_write);
      out.nspec = frame->nspec;
      out.nwave = frame->nwave;
      out.patches = report.patches;
      out.bundles = parts->bundle_count();
      out.retried_patches = report.retried_patches;
      out.failed_patches = report.failed_patches;
      out.backend = report.backend;
      out.stages = report.stages;
    }
  }

  // 8. the root's verdict, so every rank ends the frame agreeing
  agreed = agree(local, g);
  if (agreed.failed) return failed(out, agreed, g);
  out.status = "ok";
  return out;
}

}  // namespace dispatch
}  // namespace libextract
