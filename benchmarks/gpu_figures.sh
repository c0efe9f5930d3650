#!/usr/bin/env bash
# The figures issues #6 and #7 need from a lent GPU machine, in one call (docs/DEVELOPING.md).
#
#   bash benchmarks/gpu_figures.sh wheels [PYTHON_VERSION]   # here: wheels a bare CUDA image
#                                                            # lacks, into .whl/ (git-ignored)
#   bash benchmarks/gpu_figures.sh model                     # here: a trained default model,
#                                                            # .bench/trained.emmodel (ignored)
#   bash benchmarks/gpu_figures.sh run [OUT_DIR]             # there (carry .whl and .bench):
#                                                            # install the wheels, then the
#                                                            # prediction figures (#6)
#   bash benchmarks/gpu_figures.sh target [OUT_DIR]          # the first of them alone (the
#                                                            # 8192 x 8192 x 517 target, ~3 min)
#   bash benchmarks/gpu_figures.sh post [OUT_DIR]            # the post-processing figures (#7)
#   bash benchmarks/gpu_figures.sh profile [OUT_DIR]         # where a GPU job's host time goes
#
# The wheels are the versions this checkout's .venv runs, for the GPU machine's Python (3.12 by
# default). POST_SHAPE, TARGET_RUN_SHAPE and MAP_WRITER_SHAPE shrink the volumes for a dry run
# on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
MISSING='zarr|numcodecs|donfig|google[-_]crc32c|mrcfile|natsort|trimesh|fast[-_]simplification|xxhash|connected[-_]components[-_]3d'
PROFILER='py-spy==0.4.3'  # not a dependency of emstudio: only the profile step needs it
TRAINED=.bench/trained.emmodel  # a default model trained on the benchmark's phantom

# installs the carried wheels and notes the machine, into $out
setup() {
    out="$1"
    mkdir -p "$out"
    if compgen -G ".whl/*.whl" >/dev/null && [ ! -d /tmp/site ]; then  # once per machine
        python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    fi
    export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
    {
        nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no NVIDIA GPU"
        echo "cores: $(nproc)"
        # a job's map writer process needs a column of maps there (1.6 GB at 517 planes)
        echo "shared memory: $(df -h /dev/shm 2>/dev/null | tail -1)"
        # the benchmarks' stores go to /tmp: how fast its disk takes bytes durably
        echo "disk: $(dd if=/dev/zero of=/tmp/emstudio-dd bs=1M count=1024 conv=fsync 2>&1 | tail -1)"
        rm -f /tmp/emstudio-dd
        python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__)'
    } | tee "$out/machine.txt"
}

case "${1:-run}" in
wheels)
    mapfile -t pins < <(.venv/bin/python -m pip freeze | grep -i -E "^($MISSING)==")
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${2:-3.12}" \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${pins[@]}" "$PROFILER"
    ls .whl
    ;;
model)
    # the benchmark's phantom (a 32 x 512 x 512 block at 40 x 10 x 10 nm, tiled) with its truth
    # on 6 slices: a default model whose maps are a trained model's (5-7 minutes on 2 cores)
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    .venv/bin/emstudio demo --shape 32,512,512 --seed 0 "$work/phantom.emproj"
    .venv/bin/emstudio train "$work/phantom.emproj" --image em --labels truth-classes \
        --out trained --size default --epochs 8 --iterations 30 --seed 0 \
        --slices z:0,6,12,18,24,30
    mkdir -p "$(dirname "$TRAINED")"
    rm -f "$TRAINED"  # made again (export never overwrites a file)
    .venv/bin/emstudio model export "$work/phantom.emproj" trained --out "$TRAINED"
    ;;
run | target)
    setup "${2:-${OUT:-/tmp/gpu-figures}}"
    # most wanted first: a run cut short by the device time still brings these back. The
    # 8192 x 8192 x 517 target extrapolated from the steady columns of 517 x 4096 x 4096 runs
    # (16 columns: the disk's pace shows) at 40 x 10 x 10 nm (XZ and YZ upsampled 4x in z, the
    # slower case), compiled as a job that large is by default: with the trained model (maps
    # as a real job writes them), then with random weights (maps that barely compress), then
    # isotropic voxels (FIB-SEM) with the baseline beside it.
    shape="${TARGET_RUN_SHAPE:-517,4096,4096}"
    if [ -f "$TRAINED" ]; then
        python3 benchmarks/bench_predict.py --shape "$shape" --compile --model "$TRAINED" \
            --baseline-planes 0 | tee "$out/predict-trained.txt"
    fi
    [ "$1" = target ] && exit 0
    python3 benchmarks/bench_predict.py --shape "$shape" --compile --baseline-planes 0 \
        | tee "$out/predict-random.txt"
    python3 benchmarks/bench_predict.py --shape "${BASELINE_RUN_SHAPE:-517,2048,4096}" \
        --voxel 10,10,10 --baseline-planes 1 | tee "$out/predict-isotropic.txt"
    # how much of the GIL writing the maps leaves to the model's thread, in-process and not
    python3 benchmarks/bench_map_writer.py --shape "${MAP_WRITER_SHAPE:-517,2048,2048}" \
        | tee "$out/map-writer.txt"
    ;;
post)
    setup "${2:-${OUT:-/tmp/gpu-figures}}"
    # The GPU image has CuPy, which zarr imports when it can: 178 MiB more in every worker
    # process (session 12, H200: 288 MiB against about 110), so fewer workers fit the memory
    # budget. emstudio installs no CuPy: hide it, so the figures are those of our install.
    mkdir -p /tmp/no-cupy/cupy
    echo 'raise ImportError("CuPy hidden: emstudio installs none")' >/tmp/no-cupy/cupy/__init__.py
    export PYTHONPATH="/tmp/no-cupy:$PYTHONPATH"
    # what one worker holds once its libraries are loaded, library by library, and why
    python3 benchmarks/bench_worker_memory.py | tee "$out/worker-memory.txt"
    python3 benchmarks/bench_postprocess.py --shape "${POST_SHAPE:-512,2048,2048}" --skip-memory \
        | tee "$out/postprocess.txt"
    ;;
profile)
    setup "${2:-${OUT:-/tmp/gpu-figures}}"
    # Every thread of the prediction job, sampled with its native frames and its waits: in
    # every GPU run so far the XY planes, predicted while the previous column is written and
    # the next one read, took 2-10x the model time per pixel of the YZ planes predicted after.
    # The samples (collapsed stacks) say what the host is doing meanwhile.
    shape="${PROFILE_SHAPE:-517,2048,2048}"
    if /tmp/site/bin/py-spy record --subprocesses --threads --idle --native -r 50 -f raw \
        -o "$out/predict-profile.txt" -- \
        python3 benchmarks/bench_predict.py --shape "$shape" --baseline-planes 0 \
        | tee "$out/predict-profile-run.txt"; then
        gzip -f "$out/predict-profile.txt"
    else
        echo "py-spy could not sample the job on this machine (it needs ptrace)" >&2
    fi
    ;;
*)
    echo "usage: $0 wheels [PYTHON_VERSION] | model | run|target [OUT_DIR] | post [OUT_DIR] | profile [OUT_DIR]" >&2
    exit 2
    ;;
esac
