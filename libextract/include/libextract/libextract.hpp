// Umbrella header: everything a program needs to use libextract.
#pragma once

#include "libextract/backend.hpp"
#include "libextract/config.hpp"
#include "libextract/errors.hpp"
#include "libextract/io.hpp"
#include "libextract/psf.hpp"
#include "libextract/spots.hpp"
