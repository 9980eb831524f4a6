// The eigen stage's kernel as the CUDA backend instantiates it (cuda/launch.cuh's team
// kernel over kernels::EigenFunctor), compiled to PTX only, with the project's device
// flags, so that tests/scripts/check_ptx.py can read its instructions in the CUDA build
// (no GPU needed).
#include "cuda/launch.cuh"
#include "kernels/batch_pipeline.hpp"

template __global__ void libextract::cuda::team_kernel<libextract::kernels::EigenFunctor>(
    int, long, libextract::kernels::EigenFunctor);
