#!/usr/bin/env bash
# The main job on a built-in default: installs what it needs, builds, makes a
# synthetic DESI-like r-camera PSF, simulates a preproc image of 50 fibres x 500
# wavelengths (continuum + emission lines, Poisson + read noise, bad pixels and
# cosmics), extracts it, prints a summary and writes a PNG plot.
#   DEMO_NSPEC=500 DEMO_WAVE=5760.0,7620.0,0.8 scripts/demo.sh   # a whole frame
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo-output}
NSPEC=${DEMO_NSPEC:-50}
WAVE=${DEMO_WAVE:-5760.0,6159.2,0.8}
[ "${DEMO_SKIP_SETUP:-0}" = "1" ] || { scripts/install_deps.sh; scripts/build.sh; }
bin=${BUILD_DIR:-build}/libextract/apps/libextract
mkdir -p "$OUT"

echo "== synthetic PSF"
"$bin" psf make -o "$OUT/psf.fits" --camera r --seed 1
"$bin" psf info "$OUT/psf.fits"
echo "== simulated image: $NSPEC fibres, grid $WAVE"
"$bin" simulate --psf "$OUT/psf.fits" -o "$OUT/preproc.fits" --truth "$OUT/truth.fits" \
  -w "$WAVE" -s 0 -n "$NSPEC" --seed 1 --cosmics 4 --badpix 40
echo "== extraction"
"$bin" extract -i "$OUT/preproc.fits" -p "$OUT/psf.fits" -o "$OUT/frame.fits" -w "$WAVE" -n "$NSPEC" \
  --timing "$OUT/timing.json" -v
echo "== summary"
python3 scripts/plot_demo.py --frame "$OUT/frame.fits" --truth "$OUT/truth.fits" --timing "$OUT/timing.json" \
  --png "$OUT/demo.png"
