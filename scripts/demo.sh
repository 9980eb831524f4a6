#!/usr/bin/env bash
# The main job on a built-in default: installs what it needs, builds, makes a
# synthetic DESI-like r-camera PSF, simulates a preproc image of 50 fibres x 500
# wavelengths (continuum + emission lines, Poisson + read noise, bad pixels and
# cosmics), extracts it in gpu_specter mode (DESI's) and in specter mode with their
# model images, benchmarks the extraction at 1 and 2 threads and 25 and 50 fibres,
# and draws every picture of libextract-plot into demo-output/ with a summary.
#   DEMO_NSPEC=500 DEMO_WAVE=5760.0,7620.0,0.8 scripts/demo.sh   # a whole frame
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${DEMO_OUT:-demo-output}
NSPEC=${DEMO_NSPEC:-50}
WAVE=${DEMO_WAVE:-5760.0,6159.2,0.8}
BUILD=${BUILD_DIR:-build}
[ "${DEMO_SKIP_SETUP:-0}" = "1" ] || { scripts/install_deps.sh; scripts/build.sh -DLIBEXTRACT_BUILD_PYTHON=ON; }
bin=$BUILD/libextract/apps/libextract
plot() { PYTHONPATH="$BUILD/bindings/python/package${PYTHONPATH:+:$PYTHONPATH}" python3 -m libextract.plot "$@"; }
mkdir -p "$OUT"

echo "== synthetic PSF"
"$bin" psf make -o "$OUT/psf.fits" --camera r --seed 1
"$bin" psf info "$OUT/psf.fits"
echo "== simulated image: $NSPEC fibres, grid $WAVE"
"$bin" simulate --psf "$OUT/psf.fits" -o "$OUT/preproc.fits" --truth "$OUT/truth.fits" \
  -w "$WAVE" -s 0 -n "$NSPEC" --seed 1 --cosmics 4 --badpix 40
echo "== extraction (gpu_specter mode, DESI's)"
"$bin" extract -i "$OUT/preproc.fits" -p "$OUT/psf.fits" -o "$OUT/frame.fits" -w "$WAVE" -n "$NSPEC" \
  -m "$OUT/model.fits" --timing "$OUT/timing.json" -v
echo "== extraction (specter mode), for its residuals"
"$bin" extract -i "$OUT/preproc.fits" -p "$OUT/psf.fits" -o "$OUT/frame-specter.fits" -w "$WAVE" -n "$NSPEC" \
  --compat specter -m "$OUT/model-specter.fits" -q
echo "== benchmark: every backend (a GPU is 'not available' without one), threads and fibres"
benches=()
for case in "$NSPEC 1" "$NSPEC 2" "$(( (NSPEC + 1) / 2 )) 2"; do
  set -- $case
  "$bin" bench -i "$OUT/preproc.fits" -p "$OUT/psf.fits" -w "$WAVE" -n "$1" --threads "$2" \
    --json "$OUT/bench-n$1-t$2.json" > "$OUT/bench-n$1-t$2.txt"
  benches+=("$OUT/bench-n$1-t$2.json")
done
echo "== pictures and summary"
plot --frame "$OUT/frame.fits" --psf "$OUT/psf.fits" --preproc "$OUT/preproc.fits" --model "$OUT/model.fits" \
  --truth "$OUT/truth.fits" --timing "$OUT/timing.json" --bench "${benches[@]}" --label "gpu_specter mode" \
  --out "$OUT"
echo "== specter mode"
plot --frame "$OUT/frame-specter.fits" --psf "$OUT/psf.fits" --preproc "$OUT/preproc.fits" \
  --model "$OUT/model-specter.fits" --label "specter mode" --prefix specter- --out "$OUT"
