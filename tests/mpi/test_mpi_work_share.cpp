// labels: mpi
// The dispatcher's static shares (work_share.hpp) and jobs file parsing, without MPI.
#include <gtest/gtest.h>

#include "dispatch/jobs_file.hpp"
#include "dispatch/work_share.hpp"
#include "libextract/errors.hpp"

namespace {

using libextract::dispatch::patch_share;
using libextract::dispatch::PatchRange;

// bundles of `per` patches, the last one `last` patches
std::vector<int> bundles(int nbundles, int per, int last) {
  std::vector<int> first{0};
  for (int b = 0; b < nbundles; ++b) first.push_back(first.back() + (b + 1 == nbundles ? last : per));
  return first;
}

// Every patch exactly once, in rank order, and no rank more than one bundle above an even share.
void check_cover(const std::vector<int>& bundle_first, int nranks) {
  const int npatches = bundle_first.back();
  int max_bundle = 0;
  for (std::size_t b = 0; b + 1 < bundle_first.size(); ++b)
    max_bundle = std::max(max_bundle, bundle_first[b + 1] - bundle_first[b]);
  int next = 0;
  for (int r = 0; r < nranks; ++r) {
    const PatchRange s = patch_share(bundle_first, nranks, r);
    EXPECT_EQ(s.first, next) << "rank " << r << " of " << nranks;
    EXPECT_GE(s.count, 0);
    EXPECT_LE(s.count, static_cast<double>(npatches) / nranks + max_bundle)
        << "rank " << r << " of " << nranks;
    next = s.first + s.count;
  }
  EXPECT_EQ(next, npatches) << nranks << " ranks";
}

TEST(WorkShare, WholeBundlesWhenBundlesOutnumberRanks) {
  const auto b = bundles(20, 47, 47);
  for (int n = 1; n <= 20; ++n) check_cover(b, n);
  // 20 bundles over 3 ranks: 6, 7, 7 bundles, whole ones.
  EXPECT_EQ(patch_share(b, 3, 0).count, 6 * 47);
  EXPECT_EQ(patch_share(b, 3, 1).count, 7 * 47);
  EXPECT_EQ(patch_share(b, 3, 2).count, 7 * 47);
}

TEST(WorkShare, PatchesWhenRanksOutnumberBundles) {
  const auto b = bundles(2, 20, 13);
  for (int n = 3; n <= 40; ++n) check_cover(b, n);
  EXPECT_EQ(patch_share(b, 40, 39).count, 1);
  EXPECT_EQ(patch_share(b, 40, 0).count, 0);  // 33 patches over 40 ranks: some ranks idle
}

TEST(WorkShare, FramesDealtRoundRobin) {
  using libextract::dispatch::frames_of_group;
  EXPECT_EQ(frames_of_group(5, 3, 0), (std::vector<int>{0, 3}));
  EXPECT_EQ(frames_of_group(5, 3, 2), (std::vector<int>{2}));
  EXPECT_TRUE(frames_of_group(2, 3, 2).empty());
}

TEST(JobsFile, ParsesLinesCommentsAndGrids) {
  const auto jobs = libextract::dispatch::parse_jobs(
      "# frames\n\npre1.fits psf1.fits out1.fits\n  pre2.fits psf2.fits out2.fits 5760,5919.2,0.8  \n",
      "jobs.txt");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].number, 1);
  EXPECT_EQ(jobs[0].line, 3);
  EXPECT_FALSE(jobs[0].grid.has_value());
  EXPECT_EQ(jobs[1].output, "out2.fits");
  ASSERT_TRUE(jobs[1].grid.has_value());
  EXPECT_EQ(jobs[1].grid->wmax, 5919.2);
}

TEST(JobsFile, MalformedLinesNameFileAndLineAndTheOthersStillRun) {
  const auto jobs = libextract::dispatch::parse_jobs(
      "a b c\na b\n# comment\nd e f 5760.0,abc,0.8\ng h c\ni j k 5760.0,5800.0,0.8\n", "jobs.txt");
  ASSERT_EQ(jobs.size(), 5u);
  EXPECT_EQ(jobs[0].error, "");
  EXPECT_NE(jobs[1].error.find("jobs.txt:2"), std::string::npos) << jobs[1].error;  // two fields
  EXPECT_NE(jobs[2].error.find("jobs.txt:4"), std::string::npos) << jobs[2].error;  // a bad grid
  EXPECT_NE(jobs[3].error.find("jobs.txt:5"), std::string::npos) << jobs[3].error;  // output c twice
  EXPECT_EQ(jobs[4].error, "");
  ASSERT_TRUE(jobs[4].grid.has_value());
  EXPECT_EQ(jobs[4].grid->wmax, 5800.0);
  // An output that is another frame's input.
  const auto crossed = libextract::dispatch::parse_jobs("a b c\nd e a\n", "j");
  EXPECT_EQ(crossed[0].error, "");
  EXPECT_NE(crossed[1].error.find("j:2 output"), std::string::npos) << crossed[1].error;
  EXPECT_THROW(libextract::dispatch::parse_jobs("# nothing\n", "j"), libextract::Error);
}

}  // namespace
