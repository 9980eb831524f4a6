// labels: mpi
// `libextract extract --mpi` through mpiexec at 1-4 ranks against single-process runs
// of the same command: frames bitwise equal (float64 output, files compared byte for
// byte except the timestamped CHECKSUM/DATASUM cards), only rank 0 reads inputs, the
// work is spread, a jobs file with a broken frame, --skip-existing, agreed failures
// and aborts instead of hangs. Small simulated frames on a small synthetic CCD keep
// it quick; the shared reference cases run when ../shared/data is present.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_data.hpp"
#include "libextract/config.hpp"

namespace {

using libextract_test::cli_path;
using libextract_test::file_exists;

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result run(const std::string& command, const std::string& log) {
  Result r;
  const int raw = std::system((command + " > " + log + " 2>&1").c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128;
  r.output = read_file(log);
  return r;
}

// mpiexec with what every run needs: one thread per rank, more ranks than cores, root.
std::string mpiexec(int ranks) {
  const std::string m = LIBEXTRACT_MPIEXEC;
  static const bool open_mpi =
      std::system((m + " --version 2>&1 | grep -qi 'open mpi\\|openrte'").c_str()) == 0;
  std::string cmd = "timeout 300 " + m;  // a hang fails the test instead of the CI job
  if (open_mpi) {
    cmd += " --oversubscribe -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1";
    if (::geteuid() == 0) cmd += " --allow-run-as-root";
  }
  return cmd + " -n " + std::to_string(ranks) + " ";
}

// Byte equality of two FITS files except CHECKSUM and DATASUM cards, whose comments
// carry the time of writing.
bool same_fits(const std::string& a, const std::string& b, std::string* why = nullptr) {
  auto blank = [](std::string bytes) {
    for (std::size_t i = 0; i + 80 <= bytes.size(); i += 80) {
      if (bytes.compare(i, 8, "CHECKSUM") == 0 || bytes.compare(i, 8, "DATASUM ") == 0)
        bytes.replace(i, 80, 80, ' ');
    }
    return bytes;
  };
  if (!file_exists(a) || !file_exists(b)) {
    if (why) *why = "missing " + (file_exists(a) ? b : a);
    return false;
  }
  const std::string x = blank(read_file(a)), y = blank(read_file(b));
  if (x == y) return true;
  if (why) {
    std::size_t i = 0;
    while (i < x.size() && i < y.size() && x[i] == y[i]) ++i;
    *why = a + " and " + b + " differ at byte " + std::to_string(i) + " (sizes " + std::to_string(x.size()) +
           ", " + std::to_string(y.size()) + ")";
  }
  return false;
}

// The "per_rank" objects of a --timing report, one per line.
struct RankEntry {
  int rank = -1;
  std::string files_read;
  long patches_solved = -1;
};

std::vector<RankEntry> rank_entries(const std::string& json) {
  std::vector<RankEntry> out;
  std::istringstream lines(json);
  const std::regex rank_re("\"rank\": (\\d+),"), files_re("\"files_read\": \\[([^\\]]*)\\]"),
      solved_re("\"patches_solved\": (\\d+)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m1, m2, m3;
    if (!std::regex_search(line, m1, rank_re) || !std::regex_search(line, m3, solved_re)) continue;
    RankEntry e;
    e.rank = std::stoi(m1[1]);
    if (std::regex_search(line, m2, files_re)) e.files_read = m2[1];
    e.patches_solved = std::stol(m3[1]);
    out.push_back(e);
  }
  return out;
}

int json_int(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": (\\d+)"))) return -1;
  return std::stoi(m[1]);
}

class MpiDispatch : public ::testing::Test {
 protected:
  static std::string dir_;

  // A synthetic PSF on a small CCD and five simulated 20-fibre frames, made once per
  // test program.
  static void SetUpTestSuite() {
    dir_ = libextract_test::scratch_dir() + "/mpi";
    ::mkdir(dir_.c_str(), 0755);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    const std::string cli = cli_path();
    ASSERT_EQ(run(cli + " psf make -o " + dir_ + "/psf.fits --nspec 30 --npix-x 1200 --npix-y 1500 --seed 7",
                  dir_ + "/psf.log")
                  .status,
              0);
    for (int k = 1; k <= 5; ++k) {
      const std::string s = std::to_string(k);
      const Result r =
          run(cli + " simulate -p " + dir_ + "/psf.fits -o " + dir_ + "/sim" + s + ".fits --truth " + dir_ +
                  "/truth" + s + ".fits -n 20 -w 6000,6159.2,0.8 --seed " + s + " --cosmics 2 --badpix 10",
              dir_ + "/sim.log");
      ASSERT_EQ(r.status, 0) << r.output;
    }
  }

  // The frames take ~150 MB: removed when every test of the suite passed, kept for a look otherwise.
  static void TearDownTestSuite() {
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite && suite->Passed()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      std::filesystem::remove(std::filesystem::path(dir_).parent_path(), ignored);  // only if now empty
    } else {
      std::printf("MPI test files kept in %s\n", dir_.c_str());
    }
  }

  void SetUp() override {
    if (!LIBEXTRACT_ENABLE_MPI) GTEST_SKIP() << "built without MPI";
    if (std::string(LIBEXTRACT_MPIEXEC).empty()) GTEST_SKIP() << "no mpiexec found by CMake";
  }

  static std::string path(const std::string& name) { return dir_ + "/" + name; }

  // `libextract extract` with the test's frame options (float64 output for strict comparison).
  static std::string extract(const std::string& args) {
    return cli_path() + " extract -n 20 --bundlesize 5 -w 6000,6159.2,0.8 --dtype f8 " + args;
  }
};

std::string MpiDispatch::dir_;

// One frame: 4 bundles dealt whole at 1-4 ranks, bitwise equal to one process, model
// image included (gpu_specter sums overlapping patches, so its order matters).
TEST_F(MpiDispatch, OneFrameBitwiseAtOneToFourRanks) {
  const std::string in = " -i " + path("sim1.fits") + " -p " + path("psf.fits");
  Result r = run(extract(in + " --threads 1 -o " + path("one.fits") + " -m " + path("one-model.fits")),
                 path("one.log"));
  ASSERT_EQ(r.status, 0) << r.output;
  for (int n = 1; n <= 4; ++n) {
    const std::string tag = "one-np" + std::to_string(n);
    r = run(mpiexec(n) + extract(in + " --mpi -o " + path(tag + ".fits") + " -m " +
                                 path(tag + "-model.fits") + " --timing " + path(tag + ".json")),
            path(tag + ".log"));
    ASSERT_EQ(r.status, 0) << r.output;
    std::string why;
    EXPECT_TRUE(same_fits(path("one.fits"), path(tag + ".fits"), &why)) << n << " ranks: " << why;
    EXPECT_TRUE(same_fits(path("one-model.fits"), path(tag + "-model.fits"), &why)) << n << " ranks: " << why;

    // Only rank 0 reads; every patch solved once; nobody above an even share plus a bundle.
    const std::string json = read_file(path(tag + ".json"));
    const auto ranks = rank_entries(json);
    ASSERT_EQ(static_cast<int>(ranks.size()), n) << json;
    const int patches = json_int(json, "patches"), bundles = json_int(json, "bundles");
    ASSERT_GT(patches, 0);
    ASSERT_EQ(bundles, 4);
    long total = 0;
    for (const RankEntry& e : ranks) {
      if (e.rank == 0) {
        EXPECT_NE(e.files_read.find("sim1.fits"), std::string::npos) << e.files_read;
        EXPECT_NE(e.files_read.find("psf.fits"), std::string::npos) << e.files_read;
      } else {
        EXPECT_EQ(e.files_read, "") << "rank " << e.rank << " read files";
      }
      EXPECT_LE(e.patches_solved, static_cast<double>(patches) / n + static_cast<double>(patches) / bundles)
          << "rank " << e.rank << " of " << n;
      total += e.patches_solved;
    }
    EXPECT_EQ(total, patches);
  }
}

// More ranks than bundles: patches are dealt one by one; specter rules, whose model
// keeps the last patch's pixels, so stitching order is checked too.
TEST_F(MpiDispatch, PatchDealingWhenRanksOutnumberBundlesSpecter) {
  const std::string in = " -i " + path("sim2.fits") + " -p " + path("psf.fits") +
                         " --bundlesize 10 --nsubbundles 5 --compat specter";
  Result r = run(extract(in + " --threads 1 -o " + path("sp.fits") + " -m " + path("sp-model.fits")),
                 path("sp.log"));
  ASSERT_EQ(r.status, 0) << r.output;
  for (int n : {3, 4}) {
    const std::string tag = "sp-np" + std::to_string(n);
    r = run(mpiexec(n) + extract(in + " --mpi -o " + path(tag + ".fits") + " -m " +
                                 path(tag + "-model.fits") + " --timing " + path(tag + ".json")),
            path(tag + ".log"));
    ASSERT_EQ(r.status, 0) << r.output;
    std::string why;
    EXPECT_TRUE(same_fits(path("sp.fits"), path(tag + ".fits"), &why)) << why;
    EXPECT_TRUE(same_fits(path("sp-model.fits"), path(tag + "-model.fits"), &why)) << why;
    const std::string json = read_file(path(tag + ".json"));
    const int patches = json_int(json, "patches");
    for (const RankEntry& e : rank_entries(json)) {
      EXPECT_LE(e.patches_solved, (patches + n - 1) / n) << "rank " << e.rank;
      EXPECT_GT(e.patches_solved, 0) << "rank " << e.rank << " idle";
    }
  }
}

// The shared reference cases (full 4128 x 4114 CCD, the real PSF, .fits.gz input).
TEST_F(MpiDispatch, SharedReferenceCasesBitwise) {
  LIBEXTRACT_REQUIRE_SHARED_FILE("psf-r0-00051060.fits");
  LIBEXTRACT_REQUIRE_SHARED_FILE("case-small/preproc.fits.gz");
  LIBEXTRACT_REQUIRE_SHARED_FILE("case-bundle/preproc.fits.gz");
  struct Case {
    const char* name;
    std::string args;
    int ranks;
  };
  const std::string psf = " -p " + libextract_test::shared_file("psf-r0-00051060.fits");
  const std::vector<Case> cases = {
      {"small",
       " -i " + libextract_test::shared_file("case-small/preproc.fits.gz") + psf +
           " -n 5 -w 5760.0,5919.2,0.8 --bundlesize 5",
       3},
      {"bundle",
       " -i " + libextract_test::shared_file("case-bundle/preproc.fits.gz") + psf +
           " -n 25 -w 5760.0,6159.2,0.8 --bundlesize 5 --compat specter",
       2},
  };
  for (const Case& c : cases) {
    const std::string base = cli_path() + " extract --dtype f8" + c.args;
    const std::string tag = std::string("ref-") + c.name;
    Result r = run(base + " --threads 1 -o " + path(tag + ".fits"), path(tag + ".log"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = run(mpiexec(c.ranks) + base + " --mpi -o " + path(tag + "-mpi.fits"), path(tag + "-mpi.log"));
    ASSERT_EQ(r.status, 0) << r.output;
    std::string why;
    EXPECT_TRUE(same_fits(path(tag + ".fits"), path(tag + "-mpi.fits"), &why)) << c.name << ": " << why;
  }
}

// Five frames, the third a truncated file, on 3 ranks in groups of 1 and of 3: four
// frames equal to single-process runs, one clear failure, a non-zero exit; then a
// --skip-existing re-run does no work.
TEST_F(MpiDispatch, JobsFileWithBrokenFrameAndSkipExisting) {
  {  // a preproc cut short
    const std::string bytes = read_file(path("sim3.fits"));
    std::ofstream(path("broken.fits"), std::ios::binary) << bytes.substr(0, 20000);
  }
  std::vector<std::string> refs;
  for (int k : {1, 2, 4, 5}) {
    const std::string s = std::to_string(k);
    const std::string grid = k == 4 ? " -w 6000,6099.2,0.8" : "";
    const Result r = run(extract(" --threads 1 -i " + path("sim" + s + ".fits") + " -p " + path("psf.fits") +
                                 grid + " -o " + path("jobref" + s + ".fits")),
                         path("jobref.log"));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  for (int group_size : {1, 3}) {
    const std::string out = path("jobs-g" + std::to_string(group_size));
    ::mkdir(out.c_str(), 0755);
    {
      std::ofstream jobs(out + "/jobs.txt");
      jobs << "# frame list\n";
      for (int k = 1; k <= 5; ++k) {
        const std::string s = std::to_string(k);
        jobs << (k == 3 ? path("broken.fits") : path("sim" + s + ".fits")) << " " << path("psf.fits") << " "
             << out << "/frame" << s << ".fits" << (k == 4 ? "  6000,6099.2,0.8" : "") << "\n";
      }
      jobs << path("sim1.fits") << " " << out << "/frame6.fits\n";  // line 7: two fields, reported, not run
    }
    const std::string command =
        mpiexec(3) + extract("--mpi --jobs " + out + "/jobs.txt --group-size " + std::to_string(group_size));
    Result r = run(command + " --timing " + out + "/timing.json", out + "/run.log");
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("6 frames: 4 ok, 2 failed, 0 skipped"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("jobs.txt:7: expected 'preproc psf output"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("FAILED"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("broken.fits"), std::string::npos) << r.output;  // the reason names the file
    // Each good frame's group root logs its progress (stderr is a file here), to the end.
    for (int k : {1, 2, 4, 5}) {
      const std::string line = "INFO:progress.cpp:";
      const std::string frame =
          "frame " + std::to_string(k) + " (" + out + "/frame" + std::to_string(k) + ".fits";
      const std::size_t at = r.output.find(frame);
      ASSERT_NE(at, std::string::npos) << frame << "\n" << r.output;
      EXPECT_NE(r.output.find("root's share): ", at), std::string::npos) << r.output;
      EXPECT_NE(r.output.rfind(line, at), std::string::npos) << r.output;
    }
    EXPECT_NE(r.output.find("patches (100%)"), std::string::npos) << r.output;
    for (int k : {1, 2, 4, 5}) {
      const std::string s = std::to_string(k);
      std::string why;
      EXPECT_TRUE(same_fits(path("jobref" + s + ".fits"), out + "/frame" + s + ".fits", &why))
          << "group size " << group_size << ": " << why;
    }
    EXPECT_FALSE(file_exists(out + "/frame3.fits"));
    const std::string json = read_file(out + "/timing.json");
    EXPECT_NE(json.find("\"status\": \"failed\""), std::string::npos);
    for (const RankEntry& e : rank_entries(json)) {
      // With one group only rank 0 reads, and everybody works on every frame; with
      // groups of 1, rank 2's only frame is the broken one.
      if (group_size == 3) {
        if (e.rank != 0) EXPECT_EQ(e.files_read, "") << "rank " << e.rank;
        EXPECT_GT(e.patches_solved, 0) << "rank " << e.rank << " idle";
      } else {
        EXPECT_EQ(e.patches_solved > 0, e.rank != 2) << "rank " << e.rank;
      }
    }

    struct stat before;
    ASSERT_EQ(::stat((out + "/frame1.fits").c_str(), &before), 0);
    r = run(command + " --skip-existing --timing " + out + "/skip.json", out + "/skip.log");
    EXPECT_NE(r.status, 0) << r.output;  // the broken frame is tried again, and fails again
    EXPECT_NE(r.output.find("6 frames: 0 ok, 2 failed, 4 skipped"), std::string::npos) << r.output;
    for (const RankEntry& e : rank_entries(read_file(out + "/skip.json"))) {
      EXPECT_EQ(e.patches_solved, 0) << "rank " << e.rank << " worked in a --skip-existing re-run";
    }
    struct stat after;
    ASSERT_EQ(::stat((out + "/frame1.fits").c_str(), &after), 0);
    EXPECT_EQ(before.st_mtime, after.st_mtime);
  }
}

// A failure on one rank while the others solve is agreed on by its group: the frame
// fails with that rank named, the other frame completes, nobody hangs.
TEST_F(MpiDispatch, FailureOnOneRankIsAgreedAndTheJobGoesOn) {
  const std::string out = path("agree");
  ::mkdir(out.c_str(), 0755);
  {
    std::ofstream jobs(out + "/jobs.txt");
    jobs << path("sim1.fits") << " " << path("psf.fits") << " " << out << "/a.fits\n";
    jobs << path("sim2.fits") << " " << path("psf.fits") << " " << out << "/b.fits\n";
    jobs << path("sim5.fits") << " " << path("psf.fits") << " " << out
         << "/c.fits 3000,3100,0.8\n";  // off the PSF
    jobs << path("sim4.fits") << " " << path("psf.fits") << " " << out
         << "/missing/d.fits\n";  // no such folder
  }
  const Result r =
      run("LIBEXTRACT_TEST_FAULT=solve:1:2 " + mpiexec(3) + extract("--mpi --jobs " + out + "/jobs.txt"),
          out + "/run.log");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rank 2: injected fault"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("-w/--wavelength"), std::string::npos) << r.output;  // plan error names the option
  EXPECT_NE(r.output.find("missing/d.fits"), std::string::npos) << r.output;   // write error names the file
  EXPECT_NE(r.output.find("4 frames: 1 ok, 3 failed"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(out + "/a.fits"));
  EXPECT_TRUE(file_exists(out + "/b.fits"));
}

// Out of memory is unrecoverable: the job ends with MPI_Abort and a message, not a hang.
TEST_F(MpiDispatch, OutOfMemoryAbortsTheJob) {
  const Result r = run(
      "LIBEXTRACT_TEST_FAULT=oom:1:1 " + mpiexec(2) +
          extract("--mpi -i " + path("sim1.fits") + " -p " + path("psf.fits") + " -o " + path("oom.fits")),
      path("oom.log"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out: " << r.output;
  EXPECT_NE(r.output.find("rank 1: fatal: out of memory"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(path("oom.fits")));
}

// A rank that stops (SIGSTOP) makes the job fail after --rank-timeout instead of hanging.
TEST_F(MpiDispatch, StoppedRankEndsTheJobAfterTheRankTimeout) {
  const Result r = run("LIBEXTRACT_TEST_FAULT=stop:1:1 " + mpiexec(2) +
                           extract("--mpi --rank-timeout 3 -i " + path("sim1.fits") + " -p " +
                                   path("psf.fits") + " -o " + path("stopped.fits")),
                       path("stopped.log"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out: " << r.output;
  EXPECT_NE(r.output.find("finished no batch for"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--rank-timeout 3"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(path("stopped.fits")));
}

// Command-line errors: clear messages, exit 2, no output.
TEST_F(MpiDispatch, UsageErrors) {
  Result r = run(extract("--jobs j.txt"), path("usage1.log"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--jobs needs --mpi"), std::string::npos) << r.output;
  r = run(mpiexec(2) + extract("--mpi --jobs " + path("none.txt") + " --group-size 3"), path("usage2.log"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--group-size 3 exceeds the 2 MPI ranks"), std::string::npos) << r.output;
  r = run(mpiexec(2) + extract("--mpi --jobs " + path("none.txt")), path("usage3.log"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("none.txt: cannot open the jobs file"), std::string::npos) << r.output;
  r = run(mpiexec(2) + extract("--mpi -i " + path("absent.fits") + " -p " + path("psf.fits") + " -o " +
                               path("absent-out.fits")),
          path("usage4.log"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("absent.fits"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(path("absent-out.fits")));
}

}  // namespace
