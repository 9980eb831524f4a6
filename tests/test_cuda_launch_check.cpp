// labels: unit
// The CUDA backend's launch check (cuda/check.cuh) without a GPU: an error fed to it
// comes back as a libextract::Error whose message names the kernel, the chunk and the
// stream, then the runtime's error. The runtime's error strings need no device.
#include <gtest/gtest.h>

#include <string>

#include "libextract/config.hpp"
#include "libextract/errors.hpp"

#if LIBEXTRACT_ENABLE_CUDA
#include "cuda/check.cuh"

TEST(CudaLaunchCheck, MessageNamesKernelChunkAndStream) {
  auto* stream = reinterpret_cast<cudaStream_t>(0x5eed);
  try {
    libextract::cuda::check_launch("EigenFunctor", 235, stream, cudaErrorIllegalAddress);
    FAIL() << "no error raised";
  } catch (const libextract::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("EigenFunctor"), std::string::npos) << m;
    EXPECT_NE(m.find("chunk at patch 235"), std::string::npos) << m;
    EXPECT_NE(m.find("0x5eed"), std::string::npos) << m;
    EXPECT_NE(m.find("cudaErrorIllegalAddress"), std::string::npos) << m;
    EXPECT_NE(m.find("LIBEXTRACT_CUDA_SYNC"), std::string::npos) << m;
  }
  // Outside the patch pipeline (the spot service), and a success passes.
  EXPECT_NE(libextract::cuda::launch_fault_message("SpotBatchFunctor", -1, nullptr, cudaErrorLaunchFailure)
                .find("outside the patch pipeline"),
            std::string::npos);
  EXPECT_NO_THROW(libextract::cuda::check_launch("CutFunctor", 0, stream, cudaSuccess));
}
#else
TEST(CudaLaunchCheck, MessageNamesKernelChunkAndStream) {
  GTEST_SKIP() << "CUDA backend not compiled";
}
#endif
