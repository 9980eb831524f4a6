#include "stage_json.hpp"

namespace libextract {
namespace json {

void write_stages(Writer& j, const char* key, const std::vector<StageTiming>& stages) {
  j.key(key).begin_array();
  for (const StageTiming& s : stages) {
    j.begin_object(true)
        .member("name", s.name)
        .member("backend", s.backend)
        .member("seconds", s.seconds)
        .member("launches", s.launches)
        .member("flops", s.flops)
        .end_object();
  }
  j.end_array();
}

}  // namespace json
}  // namespace libextract
