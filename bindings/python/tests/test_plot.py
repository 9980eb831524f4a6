"""libextract-plot: the demo draws every picture; each drawing function returns what it
drew, checked here against the frame's HDUs, the model, the truth and the plan (read
independently with astropy); a blank picture fails; the robust width of the
gpu_specter-mode residuals on the demo's frame is 1 within 0.05.

The demo (scripts/demo.sh, no setup) runs once into a temporary folder; its outputs are
the simulated frame every picture is drawn from. Needs the source tree, the build tree
(LIBEXTRACT_BUILD_DIR) and matplotlib + astropy (the `plot` extra); skips without them.
"""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import libextract
from conftest import REPO

plot = pytest.importorskip("libextract.plot")
pytest.importorskip("matplotlib")
fits = pytest.importorskip("astropy.io.fits")

PICTURES = ["ccd", "residual", "resolution", "quality", "spectra", "stages", "bench"]
SPECTER_PICTURES = ["ccd", "residual", "resolution", "quality"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    build = os.environ.get("LIBEXTRACT_BUILD_DIR")
    script = REPO / "scripts" / "demo.sh"
    if not build or not script.exists():
        pytest.skip("needs the source tree's scripts/demo.sh and LIBEXTRACT_BUILD_DIR")
    out = tmp_path_factory.mktemp("demo")
    env = dict(os.environ, DEMO_SKIP_SETUP="1", DEMO_OUT=str(out), BUILD_DIR=build)
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, f"scripts/demo.sh failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return out


def hdu(path, name):
    with fits.open(path, memmap=False) as hdus:
        return np.array(hdus[name].data, dtype=np.float64)


_planes = {}


def preproc_planes(path):
    """IMAGE and IVAR (0 where the extraction masks), read once per file (4k x 4k)."""
    if path not in _planes:
        image, ivar, mask = (hdu(path, n) for n in ("IMAGE", "IVAR", "MASK"))
        bits = getattr(libextract, "EXTRACT_MASK_BITS", None)  # desispec's rule, where the package has it
        ivar[(mask.astype(np.int64) & (-1 if bits is None else int(bits))) != 0] = 0.0
        _planes[path] = (image, ivar)
    return _planes[path]


def assert_png_shows_something(path):
    """A PNG of a drawn picture: not one colour, and ink on a fair share of it."""
    import matplotlib.image

    rgb = matplotlib.image.imread(str(path))[..., :3]
    assert rgb.shape[0] > 300 and rgb.shape[1] > 500, f"{path}: {rgb.shape}"
    ink = np.any(rgb < 0.9, axis=-1).mean()
    colours = len(np.unique((rgb * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert ink > 0.05 and colours > 20, f"{path}: looks blank (ink {ink:.3f}, {colours} colours)"


@pytest.fixture(scope="module")
def inputs(demo):
    frame = plot.read_frame(demo / "frame.fits")
    psf = libextract.Psf(str(demo / "psf.fits"))
    return {"frame": frame, "psf": psf, "plan": plot.frame_plan(frame, psf)}


# ------------------------------------------------------------------------- the demo


def test_demo_writes_every_picture(demo):
    names = [f"{p}.png" for p in PICTURES] + [f"specter-{p}.png" for p in SPECTER_PICTURES]
    for name in names:
        assert_png_shows_something(demo / name)
    assert not list(demo.glob(".*partial*")), "temporaries left behind"


def test_gpu_specter_residual_width_on_the_demo_frame(demo, inputs):
    image, ivar = preproc_planes(demo / "preproc.fits")
    residual = plot.residual_image(image, ivar, hdu(demo / "model.fits", "MODEL"))
    inner = plot.inner_patches(inputs["plan"])
    width, npix = plot.robust_width(residual, ivar, inner)
    assert abs(width - 1.0) < 0.05, width
    assert npix > 100000
    # The patches at the grid's ends see light from beyond the grid, which gpu_specter's
    # model (core bins only) leaves out: there the residuals are wider.
    whole, _ = plot.robust_width(residual, ivar, inputs["plan"])
    assert whole > width
    specter = plot.residual_image(image, ivar, hdu(demo / "model-specter.fits", "MODEL"))
    specter_plan = plot.frame_plan(plot.read_frame(demo / "frame-specter.fits"), inputs["psf"])
    specter_width, _ = plot.robust_width(specter, ivar, plot.inner_patches(specter_plan))
    print(f"robust width: gpu_specter {width:.4f} (all windows {whole:.4f}), specter {specter_width:.4f}")


# ------------------------------------------------------------------------- the function


def test_robust_width_is_1_4826_mad_inside_the_windows():
    plan = {"xmin": np.array([0, 10]), "xmax": np.array([5, 20]), "ymin": np.array([0, 0]),
            "ymax": np.array([1, 1])}
    residual = np.full((2, 30), 1e6)  # outside the windows: never counted
    residual[0, :5] = [1.0, 2.0, 3.0, 4.0, 100.0]  # median 3, deviations 2 1 0 1 97: MAD 1
    ivar = np.zeros((2, 30))
    ivar[0, :5] = 1.0
    residual[0, 10:20] = -50.0  # inside, but ivar = 0: not counted
    width, n = plot.robust_width(residual, ivar, plan)
    assert n == 5 and width == pytest.approx(1.4826, abs=1e-12)
    rng = np.random.default_rng(5)
    big = rng.normal(0.3, 2.0, size=(200, 300))
    big[::10, ::10] = 1e3  # 1% outliers barely move it
    plan = {"xmin": np.array([0]), "xmax": np.array([300]), "ymin": np.array([0]), "ymax": np.array([200])}
    width, n = plot.robust_width(big, np.ones_like(big), plan)
    assert n == big.size and width == pytest.approx(2.0, rel=0.03)
    with pytest.raises(ValueError, match="no pixel"):
        plot.robust_width(big, np.zeros_like(big), plan)


# ------------------------------------------------------------------------- each picture's data


def test_ccd_picture(demo, inputs, tmp_path):
    plan, psf = inputs["plan"], inputs["psf"]
    image, _ = preproc_planes(demo / "preproc.fits")
    assert np.array_equal(plot.read_preproc(demo / "preproc.fits")["image"], image)
    drawn = plot.draw_ccd(image, psf, plan, tmp_path / "ccd.png")
    assert np.array_equal(drawn["image"], image)
    fibers = np.arange(50)
    assert np.array_equal(drawn["fibers"], fibers)
    assert np.array_equal(drawn["trace_x"][7], psf.x(7, plan["wave"]))
    assert np.array_equal(drawn["trace_y"][49], psf.y(49, plan["wave"]))
    boxes = drawn["windows"]
    assert len(boxes) == len(plan["bundle"]) == 100
    assert np.array_equal(boxes[:, 2], plan["ymin"]) and np.array_equal(boxes[:, 1], plan["xmax"])
    x0, x1, y0, y1 = drawn["zoom"]
    assert drawn["extent"][0] <= x0 < x1 <= drawn["extent"][1] and drawn["extent"][2] <= y0 < y1
    assert_png_shows_something(tmp_path / "ccd.png")


def test_residual_picture(demo, inputs, tmp_path):
    plan = inputs["plan"]
    image, ivar = preproc_planes(demo / "preproc.fits")
    model = hdu(demo / "model.fits", "MODEL")
    drawn = plot.draw_residual(image, ivar, model, plan, tmp_path / "residual.png")
    inside = np.zeros(image.shape, bool)
    for x0, x1, y0, y1 in zip(plan["xmin"], plan["xmax"], plan["ymin"], plan["ymax"]):
        inside[y0:y1, x0:x1] = True
    inside &= ivar > 0
    expected = (image - model) * np.sqrt(np.where(inside, ivar, 0.0))
    assert np.array_equal(np.isfinite(drawn["residual"]), inside)
    assert np.array_equal(drawn["residual"][inside], expected[inside])
    values = expected[inside]
    assert drawn["npixels"] == values.size
    mad = np.median(np.abs(values - np.median(values)))
    assert drawn["robust_width"] == pytest.approx(1.4826 * mad, rel=1e-12)
    assert drawn["counts"].sum() + drawn["beyond"] == values.size
    assert abs(drawn["inner_width"] - 1.0) < 0.05
    assert_png_shows_something(tmp_path / "residual.png")


def test_resolution_picture(demo, inputs, tmp_path):
    drawn = plot.draw_resolution(inputs["frame"], tmp_path / "resolution.png", row=7)
    band = hdu(demo / "frame.fits", "RESOLUTION")[7]
    assert np.array_equal(drawn["band"], band) and drawn["fiber"] == 7
    c0, c1 = drawn["block"]
    nd = band.shape[0]
    ndiag = (nd - 1) // 2
    for i in range(c1 - c0):
        for j in range(c1 - c0):
            d = i - j + ndiag  # R[c0 + i, c0 + j] is diagonal d of column c0 + j
            want = band[d, c0 + j] if 0 <= d < nd else 0.0
            assert drawn["matrix"][i, j] == want
    for b, row in drawn["profiles"].items():
        assert row.sum() == pytest.approx(1.0, abs=0.02), b  # a resolution row sums to about 1
    assert_png_shows_something(tmp_path / "resolution.png")


def test_quality_picture(demo, inputs, tmp_path):
    drawn = plot.draw_quality(inputs["frame"], tmp_path / "quality.png")
    assert np.array_equal(drawn["chi2pix"], hdu(demo / "frame.fits", "CHI2PIX"))
    assert np.array_equal(drawn["pixmask_fraction"], hdu(demo / "frame.fits", "PIXMASK_FRACTION"))
    assert np.array_equal(drawn["wave"], hdu(demo / "frame.fits", "WAVELENGTH"))
    assert_png_shows_something(tmp_path / "quality.png")


def test_spectra_picture(demo, inputs, tmp_path):
    frame = inputs["frame"]
    drawn = plot.draw_spectra(frame, plot.read_truth(demo / "truth.fits"), tmp_path / "spectra.png", rows=[3, 30])
    flux, ivar = hdu(demo / "frame.fits", "FLUX"), hdu(demo / "frame.fits", "IVAR")
    res = hdu(demo / "frame.fits", "RESOLUTION")
    twave, tflux = hdu(demo / "truth.fits", "WAVELENGTH"), hdu(demo / "truth.fits", "FLUX")
    offset = int(np.argmin(np.abs(twave - frame["wave"][0])))
    nwave = flux.shape[1]
    ndiag = (res.shape[1] - 1) // 2
    for k, row in enumerate([3, 30]):
        assert np.array_equal(drawn["flux"][k], flux[row])
        good = ivar[row] > 0
        assert np.allclose(drawn["error"][k][good], 1 / np.sqrt(ivar[row][good]), rtol=1e-12)
        assert np.all(np.isnan(drawn["error"][k][~good]))
        t = tflux[row, offset:offset + nwave]
        for i in (ndiag, nwave // 2, nwave - 1 - ndiag):  # (R·t)_i, column by column
            total = sum(res[row, i - j + ndiag, j] * t[j] for j in range(i - ndiag, i + ndiag + 1))
            assert drawn["model"][k][i] == pytest.approx(total, rel=1e-12)
        lo, hi = drawn["zoom"][k]
        assert frame["wave"][0] <= lo + 12 and hi - 12 <= frame["wave"][-1]
    pull = drawn["pull"][np.isfinite(drawn["pull"])]
    assert pull.size > 900 and abs(pull.mean()) < 0.15 and 0.8 < pull.std() < 1.2
    assert_png_shows_something(tmp_path / "spectra.png")


def test_stages_picture(demo, tmp_path):
    timing = json.loads((demo / "timing.json").read_text())
    drawn = plot.draw_stages(timing, tmp_path / "stages.png")
    assert drawn["stages"] == [s["name"] for s in timing["stages"]]
    assert drawn["seconds"] == [s["seconds"] for s in timing["stages"]]
    assert drawn["phase_seconds"][-1] == timing["total_seconds"]
    assert_png_shows_something(tmp_path / "stages.png")


def test_bench_picture(demo, tmp_path):
    paths = sorted(demo.glob("bench-*.json"))
    benches = [(str(p), json.loads(p.read_text())) for p in paths]
    drawn = plot.draw_bench(benches, tmp_path / "bench.png")
    assert len(drawn["labels"]) == len(paths) == 3
    for k, (_, bench) in enumerate(benches):
        runs = {r["backend"]: r for r in bench["runs"]}
        assert drawn["seconds"][k, 0] == runs["cpu"]["best_seconds"]
        if runs["cuda"]["status"] != "ok":  # no GPU: marked "not measured", no bar
            assert np.isnan(drawn["seconds"][k, 1]) and drawn["status"][k]["cuda"] == runs["cuda"]["status"]
    threads = drawn["scaling"]["threads"]
    assert len(threads) == 1 and threads[0][0] == [1, 2]
    assert len(drawn["scaling"]["nspec"]) == 1 and drawn["scaling"]["nspec"][0][0] == [25, 50]
    assert_png_shows_something(tmp_path / "bench.png")


# ------------------------------------------------------------------------- blank pictures fail


def test_blank_pictures_fail(demo, inputs, tmp_path):
    image, ivar = preproc_planes(demo / "preproc.fits")
    with pytest.raises(plot.BlankPictureError):  # a model that is the data: all residuals 0
        plot.draw_residual(image, ivar, image, inputs["plan"], tmp_path / "r.png")
    frame = dict(inputs["frame"], chi2pix=np.full_like(inputs["frame"]["chi2pix"], np.nan))
    with pytest.raises(plot.BlankPictureError):
        plot.draw_quality(frame, tmp_path / "q.png")
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    ax.axhline(0.0, gid="guide")  # a guide line alone is no data
    with pytest.raises(plot.BlankPictureError):
        plot.check_drawn(fig)
    fig.savefig(tmp_path / "blank.png")
    with pytest.raises(AssertionError, match="blank"):
        assert_png_shows_something(tmp_path / "blank.png")
    assert not list(tmp_path.glob("*.png"))[1:], "a blank picture was written"


def test_cli_errors_name_the_file_and_write_nothing(demo, tmp_path):
    out = tmp_path / "pictures"
    code = plot.main(["--frame", str(demo / "psf.fits"), "--out", str(out)])
    assert code == 2
    assert not list(out.glob("*"))
    code = plot.main(["--frame", str(demo / "frame.fits"), "--psf", str(demo / "psf.fits"), "--model",
                      str(demo / "model.fits"), "--out", str(out)])
    assert code == 2 and not list(out.glob("*"))  # --model without --preproc
