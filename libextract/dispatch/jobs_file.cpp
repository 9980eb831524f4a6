// Parsing of the --jobs file (see jobs_file.hpp).
#include "jobs_file.hpp"

#include <set>
#include <sstream>

#include "libextract/errors.hpp"
#include "libextract/io.hpp"

namespace libextract {
namespace dispatch {

namespace {

// The reason line `job` cannot run, or "" when it can.
std::string line_error(const std::vector<std::string>& f, const std::string& where, FrameJob& job,
                       std::set<std::string>& outputs) {
  if (f.size() < 3 || f.size() > 4) {
    return where + ": expected 'preproc psf output [wmin,wmax,dw]', got " + std::to_string(f.size()) +
           " fields";
  }
  try {
    if (f.size() == 4) job.grid = parse_wavelength_grid(f[3], where + ": wavelength grid");
    require_distinct_files(
        {{where + " preproc", job.input}, {where + " psf", job.psf}, {where + " output", job.output}});
  } catch (const Error& e) {
    return e.what();
  }
  if (!outputs.insert(job.output).second)
    return where + ": output " + job.output + " is written by an earlier line too";
  return "";
}

}  // namespace

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
    FrameJob job;
    job.number = static_cast<int>(jobs.size()) + 1;
    job.line = number;
    job.input = f[0];
    job.psf = f.size() > 1 ? f[1] : "";
    job.output = f.size() > 2 ? f[2] : "";
    job.error = line_error(f, where, job, outputs);
    jobs.push_back(job);
  }
  if (jobs.empty())
    throw Error(ErrorCode::invalid_argument, path + ": no frames (every line is blank or a comment)");
  // No frame's output may be another frame's input, nor the jobs file itself.
  std::vector<NamedFile> inputs = {{"the jobs file", path}};
  for (const FrameJob& j : jobs) {
    if (!j.error.empty()) continue;
    inputs.push_back({path + ":" + std::to_string(j.line) + " preproc", j.input});
    inputs.push_back({path + ":" + std::to_string(j.line) + " psf", j.psf});
  }
  for (FrameJob& j : jobs) {
    if (!j.error.empty()) continue;
    std::vector<NamedFile> files = inputs;
    files.push_back({path + ":" + std::to_string(j.line) + " output", j.output});
    try {
      require_distinct_files(files);
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find(path + ":" + std::to_string(j.line) + " output") != std::string::npos) j.error = what;
    }
  }
  return jobs;
}

}  // namespace dispatch
}  // namespace libextract
