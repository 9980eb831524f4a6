// labels: unit
// What the MPI dispatcher builds on, without MPI: extraction in parts
// (libextract/extract_parts.hpp) gives extract_frame's frame bit for bit whatever the
// ranges and wherever they were packed, and Psf::load_from_memory gives Psf::load's PSF.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/frame_bits.hpp"
#include "common/test_data.hpp"
#include "libextract/extract_parts.hpp"
#include "libextract/libextract.hpp"

namespace {

using namespace libextract;
using libextract_test::expect_same_frame;
using libextract_test::scratch_dir;

std::string psf_path() {
  static const std::string path = [] {
    SyntheticPsfOptions options = synthetic_psf_for_camera('r');
    options.nspec = 30;
    options.npix_x = 1200;
    options.npix_y = 1500;
    options.seed = 5;
    const std::string p = scratch_dir() + "/parts-psf.fits";
    write_synthetic_psf(p, options);
    return p;
  }();
  return path;
}

std::vector<unsigned char> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  return std::vector<unsigned char>(text.begin(), text.end());
}

const Image& image() {
  static const Image img = [] {
    SimulationOptions o;
    o.grid = {6000.0, 6119.2, 0.8};  // 150 bins
    o.nspec = 15;
    o.seed = 3;
    o.badpix = 5;
    return simulate_image(Psf::load(psf_path()), o).image;
  }();
  return img;
}

ExtractOptions options(Compat compat) {
  ExtractOptions o;
  o.grid = WavelengthGrid{6000.0, 6119.2, 0.8};
  o.nspec = 15;
  o.bundlesize = 5;
  o.compat = compat;
  o.model = true;
  o.backend.kind = BackendKind::cpu;
  o.backend.threads = 1;
  return o;
}

// Uneven ranges, each packed to bytes and unpacked as another process would, stitched
// in order: the frame and the report are extract_frame's.
TEST(ExtractParts, RangesThroughBytesEqualExtractFrame) {
  const Psf psf = Psf::load(psf_path());
  for (Compat compat : {Compat::gpu_specter, Compat::specter}) {
    const ExtractOptions o = options(compat);
    ExtractReport whole_report;
    const Frame whole = extract_frame(image(), psf, o, &whole_report);

    ExtractionParts parts(image(), psf, o);
    const int total = parts.patch_count();
    ASSERT_EQ(total, whole_report.patches);
    ASSERT_EQ(parts.bundle_count(), 3);
    ASSERT_EQ(parts.bundle_first_patch(parts.bundle_count()), total);
    std::vector<unsigned char> bytes;
    for (int first = 0, step = 1; first < total; first += step, step += 2) {
      parts.solve(first, std::min(step, total - first)).pack(bytes);
    }
    for (std::size_t at = 0; at < bytes.size();) {
      std::size_t used = 0;
      const SolvedPatches block = SolvedPatches::unpack(bytes.data() + at, bytes.size() - at, used);
      at += used;
      parts.stitch(block);
    }
    ExtractReport report;
    const Frame split = parts.finish(&report);
    expect_same_frame(whole, split);
    libextract_test::expect_same_patch_diagnostics(whole_report, report, "ranges");
  }
}

// solve_range hands over blocks of batch_size() patches in plan order, each bitwise
// what solve() gives for the same range (the frames stitched from either are equal);
// a range outside the plan and an exception from the consumer reach the caller.
TEST(ExtractParts, SolveRangeGivesSolveBlocksInPlanOrder) {
  const Psf psf = Psf::load(psf_path());
  ExtractOptions o = options(Compat::gpu_specter);
  o.batch_patches = 4;
  ExtractionParts by_range(image(), psf, o), by_solve(image(), psf, o);
  const int total = by_range.patch_count();
  ASSERT_GT(total, 3 * o.batch_patches);
  int expected = 0;
  by_range.solve_range(0, total, [&](SolvedPatches&& block) {
    EXPECT_EQ(block.first(), expected);
    EXPECT_EQ(block.count(), std::min(o.batch_patches, total - expected));
    by_solve.stitch(by_solve.solve(block.first(), block.count()));
    by_range.stitch(block);
    expected += block.count();
  });
  EXPECT_EQ(expected, total);
  expect_same_frame(by_range.finish(), by_solve.finish());

  EXPECT_THROW(by_range.solve_range(1, total, [](SolvedPatches&&) {}), Error);
  int calls = 0;
  EXPECT_THROW(by_range.solve_range(0, total,
                                    [&](SolvedPatches&&) {
                                      ++calls;
                                      throw std::runtime_error("consumer failed");
                                    }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
}

TEST(ExtractParts, PixelWindowCoversWhatSolveReads) {
  // Pixels outside the window set to junk change nothing.
  const Psf psf = Psf::load(psf_path());
  const ExtractOptions o = options(Compat::gpu_specter);
  const Frame whole = extract_frame(image(), psf, o);
  Image junk = image();
  const PixelWindow w = ExtractionParts(junk, psf, o).pixel_window();
  ASSERT_LT(w.ymin, w.ymax);
  for (int y = 0; y < junk.nrows; ++y) {
    for (int x = 0; x < junk.ncols; ++x) {
      if (y >= w.ymin && y < w.ymax && x >= w.xmin && x < w.xmax) continue;
      junk.pixel(y, x) = 1e30;
      junk.ivar[static_cast<std::size_t>(y) * junk.ncols + x] = 7.0;
    }
  }
  Frame f = extract_frame(junk, psf, o);
  f.model.assign(f.model.size(), 0.0);  // the model covers the whole CCD; compare the spectra
  Frame g = whole;
  g.model.assign(g.model.size(), 0.0);
  expect_same_frame(g, f);
}

TEST(ExtractParts, StitchingOutOfOrderOrIncompleteIsRefused) {
  const Psf psf = Psf::load(psf_path());
  ExtractionParts parts(image(), psf, options(Compat::gpu_specter));
  const SolvedPatches second = parts.solve(2, 2);
  EXPECT_THROW(parts.stitch(second), Error);
  parts.stitch(parts.solve(0, 2));
  parts.stitch(second);
  EXPECT_EQ(parts.stitched_patches(), 4);
  EXPECT_THROW(parts.finish(), Error);
  EXPECT_THROW(parts.solve(parts.patch_count() - 1, 2), Error);
}

TEST(ExtractParts, TruncatedBytesAreAFormatError) {
  const Psf psf = Psf::load(psf_path());
  ExtractionParts parts(image(), psf, options(Compat::gpu_specter));
  std::vector<unsigned char> bytes;
  parts.solve(0, 3).pack(bytes);
  std::size_t used = 0;
  for (std::size_t cut : {std::size_t(0), std::size_t(5), bytes.size() / 2, bytes.size() - 1}) {
    try {
      SolvedPatches::unpack(bytes.data(), cut, used);
      FAIL() << "no error for " << cut << " bytes";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format_error);
    }
  }
  SolvedPatches::unpack(bytes.data(), bytes.size(), used);
  EXPECT_EQ(used, bytes.size());
}

void expect_same_psf(const Psf& a, const Psf& b) {
  EXPECT_EQ(a.nspec(), b.nspec());
  EXPECT_EQ(a.wmin(), b.wmin());
  EXPECT_EQ(a.wmax_all(), b.wmax_all());
  for (int f : {0, a.nspec() / 2, a.nspec() - 1}) {
    for (double w : {5800.0, 6500.0, 7500.0}) {
      EXPECT_EQ(a.x(f, w), b.x(f, w));
      EXPECT_EQ(a.y(f, w), b.y(f, w));
      EXPECT_EQ(a.param("GHSIGX", f, w), b.param("GHSIGX", f, w));
    }
    EXPECT_EQ(a.wavelength(f, 700.0), b.wavelength(f, 700.0));
  }
}

TEST(PsfFromMemory, EqualsPsfLoadPlainAndGzip) {
  const std::string path = psf_path();
  const auto bytes = file_bytes(path);
  const Psf a = Psf::load(path);
  const Psf b = Psf::load_from_memory(path, bytes.data(), bytes.size());
  EXPECT_EQ(b.path(), path);
  expect_same_psf(a, b);

  const std::string gz = scratch_dir() + "/parts-psf.fits.gz";
  ASSERT_EQ(std::system(("gzip -c " + path + " > " + gz).c_str()), 0);
  const auto gz_bytes = file_bytes(gz);
  expect_same_psf(a, Psf::load_from_memory(gz, gz_bytes.data(), gz_bytes.size()));

  if (libextract_test::file_exists(libextract_test::shared_file("psf-gausshermite-v2.fits"))) {
    const std::string v2 = libextract_test::shared_file("psf-gausshermite-v2.fits");
    const auto v2_bytes = file_bytes(v2);
    const Psf c = Psf::load(v2), d = Psf::load_from_memory(v2, v2_bytes.data(), v2_bytes.size());
    EXPECT_EQ(d.format_version(), 2);
    EXPECT_EQ(c.x(3, 6000.0), d.x(3, 6000.0));
  }
}

TEST(PsfFromMemory, ErrorsNameTheGivenPath) {
  const std::string junk = "SIMPLE  = this is not a FITS file";
  try {
    Psf::load_from_memory("/data/psf-b1.fits", junk.data(), junk.size());
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/data/psf-b1.fits"), std::string::npos) << message;
    EXPECT_EQ(message.find("/proc/self/fd"), std::string::npos) << message;
  }
}

}  // namespace
