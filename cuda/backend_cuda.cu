// CUDA backend entry points. The math is the shared kernels/ code (spots, the batched
// pipeline of kernels/batch_pipeline.hpp); this file only moves data and launches.
// Kept to one translation unit because nvcc is slow.
//
// Per batch: the batch is split into chunks, one per stream in flight (two), each with
// its own arena (inputs | outputs | workspace, libextract/src/batch_layout.hpp) allocated once
// and grown when a larger chunk comes, and pinned host buffers. A chunk is one
// host-to-device copy of its inputs (patch descriptors, the PSF tables and the image
// rectangle its patches read), seven kernel launches (spots, cuts, normal equations,
// solve, resolution, pixels, outputs) and one device-to-host copy of its outputs, all
// asynchronous on the chunk's stream; the two chunks overlap. No image stays cached on
// the device, so a changed image can never be served stale.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "backend_seam.hpp"
#include "batch_layout.hpp"
#include "cuda/check.cuh"
#include "cuda/device_buffer.cuh"
#include "cuda/launch.cuh"
#include "cuda/pipeline_debug.hpp"
#include "kernels/batch_pipeline.hpp"
#include "kernels/spot_batch.hpp"

namespace libextract {
namespace detail {

bool cuda_backend_compiled() noexcept {
  return true;
}

int cuda_backend_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

namespace {

constexpr int kSlots = CudaBatchQueue::depth;  // streams (and chunks) in flight
constexpr int kSolveThreads = 128;             // team of the per-patch solve (~w ≈ 90 rows per column)
constexpr int kBlockThreads = 256;             // team of a per-fibre eigenproblem (n ≈ 43-75: ~2800
                                               // elements per phase; its 92 KB of shared memory
                                               // allow 1 block per A100 SM, 2 per H100 SM)
constexpr int kFullThreads = 512;              // team of a whole-patch eigenproblem (n ≈ 220-520)
constexpr int kElementwiseThreads = 1 << 20;   // grid cap of the kernels without scratch

// The PSF tables on the device, and a view whose pointers point there.
struct DevicePsf {
  cuda::DeviceBuffer<double> trace_x, trace_y, shape, fiber_wmin, fiber_wmax;
  kernels::PsfView view{};
  explicit DevicePsf(const PsfModel& psf)
      : trace_x(psf.trace_x),
        trace_y(psf.trace_y),
        shape(psf.shape),
        fiber_wmin(psf.fiber_wmin),
        fiber_wmax(psf.fiber_wmax) {
    view = psf.view();
    view.trace_x = trace_x.data();
    view.trace_y = trace_y.data();
    view.shape = shape.data();
    view.fiber_wmin = fiber_wmin.data();
    view.fiber_wmax = fiber_wmax.data();
  }
};

std::string mib(std::size_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}

// Device memory that fails with a message saying how much was needed and what to do.
void* device_alloc(std::size_t bytes, int device, const std::string& what) {
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    throw Error(
        ErrorCode::numerical_error,
        "CUDA device " + std::to_string(device) + ": out of memory: " + what + " needs " + mib(bytes) + " (" +
            mib(free_bytes) + " free of " + mib(total_bytes) +
            "); use a smaller --batch-patches (the default is one bundle's patches) or fewer ranks per GPU");
  }
  LIBEXTRACT_CUDA_CHECK(status);
  return p;
}

// One allocation that only grows (device arena or pinned host buffer), with 1/8 of
// slack so that the slightly different chunks of a frame do not reallocate each time
// (without the slack when that does not fit).
template <bool Pinned>
class Growable {
 public:
  Growable() = default;
  Growable(const Growable&) = delete;
  Growable& operator=(const Growable&) = delete;
  ~Growable() { release(); }
  void* reserve(std::size_t bytes, int device, const std::string& what) {
    if (bytes <= bytes_ && ptr_ != nullptr) return ptr_;
    release();
    bytes = std::max<std::size_t>(bytes, 256);
    const std::size_t roomy = bytes + bytes / 8;
    if (Pinned) {
      void* p = nullptr;
      cudaError_t status = cudaMallocHost(&p, roomy);
      std::size_t got = roomy;
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        p = nullptr;
        status = cudaMallocHost(&p, bytes);
        got = bytes;
      }
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        throw Error(ErrorCode::numerical_error, "out of pinned host memory: " + what + " needs " +
                                                    mib(bytes) + "; use a smaller --batch-patches");
      }
      LIBEXTRACT_CUDA_CHECK(status);
      ptr_ = p;
      bytes_ = got;
    } else {
      void* p = nullptr;
      const cudaError_t status = cudaMalloc(&p, roomy);
      if (status == cudaSuccess) {
        ptr_ = p;
        bytes_ = roomy;
      } else {
        cudaGetLastError();
        ptr_ = device_alloc(bytes, device, what);
        bytes_ = bytes;
      }
    }
    return ptr_;
  }
  void* get() const { return ptr_; }

 private:
  void release() {
    // Errors are ignored here: at process exit the runtime may already be gone.
    if (ptr_ != nullptr) {
      if (Pinned) {
        cudaFreeHost(ptr_);
      } else {
        cudaFree(ptr_);
      }
    }
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Events around the stages of a chunk: [0] inputs copied, [1] spots and cuts,
// [2] normal equations, [3] solve, [4] resolution, [5] products.
constexpr int kEvents = 6;

struct Slot {
  cudaStream_t stream = nullptr;
  cudaEvent_t events[kEvents] = {};
  Growable<false> arena;
  Growable<true> input, output;
  cuda::DeviceBuffer<double> scratch;  // per-thread scratch of the spot kernel
};

// What one host thread keeps on one device between batches. Thread-local: several
// threads of a process (or several ranks on one GPU, through MPS) each drive their own
// streams and memory, and never share mutable state.
class Context {
 public:
  explicit Context(int device) : device_(device) {
    LIBEXTRACT_CUDA_CHECK(cudaSetDevice(device));
    // One attribute, not cudaGetDeviceProperties (which queries every property, slowly).
    int optin = 0;
    LIBEXTRACT_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    shared_optin_ = static_cast<std::size_t>(optin);
    for (Slot& s : slots_) {
      LIBEXTRACT_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
      for (cudaEvent_t& e : s.events) LIBEXTRACT_CUDA_CHECK(cudaEventCreate(&e));
    }
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
    for (Slot& s : slots_) {
      for (cudaEvent_t& e : s.events)
        if (e) cudaEventDestroy(e);
      if (s.stream) cudaStreamDestroy(s.stream);
    }
  }
  int device() const { return device_; }
  Slot& slot(int i) { return slots_[i]; }
  std::size_t shared_optin() const { return shared_optin_; }
  // Slots whose chunk a CudaBatchQueue has submitted and not yet finished.
  bool busy(int i) const { return busy_[i]; }
  void set_busy(int i, bool b) { busy_[i] = b; }
  int free_slots() const {
    int n = 0;
    for (bool b : busy_) n += b ? 0 : 1;
    return n;
  }

 private:
  int device_;
  std::size_t shared_optin_ = 0;
  Slot slots_[kSlots];
  bool busy_[kSlots] = {};
};

thread_local std::unique_ptr<Context> t_context;

Context& context_for(int device) {
  if (t_context && t_context->device() != device) {
    if (t_context->free_slots() != kSlots) {
      throw Error(ErrorCode::invalid_argument, "CUDA backend: device " + std::to_string(device) +
                                                   " asked for while batches are in flight on device " +
                                                   std::to_string(t_context->device()) +
                                                   " from the same thread");
    }
    cudaSetDevice(t_context->device());  // free the old device's memory on that device
    t_context.reset();
  }
  LIBEXTRACT_CUDA_CHECK(cudaSetDevice(device));
  if (!t_context) t_context = std::make_unique<Context>(device);
  return *t_context;
}

// Enqueues one chunk on its slot's stream: upload, the stages up to last_stage and,
// with download, the copy of the outputs into the slot's pinned buffer.
void enqueue_chunk(Context& ctx, Slot& slot, const PatchBatch& batch, const batch::ChunkLayout& l,
                   int last_stage, bool download) {
  const std::string what = "a chunk of " + std::to_string(l.count) + " patches (batch of " +
                           std::to_string(batch.count) + ", " + std::to_string(l.unknowns) + " unknowns)";
  void* arena = slot.arena.reserve(l.total_bytes, ctx.device(), what);
  void* input = slot.input.reserve(l.input_bytes, ctx.device(), what);
  batch::pack_inputs(batch, l, input);
  cudaStream_t stream = slot.stream;
  LIBEXTRACT_CUDA_CHECK(cudaMemcpyAsync(arena, input, l.input_bytes, cudaMemcpyHostToDevice, stream));
  LIBEXTRACT_CUDA_CHECK(cudaEventRecord(slot.events[0], stream));
  const kernels::BatchView v = batch::bind(batch, l, arena);
  const int unknowns = static_cast<int>(l.unknowns);

  const kernels::SpotBatchFunctor spots{v.psf,    v.fibers,     v.waves,      v.rule,
                                        v.stamps, v.footprints, v.spot_status};
  const int chunk = batch.first + l.first;  // the chunk's first patch, for fault messages
  cuda::launch("SpotBatchFunctor", chunk, unknowns, kernels::spot_scratch_size(v.psf), spots, stream,
               slot.scratch);
  cuda::launch("CutFunctor", chunk, unknowns, 0, kernels::CutFunctor{v}, stream, slot.scratch,
               kElementwiseThreads);
  LIBEXTRACT_CUDA_CHECK(cudaEventRecord(slot.events[1], stream));
  if (last_stage >= batch::stage_normal) {
    cuda::launch("NormalEquationsFunctor", chunk, unknowns, 0, kernels::NormalEquationsFunctor{v}, stream,
                 slot.scratch, kElementwiseThreads);
  }
  LIBEXTRACT_CUDA_CHECK(cudaEventRecord(slot.events[2], stream));
  if (last_stage >= batch::stage_solve) {
    cuda::launch_teams("PatchSolveFunctor", chunk, l.count, kSolveThreads, 0, kernels::PatchSolveFunctor{v},
                       stream);
  }
  LIBEXTRACT_CUDA_CHECK(cudaEventRecord(slot.events[3], stream));
  if (last_stage >= batch::stage_resolution) {
    const bool full = batch.settings.decorrelate_fibers;
    long fast = 0;
    if (!full) {
      // The per-fibre problem in shared memory when it fits the opt-in limit (A100:
      // 163 KB, H100: 227 KB hold n = 75 at 92 KB); else in the arena.
      const long need = kernels::eigen_fast_doubles(l.max_nw);
      const std::size_t bytes = static_cast<std::size_t>(need) * sizeof(double) + sizeof(kernels::TeamShared);
      if (bytes <= ctx.shared_optin()) fast = need;
    }
    cuda::launch_teams("EigenFunctor", chunk, l.problems, full ? kFullThreads : kBlockThreads, fast,
                       kernels::EigenFunctor{v}, stream);
  }
  LIBEXTRACT_CUDA_CHECK(cudaEventRecord(slot.events[4], stream));
  if (last_stage >= batch::stage_products) {
    cuda::launch("PixelFunctor", chunk, static_cast<int>(l.pixels), 0, kernels::PixelFunctor{v}, stream,
                 slot.scratch, kElementwiseThreads);
    cuda::launch("OutputFunctor", chunk, static_cast<int>(l.outputs), 0, kernels::OutputFunctor{v}, stream,
                 slot.scratch, kElementwiseThreads);
  }
  LIBEXTRACT_CUDA_CHECK(cudaEventRecord(slot.events[5], stream));
  if (download) {
    void* output = slot.output.reserve(l.output_bytes, ctx.device(), what);
    LIBEXTRACT_CUDA_CHECK(cudaMemcpyAsync(output, static_cast<unsigned char*>(arena) + l.output_offset,
                                          l.output_bytes, cudaMemcpyDeviceToHost, stream));
  }
}

double elapsed_seconds(cudaEvent_t a, cudaEvent_t b) {
  float ms = 0.0f;
  LIBEXTRACT_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  return 1e-3 * ms;
}

}  // namespace

void cuda_evaluate_spots(const PsfModel& psf, const SpotJob& job, int device) {
  LIBEXTRACT_CUDA_CHECK(cudaSetDevice(device));
  DevicePsf dpsf(psf);
  const std::size_t n = static_cast<std::size_t>(job.count);
  const std::size_t cell =
      static_cast<std::size_t>(kernels::spot_nx_max(dpsf.view)) * kernels::spot_ny_max(dpsf.view);
  cuda::DeviceBuffer<int> fibers(std::vector<int>(job.fibers, job.fibers + n));
  cuda::DeviceBuffer<double> waves(std::vector<double>(job.waves, job.waves + n));
  cuda::DeviceBuffer<double> stamps(n * cell);
  cuda::DeviceBuffer<kernels::SpotFootprint> footprints(n);
  cuda::DeviceBuffer<int> status(n);
  cuda::DeviceBuffer<double> scratch;
  const kernels::SpotBatchFunctor functor{dpsf.view,     fibers.data(),     waves.data(), job.rule,
                                          stamps.data(), footprints.data(), status.data()};
  cuda::launch("SpotBatchFunctor", -1, job.count, kernels::spot_scratch_size(dpsf.view), functor, nullptr,
               scratch);
  LIBEXTRACT_CUDA_CHECK(cudaDeviceSynchronize());
  stamps.download(job.stamps, n * cell);
  footprints.download(job.footprints, n);
  status.download(job.status, n);
}

struct CudaBatchQueue::State {
  // One submitted batch: its chunks and the slot each runs on.
  struct Flight {
    const PatchBatch* batch = nullptr;
    StageClock* clock = nullptr;
    std::vector<batch::ChunkLayout> chunks;
    std::vector<int> slots;
  };
  Context* ctx = nullptr;
  std::deque<Flight> flights;

  // Waits for the flight's streams (errors ignored: this runs on the error paths) and
  // frees its slots.
  void release(const Flight& f) {
    for (int s : f.slots) {
      cudaStreamSynchronize(ctx->slot(s).stream);
      ctx->set_busy(s, false);
    }
    cudaGetLastError();
  }
};

CudaBatchQueue::CudaBatchQueue(int device) : state_(std::make_unique<State>()) {
  state_->ctx = &context_for(device);
}

CudaBatchQueue::~CudaBatchQueue() {
  while (!state_->flights.empty()) {
    state_->release(state_->flights.front());
    state_->flights.pop_front();
  }
}

int CudaBatchQueue::free_slots() const {
  return state_->ctx->free_slots();
}

void CudaBatchQueue::submit(const PatchBatch& batch, StageClock& clock, int chunks) {
  State& q = *state_;
  Context& ctx = *q.ctx;
  LIBEXTRACT_CUDA_CHECK(cudaSetDevice(ctx.device()));
  if (chunks < 1 || chunks > ctx.free_slots()) {
    throw Error(ErrorCode::invalid_argument, "CUDA backend: " + std::to_string(chunks) +
                                                 " chunks submitted with " +
                                                 std::to_string(ctx.free_slots()) + " free streams");
  }
  batch.results->assign(static_cast<std::size_t>(batch.count), PatchResult{});
  State::Flight f;
  f.batch = &batch;
  f.clock = &clock;
  if (batch.count > 0) f.chunks = batch::plan_chunks(batch, chunks);
  try {
    for (const batch::ChunkLayout& l : f.chunks) {
      int s = 0;
      while (ctx.busy(s)) ++s;
      ctx.set_busy(s, true);
      f.slots.push_back(s);
      enqueue_chunk(ctx, ctx.slot(s), batch, l, batch::stage_products, true);
    }
  } catch (...) {
    // A chunk already enqueued must not outlive its buffers: drain before reporting.
    q.release(f);
    throw;
  }
  q.flights.push_back(std::move(f));
}

void CudaBatchQueue::finish_oldest() {
  State& q = *state_;
  if (q.flights.empty()) throw Error(ErrorCode::invalid_argument, "CUDA backend: no batch in flight");
  const State::Flight f = std::move(q.flights.front());
  q.flights.pop_front();
  struct Release {  // frees the slots however this returns
    State& q;
    const State::Flight& f;
    ~Release() { q.release(f); }
  } release{q, f};
  const PatchBatch& batch = *f.batch;
  StageClock& clock = *f.clock;
  for (std::size_t c = 0; c < f.chunks.size(); ++c) {
    Slot& slot = q.ctx->slot(f.slots[c]);
    LIBEXTRACT_CUDA_CHECK(cudaStreamSynchronize(slot.stream));
    batch::unpack_outputs(batch, f.chunks[c], slot.output.get(), *batch.results, clock);
    // Device time of each stage (chunks and batches overlap, so the sum can exceed
    // the wall time).
    clock.spots += elapsed_seconds(slot.events[0], slot.events[1]);
    clock.normal_equations += elapsed_seconds(slot.events[1], slot.events[2]);
    clock.solve += elapsed_seconds(slot.events[2], slot.events[3]);
    clock.resolution += elapsed_seconds(slot.events[3], slot.events[4]);
    clock.products += elapsed_seconds(slot.events[4], slot.events[5]);
    clock.launches_spots += batch::launches_spots;
    clock.launches_normal += batch::launches_normal;
    clock.launches_solve += batch::launches_solve;
    clock.launches_resolution += batch::launches_resolution;
    clock.launches_products += batch::launches_products;
  }
  if (!f.chunks.empty()) clock.loops += 1;
}

// One batch, synchronously, split over every stream.
void cuda_solve_patches(const PatchBatch& batch, int device, StageClock& clock) {
  CudaBatchQueue queue(device);
  queue.submit(batch, clock, queue.free_slots());
  queue.finish_oldest();
}

void cuda_debug_chunk(const PatchBatch& batch, int device, int last_stage, batch::ChunkDump& dump) {
  Context& ctx = context_for(device);
  dump.layout = batch::plan_chunk(batch, 0, batch.count);
  Slot& slot = ctx.slot(0);
  enqueue_chunk(ctx, slot, batch, dump.layout, last_stage, false);
  LIBEXTRACT_CUDA_CHECK(cudaStreamSynchronize(slot.stream));
  dump.arena.assign(dump.layout.total_bytes / sizeof(double) + 1, 0.0);
  LIBEXTRACT_CUDA_CHECK(
      cudaMemcpy(dump.arena.data(), slot.arena.get(), dump.layout.total_bytes, cudaMemcpyDeviceToHost));
}

}  // namespace detail

namespace cuda {

std::string launch_fault_message(const char* kernel, int chunk, cudaStream_t stream, cudaError_t status) {
  char where[32];
  std::snprintf(where, sizeof where, "%p", static_cast<void*>(stream));
  return std::string("CUDA kernel ") + kernel + " failed (chunk " +
         (chunk >= 0 ? "at patch " + std::to_string(chunk) : std::string("outside the patch pipeline")) +
         ", stream " + where + "): " + cudaGetErrorName(status) + ": " + cudaGetErrorString(status) +
         (sync_every_launch() ? "" : " (set LIBEXTRACT_CUDA_SYNC=1 to check every launch as it ends)");
}

void check_launch(const char* kernel, int chunk, cudaStream_t stream, cudaError_t status) {
  if (status == cudaSuccess) return;
  const ErrorCode code =
      (status == cudaErrorMemoryAllocation) ? ErrorCode::numerical_error : ErrorCode::backend_unavailable;
  throw Error(code, launch_fault_message(kernel, chunk, stream, status));
}

bool sync_every_launch() {
  static const bool on = [] {
    const char* v = std::getenv("LIBEXTRACT_CUDA_SYNC");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}

}  // namespace cuda
}  // namespace libextract
