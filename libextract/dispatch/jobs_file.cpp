// Parsing of the --jobs file (see jobs_file.hpp).
#include "jobs_file.hpp"

#include <set>
#include <sstream>

#include "libextract/errors.hpp"

namespace libextract {
namespace dispatch {

std::vector<FrameJob> parse_jobs(const std::string& text, const std::string& path) {
  std::vector<FrameJob> jobs;
  std::set<std::string> outputs;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string field; fields >> field;) f.push_back(field);
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() < 3 || f.size() > 4) {
      throw Error(ErrorCode::invalid_argument, where +
                                                   ": expected 'preproc psf output [wmin,wmax,dw]', got " +
                                                   std::to_string(f.size()) + " fields");
    }
    FrameJob job;
    job.number = static_cast<int>(jobs.size()) + 1;
    job.line = number;
    job.input = f[0];
    job.psf = f[1];
    job.output = f[2];
    if (f.size() == 4) job.grid = parse_wavelength_grid(f[3], where + ": wavelength grid");
    if (!outputs.insert(job.output).second) {
      throw Error(ErrorCode::invalid_argument,
                  where + ": output " + job.output + " is written by an earlier line too");
    }
    jobs.push_back(job);
  }
  if (jobs.empty())
    throw Error(ErrorCode::invalid_argument, path + ": no frames (every line is blank or a comment)");
  return jobs;
}

}  // namespace dispatch
}  // namespace libextract
