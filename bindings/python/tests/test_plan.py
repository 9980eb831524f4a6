"""plan_patches: libextract's own patch plan, checked against what extract() did with
the same options (patch diagnostics, the model image's footprint)."""

import numpy as np
import pytest

import libextract
from conftest import SYNTH_GRID, SYNTH_NSPEC


def test_plan_is_the_plan_extract_runs(synth_psf, synth_image):
    result = libextract.extract(synth_image["image"], synth_image["ivar"], synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC,
                                bundlesize=5, model=True, diagnostics=True)
    plan = libextract.plan_patches(synth_psf, SYNTH_GRID, nspec=SYNTH_NSPEC, bundlesize=5)
    diag = result["diagnostics"]
    assert len(plan["bundle"]) == diag["patches"] > 1
    # Stored fibres (frame rows in the diagnostics) and columns, patch by patch.
    assert np.array_equal(plan["core_fiber_lo"] - plan["specmin"], diag["patch_fiber_lo"])
    assert np.array_equal(plan["core_fiber_hi"] - plan["specmin"], diag["patch_fiber_hi"])
    assert np.array_equal(plan["wave_lo"], diag["patch_wave_lo"])
    assert np.array_equal(plan["wave_hi"], diag["patch_wave_hi"])
    assert np.array_equal(plan["wave"], result["wave"])
    assert plan["ndiag"] == (result["Rdiags"].shape[1] - 1) // 2
    # The model is drawn only inside the patch windows, and in every one of them.
    model = result["modelimage"]
    inside = np.zeros(model.shape, bool)
    for x0, x1, y0, y1 in zip(plan["xmin"], plan["xmax"], plan["ymin"], plan["ymax"]):
        assert 0 <= x0 < x1 <= model.shape[1] and 0 <= y0 < y1 <= model.shape[0]
        assert np.any(model[y0:y1, x0:x1] != 0)
        inside[y0:y1, x0:x1] = True
    assert np.all(model[~inside] == 0)


@pytest.mark.parametrize("compat", ["gpu_specter", "specter"])
def test_plan_geometry_is_consistent(synth_psf, compat):
    plan = libextract.plan_patches(synth_psf, SYNTH_GRID, specmin=2, nspec=8, bundlesize=4, nsubbundles=2,
                                   nwavestep=40, compat=compat)
    nwave = len(plan["wave"])
    assert (plan["compat"], plan["specmin"], plan["nspec"]) == (compat, 2, 8)
    # Every (fibre, column) of the frame is stored by exactly one patch.
    stored = np.zeros((8, nwave), int)
    for i in range(len(plan["bundle"])):
        stored[plan["core_fiber_lo"][i] - 2:plan["core_fiber_hi"][i] - 2, plan["wave_lo"][i]:plan["wave_hi"][i]] += 1
    assert np.all(stored == 1)
    # Solved fibres and bins contain the stored ones; the pixels cover the stored traces.
    assert np.all(plan["fiber_lo"] <= plan["core_fiber_lo"]) and np.all(plan["core_fiber_hi"] <= plan["fiber_hi"])
    assert np.all(plan["wave_first"] <= plan["wave"][plan["wave_lo"]])
    assert np.all(plan["wave_last"] >= plan["wave"][plan["wave_hi"] - 1])
    assert np.all(plan["nwave"] >= plan["wave_hi"] - plan["wave_lo"])
    for i in range(len(plan["bundle"])):
        fibers = np.arange(plan["core_fiber_lo"][i], plan["core_fiber_hi"][i])[:, None]
        waves = plan["wave"][plan["wave_lo"][i]:plan["wave_hi"][i]][None, :]
        x, y = synth_psf.x(fibers, waves), synth_psf.y(fibers, waves)
        assert np.all((plan["xmin"][i] <= x) & (x < plan["xmax"][i])), i
        assert np.all((plan["ymin"][i] <= y) & (y < plan["ymax"][i])), i
    assert np.all(np.diff(plan["bundle"]) >= 0)


def test_plan_errors_name_the_option(synth_psf):
    with pytest.raises(libextract.InvalidArgumentError, match="(?i)wave|grid|ccd"):
        libextract.plan_patches(synth_psf, "9900.0,9990.0,0.8", nspec=5)
    with pytest.raises(ValueError, match="nsubbundles"):
        libextract.plan_patches(synth_psf, SYNTH_GRID, nspec=5, bundlesize=5, nsubbundles=7)
