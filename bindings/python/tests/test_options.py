"""libextract's own options: the defaults of extract/extract_file are the bound
libextract::ExtractOptions' (written once, in options.hpp), and the one C++ validation
names each argument as Python spells it."""

import inspect

import pytest

import libextract
from libextract import _libextract as _ext

DEFAULTS = _ext.ExtractOptions()
TABLE = _ext.option_table()
NUMERIC = [row for row in TABLE if row["kind"] in ("integer", "real")]


def test_desi_defaults_live_in_the_struct():
    # desi_extract_spectra's defaults (gpu_specter path), as the struct holds them.
    assert (DEFAULTS.bundlesize, DEFAULTS.nsubbundles, DEFAULTS.nwavestep, DEFAULTS.wavepad) == (25, 5, 50, 10)
    assert (DEFAULTS.pixpad_frac, DEFAULTS.wavepad_frac, DEFAULTS.regularize) == (0.8, 0.2, 0.0)
    assert DEFAULTS.psferr is None and DEFAULTS.nspec == -1 and DEFAULTS.compat == "gpu_specter"


@pytest.mark.parametrize("function", [libextract.extract, libextract.extract_file, libextract.plan_patches], ids=lambda f: f.__name__)
def test_signature_defaults_are_the_structs(function):
    params = inspect.signature(function).parameters
    compared = 0
    for row in TABLE:
        name = row["python"]
        if name in params and name not in ("nspec", "wavelengths", "model"):
            assert params[name].default == getattr(DEFAULTS, name), name
            compared += 1
    assert compared >= (14 if function is not libextract.plan_patches else 8)


def test_every_row_has_distinct_spellings():
    assert len({r["python"] for r in TABLE}) == len(TABLE)
    assert len({r["cli"] for r in TABLE}) == len(TABLE)
    assert {r["cli"] for r in TABLE} >= {"--nwavestep", "--pixpad-frac", "-w/--wavelength", "--threads"}


@pytest.fixture(scope="module")
def args(synth_psf, synth_image):
    return synth_image["image"], synth_image["ivar"], synth_psf


@pytest.mark.parametrize("row", NUMERIC, ids=[r["python"] for r in NUMERIC])
def test_out_of_range_names_the_python_argument(args, row):
    name = row["python"]
    bad = int(row["min"]) - 1 if row["kind"] == "integer" else row["min"] - 1.0
    kw = dict(wavelengths=(5760.0, 5919.2, 0.8), nspec=5, bundlesize=5)
    kw[name] = bad
    with pytest.raises(ValueError, match=f"^{name}: ") as err:
        libextract.extract(*args, **kw)
    assert "--" not in str(err.value)


def test_the_struct_validates_alone():
    o = _ext.ExtractOptions()
    _ext.validate_options(o, None)
    o.nwavestep = 0
    with pytest.raises(libextract.InvalidArgumentError, match="^nwavestep: 0 must be >= 1"):
        _ext.validate_options(o, None)
    o = _ext.ExtractOptions()
    o.pixpad_frac = float("nan")
    with pytest.raises(libextract.InvalidArgumentError, match=r"^pixpad_frac: nan must be a finite number in \[0, 1\]"):
        _ext.validate_options(o, None)


def test_extract_file_names_python_arguments(tmp_path, synth_psf_path):
    with pytest.raises(ValueError, match="^specmin: 600 is outside"):
        # Checked against the PSF before the (missing) preproc file is read.
        libextract.extract_file(tmp_path / "missing.fits", synth_psf_path, tmp_path / "f.fits", specmin=600)
    with pytest.raises(ValueError, match="^batch_patches: -1"):
        libextract.extract_file(tmp_path / "missing.fits", synth_psf_path, tmp_path / "f.fits",
                                batch_patches=-1)
    assert not (tmp_path / "f.fits").exists()
