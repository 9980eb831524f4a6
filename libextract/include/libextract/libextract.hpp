// Umbrella header: everything a program needs to use libextract.
#pragma once

#include "libextract/config.hpp"  // first: stops a pre-C++17 compiler with a clear message

#include "libextract/backend.hpp"
#include "libextract/errors.hpp"
#include "libextract/extract.hpp"
#include "libextract/frame.hpp"
#include "libextract/image.hpp"
#include "libextract/io.hpp"
#include "libextract/log.hpp"
#include "libextract/options.hpp"
#include "libextract/progress.hpp"
#include "libextract/plan.hpp"
#include "libextract/psf.hpp"
#include "libextract/simulate.hpp"
#include "libextract/spots.hpp"
#include "libextract/version.hpp"
