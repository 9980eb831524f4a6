// The per-stage timings of an extraction as a JSON array, the same in the serial and
// the --mpi --timing reports.
#pragma once

#include <vector>

#include "json_writer.hpp"
#include "libextract/extract.hpp"

namespace libextract {
namespace json {

// Writes `key`: [{"name", "backend", "seconds", "launches", "flops"}, ...] into the
// current object of `j`, one stage per line.
void write_stages(Writer& j, const char* key, const std::vector<StageTiming>& stages);

}  // namespace json
}  // namespace libextract
