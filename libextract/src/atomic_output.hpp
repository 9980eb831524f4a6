// Outputs written to a temporary name and renamed into place only when complete, so
// neither a failure nor a kill leaves a partial file under the final name.
//
// The temporary is "<output>.tmp-<host>-<pid>". SIGTERM and SIGINT remove every live
// temporary before the process dies (handlers are installed only where the signal
// still has its default action, so Python's and MPI's own handlers are kept). A
// SIGKILL leaves it behind; the next writer of the same output removes such leftovers
// whose PID is dead on this host, and nothing else.
#pragma once

#include <string>

namespace libextract {
namespace detail {

class AtomicOutput {
 public:
  explicit AtomicOutput(std::string final_path);
  ~AtomicOutput();  // removes the temporary unless committed
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  const std::string& final_path() const { return final_path_; }
  // Where to write: a plain FITS (or text) file even for a ".gz" output.
  const std::string& temp_path() const { return temp_path_; }
  // Gzip-compresses the temporary in place when the output's name ends in ".gz".
  // Called by commit(); call it earlier to stage several outputs before renaming any.
  void finish();
  void commit();  // finish() if not done, then rename over the final name

 private:
  std::string final_path_;
  std::string temp_path_;
  bool finished_ = false;
  bool committed_ = false;
  int slot_ = -1;  // in the table the signal handler cleans
};

// "<output>.tmp-<host>-<pid>" for this process.
std::string temporary_name(const std::string& final_path);

// Removes "<output>.tmp-<host>-<pid>" files of this host whose process is gone.
// Returns how many were removed.
int remove_stale_temporaries(const std::string& final_path);

}  // namespace detail
}  // namespace libextract
