#include "cpu_fallback/isa.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "libextract/errors.hpp"

namespace libextract {
namespace cpu {

namespace {

bool cpu_runs(Isa isa) {
#if LIBEXTRACT_X86_VARIANTS
  switch (isa) {
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f");
    case Isa::avx2:
      return __builtin_cpu_supports("avx2");
    case Isa::baseline:
      return true;
  }
  return false;
#else
  return isa == Isa::baseline;
#endif
}

[[noreturn]] void refuse(const std::string& value, const std::string& why) {
  std::string names;
  for (Isa isa : supported_isas()) names += std::string(names.empty() ? "" : ", ") + isa_name(isa);
  throw Error(ErrorCode::invalid_argument,
              "LIBEXTRACT_ISA=" + value + ": " + why + " (this machine: " + names + ")");
}

Isa from_environment() {
  const char* value = std::getenv("LIBEXTRACT_ISA");
  const std::vector<Isa> supported = supported_isas();
  if (value == nullptr || *value == '\0') return supported.back();
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512}) {
    if (std::string(value) == isa_name(isa)) {
      if (!cpu_runs(isa)) refuse(value, "this CPU or build cannot run it");
      return isa;
    }
  }
  refuse(value, "not one of avx512, avx2, baseline");
}

std::atomic<int> chosen{-1};
std::mutex choosing;

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    case Isa::baseline:
      return "baseline";
  }
  return "baseline";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512})
    if (cpu_runs(isa)) out.push_back(isa);
  return out;
}

Isa active_isa() {
  const int c = chosen.load(std::memory_order_acquire);
  if (c >= 0) return static_cast<Isa>(c);
  const std::lock_guard<std::mutex> lock(choosing);
  if (chosen.load(std::memory_order_relaxed) < 0)
    chosen.store(static_cast<int>(from_environment()), std::memory_order_release);
  return static_cast<Isa>(chosen.load(std::memory_order_relaxed));
}

void set_isa_for_testing(Isa isa) {
  if (!cpu_runs(isa)) refuse(isa_name(isa), "this CPU or build cannot run it");
  chosen.store(static_cast<int>(isa), std::memory_order_release);
}

}  // namespace cpu
}  // namespace libextract
