// CPU backend of the spot stage: the shared functor in the OpenMP launcher.
#include "backend_seam.hpp"
#include "cpu_fallback/launch.hpp"
#include "kernels/spot_batch.hpp"

namespace libextract {
namespace detail {

void cpu_evaluate_spots(const PsfModel& psf, const SpotJob& job, int threads) {
  const kernels::PsfView view = psf.view();
  const kernels::SpotBatchFunctor functor{view,       job.fibers,     job.waves, job.rule,
                                          job.stamps, job.footprints, job.status};
  cpu::launch(job.count, kernels::spot_scratch_size(view), threads, functor);
}

}  // namespace detail
}  // namespace libextract
