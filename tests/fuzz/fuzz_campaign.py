#!/usr/bin/env python3
"""The seeded bad-input campaign (CTest label `fuzz`).

Every case runs the libextract executable (or the Python package, in a child
interpreter) under RLIMIT_AS and a timeout. A case passes when it exits 0 with a
complete, finite frame, or exits 1 or 2 with a message naming the mutated file or the
swept option. It fails on a signal, a timeout, exit 70 or any other status, a message
that names nothing, a leftover file (a temporary, or an output after an error) or a
changed input.

Families:
  psf-bytes, preproc-bytes   byte flips and truncations of the test PSF and preproc
  header-claims              NAXIS, NAXISn, BITPIX, PCOUNT, GCOUNT rewritten in a header
  gzip                       .gz inputs: the claims above, and a decompressed-size cap
  options                    every option each subcommand's parser registers (read from
                             its --help), at 0, -1, huge and malformed values
  python                     libextract.extract/ex2d/Psf with arguments of wrong types
                             and shapes

usage: fuzz_campaign.py --cli PATH [--seed N] [--scale X] [--work DIR] [--table]
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile

MEMORY_LIMIT = 4 << 30  # RLIMIT_AS of every case
CASE_TIMEOUT = 60  # seconds
GRID = "6000.0,6039.2,0.8"


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Campaign:
    def __init__(self, cli, work, rng):
        self.cli, self.work, self.rng = cli, work, rng
        self.counts = {}
        self.failures = []
        self.inputs = {}

    # ---- bookkeeping ----
    def record(self, family, outcome, detail=""):
        c = self.counts.setdefault(family, {"cases": 0, "clean errors": 0, "valid outputs": 0, "crashes": 0,
                                            "hangs": 0, "files left": 0, "unnamed": 0, "changed inputs": 0})
        c["cases"] += 1
        c[outcome] += 1
        if outcome not in ("clean errors", "valid outputs"):
            self.failures.append(f"{family}: {outcome}: {detail}")

    def digest(self, path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    # ---- the fixed inputs: a small CCD, 5 fibres ----
    def make_inputs(self):
        psf = os.path.join(self.work, "psf.fits")
        pre = os.path.join(self.work, "preproc.fits")
        self.run_ok(["psf", "make", "-o", psf, "--nspec", "10", "--npix-x", "200", "--npix-y", "1000"])
        self.run_ok(["simulate", "--psf", psf, "-o", pre, "--truth", os.path.join(self.work, "truth.fits"), "-w", GRID,
                     "-n", "5"])
        self.psf, self.preproc = psf, pre

    def run_ok(self, args):
        r = subprocess.run([self.cli] + args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit("fuzz: could not build the inputs: " + r.stdout + r.stderr)

    # ---- one CLI case ----
    def cli_case(self, family, args, inputs, names, frame=None):
        """Runs `libextract args` in the scratch folder. `inputs` must be unchanged after;
        after an error no new file may exist; after success `frame` (when given) must be
        a complete, finite frame. On an error the message must hold one of `names`."""
        before = {p: self.digest(p) for p in inputs if os.path.exists(p)}
        listing = set(os.listdir(self.work))
        try:
            r = subprocess.run([self.cli] + args, capture_output=True, text=True, timeout=CASE_TIMEOUT,
                               preexec_fn=limit_memory, cwd=self.work, errors="replace")
        except subprocess.TimeoutExpired:
            self.record(family, "hangs", " ".join(args))
            self.clean(listing)
            return
        message = r.stdout + r.stderr
        changed = [p for p, d in before.items() if not os.path.exists(p) or self.digest(p) != d]
        new_files = sorted(set(os.listdir(self.work)) - listing)
        temps = [f for f in new_files if ".tmp-" in f]
        what = " ".join(args) + " -> " + str(r.returncode) + ": " + message.strip()[-300:]
        if changed:
            self.record(family, "changed inputs", what)
        elif r.returncode < 0 or r.returncode not in (0, 1, 2):
            self.record(family, "crashes", what)
        elif temps or (r.returncode != 0 and new_files):
            self.record(family, "files left", what + " left " + str(new_files))
        elif r.returncode == 0:
            if frame is None or self.frame_is_valid(os.path.join(self.work, frame)):
                self.record(family, "valid outputs")
            else:
                self.record(family, "crashes", what + " (incomplete or non-finite frame)")
        elif any(n and n in message for n in names):
            self.record(family, "clean errors")
        else:
            self.record(family, "unnamed", what)
        self.clean(listing)

    def clean(self, listing):
        for f in set(os.listdir(self.work)) - listing:
            path = os.path.join(self.work, f)
            if os.path.isfile(path):
                os.remove(path)

    def frame_is_valid(self, path):
        try:
            import warnings
            from astropy.io import fits
            import numpy as np
            warnings.simplefilter("ignore")  # a mutated input's odd provenance cards are not the point
            with fits.open(path) as h:
                for name in ("FLUX", "IVAR", "RESOLUTION", "CHI2PIX", "PIXMASK_FRACTION", "WAVELENGTH"):
                    if not np.all(np.isfinite(h[name].data)):
                        return False
                return h["FLUX"].data.shape == h["IVAR"].data.shape
        except Exception:
            return False

    def extract_args(self, pre, psf, frame, extra=()):
        return ["extract", "-i", pre, "-p", psf, "-o", frame, "-w", GRID, "-n", "5", "-q"] + list(extra)

    # ---- mutators ----
    def mutate_bytes(self, data):
        data = bytearray(data)
        kind = self.rng.random()
        if kind < 0.3:  # truncation
            return bytes(data[:self.rng.randrange(0, len(data))])
        header_end = data.find(b"END     ")
        span = len(data) if kind > 0.7 or header_end < 0 else header_end + 80
        for _ in range(self.rng.choice((1, 1, 2, 4, 16))):
            i = self.rng.randrange(0, span)
            data[i] = self.rng.randrange(256) if self.rng.random() < 0.5 else data[i] ^ (1 << self.rng.randrange(8))
        return bytes(data)

    def claim_mutation(self, data):
        data = bytearray(data)
        cards = [m.start() for m in re.finditer(rb"(NAXIS\d*|BITPIX|PCOUNT|GCOUNT) *= ", bytes(data))
                 if m.start() % 80 == 0]
        if not cards:
            return bytes(data)
        at = self.rng.choice(cards)
        value = self.rng.choice(["0", "-1", "500", "999", "2147483647", "9223372036854775807", "30000", "-32", "7",
                                 "1e9", "'x'", "64", "100"])
        data[at + 10:at + 30] = value.rjust(20).encode()
        return bytes(data)

    def bytes_family(self, family, source, count, as_psf):
        original = open(source, "rb").read()
        for k in range(count):
            mutated = os.path.join(self.work, f"mut-{family}.fits")
            data = self.claim_mutation(original) if family == "header-claims" else self.mutate_bytes(original)
            with open(mutated, "wb") as f:
                f.write(data)
            pre, psf = (self.preproc, mutated) if as_psf else (mutated, self.psf)
            self.cli_case(family, self.extract_args(pre, psf, "out-frame.fits"), [self.psf, self.preproc],
                          [mutated], frame="out-frame.fits")

    def gzip_family(self, count):
        original = open(self.psf, "rb").read()
        for k in range(count):
            mutated = os.path.join(self.work, "mut-gz.fits.gz")
            data = self.claim_mutation(original) if k % 2 else self.mutate_bytes(original)
            with gzip.open(mutated, "wb") as f:
                f.write(data)
            self.cli_case("gzip", self.extract_args(self.preproc, mutated, "out-frame.fits"), [self.psf, self.preproc],
                          [mutated], frame="out-frame.fits")
        # A bomb: 64 MB of zeros behind a header that claims them, under a 16 MB cap.
        bomb = os.path.join(self.work, "bomb.fits.gz")
        header = "".join(c.ljust(80) for c in ["SIMPLE  =                    T", "BITPIX  =                    8",
                                                "NAXIS   =                    1", "NAXIS1  =             67108864",
                                                "END"]).ljust(2880)
        with gzip.open(bomb, "wb") as f:
            f.write(header.encode())
            f.write(bytes(1 << 26))
        os.environ["LIBEXTRACT_MAX_GZIP_BYTES"] = str(16 << 20)
        self.cli_case("gzip", ["psf", "info", bomb], [], [bomb])
        del os.environ["LIBEXTRACT_MAX_GZIP_BYTES"]

    # ---- option sweeps, enumerated from each parser's --help ----
    def registered_options(self, command):
        r = subprocess.run([self.cli] + command + ["--help"], capture_output=True, text=True, timeout=30)
        options = []
        for line in r.stdout.splitlines():
            m = re.match(r"^  (?:(-\w), )?(--[\w-]+)(?: (\S+))?$", line)
            if m and m.group(2) != "--help":
                options.append((m.group(1), m.group(2), m.group(3)))
        return options

    def option_family(self, values_per_option):
        frame, model = "sweep-frame.fits", "sweep-model.fits"
        bases = {
            ("extract",): self.extract_args(self.preproc, self.psf, frame),
            ("simulate",): ["simulate", "--psf", self.psf, "-o", frame, "--truth", model, "-w", GRID, "-n", "2"],
            ("psf", "make"): ["psf", "make", "-o", frame, "--nspec", "10", "--npix-x", "200", "--npix-y", "1000"],
            ("psf", "spots"): ["psf", "spots", "--psf", self.psf, "--points", self.points, "-o", frame],
        }
        swept = 0
        for command, base in bases.items():
            for short, name, metavar in self.registered_options(list(command)):
                swept += 1
                if metavar is None:  # a flag: alone, and with a value it does not take
                    cases = [[name], [name + "=1"]]
                else:
                    values = ["0", "-1", "99999999999", "1e300", "abc", "", "-", "nan", "5,6,7,8"]
                    if metavar in ("N",):
                        values += ["2147483647", "100000"]
                    self.rng.shuffle(values)
                    cases = [[name, v] for v in values[:values_per_option]]
                for extra in cases:
                    args = self.strip(base, name, short) + extra
                    # The frame is checked where the sweep leaves -o alone.
                    checked = frame if command == ("extract",) and name != "--output" else None
                    # An error may name the swept option, its value, or an input it is about.
                    names = [name, short, extra[-1] if len(extra) > 1 and extra[-1] else None, self.psf,
                             self.preproc, self.points]
                    self.cli_case("options", args, [self.psf, self.preproc, self.points], names, frame=checked)
        return swept

    @staticmethod
    def strip(base, name, short):
        """`base` without the option being swept (and its value)."""
        out, skip = [], False
        for i, a in enumerate(base):
            if skip:
                skip = False
                continue
            if a in (name, short):
                skip = i + 1 < len(base) and not base[i + 1].startswith("-")
                continue
            out.append(a)
        return out

    # ---- Python arguments of wrong types and shapes ----
    def python_family(self, pythonpath):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_python.py")
        env = dict(os.environ, PYTHONPATH=pythonpath)
        try:
            r = subprocess.run([sys.executable, script, self.psf, self.preproc, str(self.rng.randrange(1 << 30))],
                               capture_output=True, text=True, timeout=300, preexec_fn=limit_memory, env=env)
        except subprocess.TimeoutExpired:
            self.record("python", "hangs", "the Python child timed out")
            return
        if r.returncode != 0:
            self.record("python", "crashes", f"exit {r.returncode}: {r.stderr[-500:]}")
            return
        for line in r.stdout.splitlines():
            case = json.loads(line)
            self.record("python", case["outcome"], case.get("detail", ""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cli", required=True, help="the libextract executable")
    p.add_argument("--pythonpath", help="where the libextract Python package is (skips the python family if absent)")
    p.add_argument("--seed", type=int, default=int(os.environ.get("LIBEXTRACT_FUZZ_SEED", "19")))
    p.add_argument("--scale", type=float, default=1.0, help="multiplies the number of mutations")
    p.add_argument("--work", help="scratch folder (default: a new temporary one, removed after)")
    p.add_argument("--table", action="store_true", help="print the counts as a Markdown table")
    a = p.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="libextract-fuzz-")
    os.makedirs(work, exist_ok=True)
    c = Campaign(os.path.abspath(a.cli), os.path.abspath(work), random.Random(a.seed))
    c.make_inputs()
    c.points = os.path.join(c.work, "points.txt")
    with open(c.points, "w") as f:
        f.write("0 6000.0\n4 6020.0\n")
    n = max(1, int(100 * a.scale))
    c.bytes_family("psf-bytes", c.psf, n, as_psf=True)
    c.bytes_family("preproc-bytes", c.preproc, n, as_psf=False)
    c.bytes_family("header-claims", c.psf, n // 2, as_psf=True)
    c.bytes_family("header-claims", c.preproc, n // 2, as_psf=False)
    c.gzip_family(max(1, n // 5))
    c.option_family(values_per_option=4 if a.scale < 2 else 9)
    if a.pythonpath:
        c.python_family(a.pythonpath)

    total = {k: sum(f[k] for f in c.counts.values()) for k in next(iter(c.counts.values()))}
    print(f"fuzz campaign, seed {a.seed}, scale {a.scale}")
    columns = list(total)
    if a.table:
        print("| family | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
    for family, counts in list(c.counts.items()) + [("all", total)]:
        if a.table:
            print(f"| {family} | " + " | ".join(str(counts[k]) for k in columns) + " |")
        else:
            print(f"  {family:14s} " + ", ".join(f"{k} {counts[k]}" for k in columns))
    for f in c.failures[:40]:
        print("FAIL", f)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
