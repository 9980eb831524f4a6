#!/usr/bin/env bash
# One simulated full DESI r frame (500 fibres x 2326 wavelengths, 4700 patches)
# extracted by `libextract extract --mpi` at 1 and 2 ranks of one thread each, against
# the plain single-process run: wall time, parallel efficiency T(1)/(N*T(N)), and a
# check that every frame is bitwise the single-process one. The same machine's
# OpenMP threads are measured too, for comparison. A few minutes on 2 cores.
#
# usage: bench/bench_mpi_frame.sh [--smoke] [--build DIR] [--out DIR] [--ranks "1 2"] [--repeat K]
#   --smoke   a 20-fibre frame, results left in --out only (the CTest smoke run)
#   --build   build folder with the MPI-enabled executable (default: build)
#   --out     scratch folder for inputs and frames (default: $TMPDIR/libextract-bench-mpi)
#   --ranks   rank counts to run (default: "1 2")
#   --repeat  runs of each configuration; the fastest counts (default 1; use 3 on a busy machine)
# Full runs write bench/results/bench_mpi_frame-cpu-DATE.{md,json} with the machine, the
# commit and the load average. MPIEXEC overrides mpiexec.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="$root/build"
out="${TMPDIR:-/tmp}/libextract-bench-mpi"
ranks="1 2"
repeat=1
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --build) build="$2"; shift ;;
    --out) out="$2"; shift ;;
    --ranks) ranks="$2"; shift ;;
    --repeat) repeat="$2"; shift ;;
    *) echo "bench_mpi_frame.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
cli="$build/libextract/apps/libextract"
[ -x "$cli" ] || { echo "bench_mpi_frame.sh: $cli not found (build first)" >&2; exit 2; }
"$cli" version | grep -q "mpi dispatcher: compiled" || { echo "bench_mpi_frame.sh: $cli was built without MPI" >&2; exit 2; }
mpiexec="${MPIEXEC:-mpiexec}"
mpi_flags=()
if "$mpiexec" --version 2>&1 | grep -qi 'open mpi\|openrte'; then
  mpi_flags=(--oversubscribe -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1)
  [ "$(id -u)" = 0 ] && mpi_flags+=(--allow-run-as-root)
fi
cores=$(nproc --all)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$out"

psf="$root/../shared/data/psf-r0-00051060.fits"
if [ ! -f "$psf" ]; then
  psf="$out/psf-synthetic.fits"
  [ -f "$psf" ] || "$cli" psf make -o "$psf" --camera r --seed 1 >/dev/null
fi
if [ "$smoke" = 1 ]; then
  nspec=20 grid=6000,6159.2,0.8 name=smoke
else
  nspec=500 grid=5760,7620,0.8 name=full
fi
frame_args=(-p "$psf" -n "$nspec" -w "$grid" --dtype f8)
image="$out/preproc-$name.fits"
if [ ! -f "$image" ]; then
  echo "simulating $nspec fibres x $grid -> $image"
  "$cli" simulate -p "$psf" -o "$image" --truth "$out/truth-$name.fits" -n "$nspec" -w "$grid" --seed 1 --cosmics 20 --badpix 200 >/dev/null
fi

now() { date +%s.%N; }
# Byte equality except the timestamped CHECKSUM/DATASUM cards.
same_frame() {
  python3 - "$1" "$2" <<'EOF'
import sys
def blank(p):
    b = bytearray(open(p, 'rb').read())
    for i in range(0, len(b) - 79, 80):
        if b[i:i+8] in (b'CHECKSUM', b'DATASUM '):
            b[i:i+80] = b' ' * 80
    return bytes(b)
sys.exit(0 if blank(sys.argv[1]) == blank(sys.argv[2]) else 1)
EOF
}
extract_seconds() { python3 -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['frames'][0]['extract_seconds'])" "$1" 2>/dev/null ||
                    python3 -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['extract_seconds'])" "$1"; }

# best_of CMD...: runs CMD $repeat times, prints the fastest wall time in seconds.
best_of() {
  local best="" t0 t
  for _ in $(seq "$repeat"); do
    t0=$(now)
    "$@"
    t=$(echo "$(now) - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
rows=()
t_serial=$(best_of "$cli" extract -q -i "$image" "${frame_args[@]}" --threads 1 -o "$out/frame-serial.fits" --timing "$out/serial.json")
rows+=("serial 1 1 $t_serial $(extract_seconds "$out/serial.json") yes")
echo "single process, 1 thread: ${t_serial} s"

for n in $ranks; do
  t=$(best_of "$mpiexec" "${mpi_flags[@]}" -n "$n" "$cli" extract -q --mpi -i "$image" "${frame_args[@]}" \
        -o "$out/frame-np$n.fits" --timing "$out/np$n.json")
  same=no
  same_frame "$out/frame-serial.fits" "$out/frame-np$n.fits" && same=yes
  rows+=("mpi $n 1 $t $(extract_seconds "$out/np$n.json") $same")
  echo "--mpi, $n ranks x 1 thread: ${t} s (bitwise equal: $same)"
  [ "$same" = yes ] || { echo "bench_mpi_frame.sh: the $n-rank frame differs from the single-process one" >&2; exit 1; }
done
nthreads=$(echo "$ranks" | tr ' ' '\n' | sort -n | tail -1)
if [ "$nthreads" -gt 1 ]; then
  t=$(OMP_NUM_THREADS=$nthreads best_of "$cli" extract -q -i "$image" "${frame_args[@]}" --threads "$nthreads" \
        -o "$out/frame-threads.fits" --timing "$out/threads.json")
  rows+=("openmp 1 $nthreads $t $(extract_seconds "$out/threads.json") yes")
  echo "single process, $nthreads threads: ${t} s"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
machine=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null | head -1)
[ -n "$compiler" ] && compiler="$("$compiler" --version 2>/dev/null | head -1)"
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ] && commit="$commit plus uncommitted changes"
mpi_version=$("$mpiexec" --version 2>&1 | head -1)

# Table and JSON: efficiency relative to the 1-rank --mpi run (same code path), and to serial.
stamp=$(date -u +%Y-%m-%d)
results_md="$out/bench_mpi_frame-cpu-$stamp.md"
results_json="$out/bench_mpi_frame-cpu-$stamp.json"
python3 - "$results_md" "$results_json" "$name" "$nspec" "$grid" "$cores" "$(hostname)" "$repeat" \
  "$machine" "$compiler" "$commit" "$mpi_version" "$load_start" "$load_end" "${rows[@]}" <<'EOF'
import json, sys, datetime
md, js, name, nspec, grid, cores, host, repeat, machine, compiler, commit, mpi, load0, load1 = sys.argv[1:15]
rows = [r.split() for r in sys.argv[15:]]
serial = float(rows[0][3])
mpi1 = next((float(r[3]) for r in rows if r[0] == 'mpi' and r[1] == '1'), serial)
out = []
for kind, n, threads, wall, extract, same in rows:
    workers = int(n) * int(threads)
    base = mpi1 if kind == 'mpi' else serial  # MPI runs against the 1-rank MPI run
    out.append(dict(run=kind, ranks=int(n), threads=int(threads), wall_seconds=round(float(wall), 2),
                    extract_seconds=float(extract), speedup_vs_serial=round(serial / float(wall), 3),
                    efficiency=round(base / (workers * float(wall)), 3), bitwise_equal_to_serial=same == 'yes'))
doc = dict(benchmark='bench_mpi_frame', frame=name, nspec=int(nspec), grid=grid, cores=int(cores), host=host,
           machine=machine, compiler=compiler, commit=commit, mpi=mpi, repeat=int(repeat),
           load_average_start=load0, load_average_end=load1,
           date=datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC'), runs=out)
json.dump(doc, open(js, 'w'), indent=2)
with open(md, 'w') as f:
    f.write('# bench_mpi_frame: one simulated frame, %s fibres x %s — %s\n\n' % (nspec, grid, doc['date']))
    f.write('| | |\n|---|---|\n')
    for k, v in [('machine', '%s, %s cores (%s)' % (machine, cores, host)), ('compiler', compiler),
                 ('MPI', mpi), ('commit', commit), ('runs', 'fastest of %s per configuration' % repeat),
                 ('load average', 'start %s, end %s (1, 5, 15 min)' % (load0, load1))]:
        f.write('| %s | %s |\n' % (k, v))
    f.write('\n')
    f.write('| run | ranks | threads | wall s | extract s | speed-up vs serial | efficiency | bitwise = serial |\n')
    f.write('|---|---|---|---|---|---|---|---|\n')
    for r in out:
        f.write('| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %s |\n' % (r['run'], r['ranks'], r['threads'],
                r['wall_seconds'], r['extract_seconds'], r['speedup_vs_serial'], r['efficiency'],
                'yes' if r['bitwise_equal_to_serial'] else 'NO'))
    f.write('\nwall s: the whole command (MPI start-up, reading, broadcast, extraction, gather, writing); '
            'extract s: from the plan to the finished frame on rank 0 (last run). efficiency = T(base) / (ranks x threads x T), '
            'base = the 1-rank --mpi run for MPI rows, the serial run otherwise.\n')
EOF
cat "$results_md"
if [ "$smoke" = 0 ]; then
  mkdir -p "$here/results"
  cp "$results_md" "$results_json" "$here/results/"
  echo "results: $here/results/$(basename "$results_md") and .json"
fi
