// DESI preprocessed images (HDUs IMAGE, IVAR, MASK and optionally FIBERMAP), read into
// the float64 Image that the extraction works on, and written back in the same layout.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dependency_cards.hpp"
#include "fits_file.hpp"
#include "out_of_memory.hpp"
#include "libextract/version.hpp"
#include "libextract/errors.hpp"
#include "libextract/image.hpp"
#include "libextract/log.hpp"

namespace libextract {

namespace {

// Moves to a required 2-D image HDU and returns its C-order shape.
std::vector<long> require_image_hdu(detail::FitsFile& file, const std::string& extname) {
  if (!file.try_move_to(extname)) {
    throw Error(ErrorCode::format_error, file.path() + ": HDU " + extname +
                                             " is missing (a DESI preproc file has IMAGE, IVAR and MASK)");
  }
  if (!file.current_is_image()) {
    throw Error(ErrorCode::format_error, file.path() + ", " + file.hdu_label() + ": is not an image");
  }
  const std::vector<long> shape = file.image_shape();
  if (shape.size() != 2 || shape[0] <= 0 || shape[1] <= 0) {
    throw Error(ErrorCode::format_error, file.path() + ", " + file.hdu_label() + ": expected a 2-D image");
  }
  return shape;
}

std::string shape_text(const std::vector<long>& shape) {
  return std::to_string(shape[0]) + " x " + std::to_string(shape[1]);
}

}  // namespace

std::uint32_t checked_mask_bits(long long bits, const std::string& option) {
  if (bits < 0 || bits > 0xffffffffLL) {
    throw Error(ErrorCode::invalid_argument,
                option + ": " + std::to_string(bits) + " is not in 0..4294967295");
  }
  return static_cast<std::uint32_t>(bits);
}

namespace {
Image read_preproc_file(const std::string& path, std::uint32_t mask_bits) {
  detail::FitsFile file = detail::FitsFile::open_read(path);
  Image image;
  image.path = path;

  const std::vector<long> shape = require_image_hdu(file, "IMAGE");
  image.nrows = static_cast<int>(shape[0]);
  image.ncols = static_cast<int>(shape[1]);
  image.header_cards = file.read_provenance_cards();
  image.pixels = file.read_image_double();  // float32 on disk: promotion is exact

  for (const char* name : {"IVAR", "MASK"}) {
    const std::vector<long> other = require_image_hdu(file, name);
    if (other != shape) {
      throw Error(ErrorCode::format_error, path + ", " + file.hdu_label() + ": shape " + shape_text(other) +
                                               " differs from IMAGE's " + shape_text(shape));
    }
    if (std::string(name) == "IVAR") {
      image.ivar = file.read_image_double();
    } else {
      image.mask = file.read_image_int();
    }
  }
  image.has_fibermap = file.try_move_to("FIBERMAP");

  // Fold the mask into ivar, then mask what cannot be used rather than let a NaN or
  // an absurd weight reach the normal equations.
  for (std::size_t k = 0; k < image.ivar.size(); ++k) {
    if ((static_cast<std::uint32_t>(image.mask[k]) & mask_bits) != 0) image.ivar[k] = 0.0;
  }
  apply_pixel_rules(image);
  if (image.nonfinite_pixels > 0) {
    LIBEXTRACT_LOG_WARNING(path + ": " + std::to_string(image.nonfinite_pixels) +
                           " NaN/Inf pixels were masked (ivar set to 0)");
  }
  if (image.ivar_out_of_range > 0) {
    LIBEXTRACT_LOG_WARNING(std::to_string(image.ivar_out_of_range) + " pixels of " + path +
                           " with ivar outside 0..1e20 were masked");
  }
  return image;
}
}  // namespace

Image read_preproc(const std::string& path, std::uint32_t mask_bits) {
  return detail::naming_allocation_failure("reading preproc image " + path,
                                           [&] { return read_preproc_file(path, mask_bits); });
}

namespace {

// A FIBERMAP with the columns desispec reads, in its types and units (desispec's
// fibermap_columns): FIBER; TARGETID 1000000 + FIBER; PETAL_LOC FIBER / 500 and
// DEVICE_LOC FIBER % 500, LOCATION = PETAL_LOC * 1000 + DEVICE_LOC; FIBERSTATUS 0;
// OBJTYPE 'SKY' for every tenth fibre, else 'TGT'; made-up sky and focal-plane positions.
void write_fibermap(detail::FitsFile& file, const std::vector<int>& fibers) {
  const std::size_t n = fibers.size();
  std::vector<long long> targetid(n), location(n);
  std::vector<int> petal(n), device(n), status(n, 0);
  std::vector<double> ra(n), dec(n), fx(n), fy(n);
  std::vector<std::string> objtype(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int fiber = fibers[i];
    targetid[i] = 1000000LL + fiber;
    petal[i] = fiber / 500;
    device[i] = fiber % 500;
    location[i] = petal[i] * 1000LL + device[i];
    objtype[i] = fiber % 10 == 9 ? "SKY" : "TGT";
    ra[i] = 150.0 + 0.002 * device[i];
    dec[i] = 2.0 + 0.001 * (device[i] % 25);
    fx[i] = 0.8 * device[i] - 200.0;
    fy[i] = 8.0 * (device[i] % 25) - 100.0;
  }
  const auto rows = static_cast<long long>(n);
  using Col = detail::FitsFile::ColumnSpec;
  file.create_table("FIBERMAP", rows,
                    {Col{"TARGETID", "K", ""}, Col{"PETAL_LOC", "I", ""}, Col{"DEVICE_LOC", "J", ""},
                     Col{"LOCATION", "K", ""}, Col{"FIBER", "J", ""}, Col{"FIBERSTATUS", "J", ""},
                     Col{"TARGET_RA", "D", "deg"}, Col{"TARGET_DEC", "D", "deg"}, Col{"OBJTYPE", "3A", ""},
                     Col{"FIBERASSIGN_X", "E", "mm"}, Col{"FIBERASSIGN_Y", "E", "mm"}});
  file.write_column_int64(1, rows, targetid.data());
  file.write_column_int(2, rows, petal.data());
  file.write_column_int(3, rows, device.data());
  file.write_column_int64(4, rows, location.data());
  file.write_column_int(5, rows, fibers.data());
  file.write_column_int(6, rows, status.data());
  file.write_column_double(7, rows, ra.data());
  file.write_column_double(8, rows, dec.data());
  file.write_column_string(9, objtype);
  file.write_column_double(10, rows, fx.data());
  file.write_column_double(11, rows, fy.data());
  file.write_checksum();
}

// float32 copy of one plane; refuses NaN/Inf and values float32 cannot hold.
std::vector<float> to_float32(const std::vector<double>& values, int ncols, const std::string& path,
                              const std::string& hdu) {
  std::vector<float> out(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) {
    out[k] = static_cast<float>(values[k]);
    if (!std::isfinite(out[k])) {
      throw Error(ErrorCode::numerical_error, path + ", HDU " + hdu + ": value " + std::to_string(values[k]) +
                                                  " at pixel (y=" + std::to_string(k / ncols) +
                                                  ", x=" + std::to_string(k % ncols) +
                                                  ") is not a finite float32; refusing to write it");
    }
  }
  return out;
}

void write_preproc_file(const std::string& path, const Image& image, const std::vector<int>* fibers) {
  const std::size_t n = static_cast<std::size_t>(image.nrows) * static_cast<std::size_t>(image.ncols);
  if (image.nrows <= 0 || image.ncols <= 0 || image.pixels.size() != n || image.ivar.size() != n ||
      (!image.mask.empty() && image.mask.size() != n)) {
    throw Error(ErrorCode::invalid_argument,
                path + ": image arrays do not match nrows x ncols = " + std::to_string(image.nrows) + " x " +
                    std::to_string(image.ncols));
  }
  // Convert (and check) everything before a file exists, so a refusal leaves nothing.
  const std::vector<float> pixels = to_float32(image.pixels, image.ncols, path, "IMAGE");
  const std::vector<float> ivar = to_float32(image.ivar, image.ncols, path, "IVAR");
  std::vector<int> mask(n);
  for (std::size_t k = 0; k < n; ++k) {
    if (ivar[k] < 0.0f) {
      throw Error(ErrorCode::invalid_argument, path + ", HDU IVAR: negative inverse variance at pixel (y=" +
                                                   std::to_string(k / image.ncols) +
                                                   ", x=" + std::to_string(k % image.ncols) + ")");
    }
    mask[k] = image.mask.empty() ? (ivar[k] == 0.0f ? 1 : 0) : image.mask[k];
  }

  const std::vector<long> shape = {image.nrows, image.ncols};
  detail::AtomicOutput output(path);
  {
    detail::FitsFile file = detail::FitsFile::create(output.temp_path());
    file.write_image_float(shape, pixels.data());
    file.write_key("EXTNAME", std::string("IMAGE"));
    file.write_cards(image.header_cards);
    file.write_key("BUNIT", std::string("electron"));
    file.write_key("LIBEXTV", std::string(version()), "libextract version (PEP 440)");
    detail::set_libextract_dependencies(file);
    file.write_checksum();
    file.write_image_float(shape, ivar.data());
    file.write_key("EXTNAME", std::string("IVAR"));
    file.write_key("BUNIT", std::string("electron**-2"));
    file.write_checksum();
    file.write_image_int32(shape, mask.data());
    file.write_key("EXTNAME", std::string("MASK"));
    file.write_checksum();
    if (fibers) write_fibermap(file, *fibers);
    file.close();
  }
  output.commit();
}

}  // namespace

void write_preproc(const std::string& path, const Image& image) {
  write_preproc_file(path, image, nullptr);
}

void write_preproc(const std::string& path, const Image& image, const std::vector<int>& fibermap_fibers) {
  write_preproc_file(path, image, &fibermap_fibers);
}

}  // namespace libextract
