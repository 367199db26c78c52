#!/bin/bash
# The GPU checks of issue #3, in one run on a machine with an NVIDIA GPU and a CUDA PyTorch (no Qt, no OpenCV):
# builds sfumato_core, sfumato-bench and the core tests against PyTorch's libtorch, runs the [gpu] conformance
# tests (CUDA fp32/fp16/bf16 against the references), the core tests on that libtorch's CPU path, and the
# GPU benchmarks. Logs go to /tmp/sfumato-cuda/ and, packed as cuda-logs-PHASES.tgz, to OUTDIR (default $OUT);
# a summary is printed last.
#
#   CATCH2_PREFIX=<prefix with lib/cmake/Catch2>  SFUMATO_CONFORMANCE_DIR=<conformance>
#   scripts/cuda_check.sh [PHASES] [OUTDIR]      PHASES: comma-separated build,tests,bench,bench2,cputests (default all)
#
# Without Catch2 the tests are not built; without conformance data the conformance tests skip.
set -u
phases=${1:-build,tests,bench,bench2,cputests}
pack=${2:-${OUT:-}}
out=/tmp/sfumato-cuda
mkdir -p "$out"
has() { [[ ",$phases," == *",$1,"* ]]; }
summary=()
note() { summary+=("$1"); echo "== $1"; }
step() {  # step NAME TIMEOUT_S COMMAND...: runs with a time limit, log in $out/NAME.log
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    local rc=$?
    note "$name: rc $rc, $((SECONDS - t0)) s"
    return $rc
}

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' \
    | tee "$out/torch.txt"
[ -d /usr/local/cuda ] && export CUDAToolkit_ROOT=/usr/local/cuda PATH=/usr/local/cuda/bin:$PATH
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
tests=OFF
[ -n "${CATCH2_PREFIX:-}" ] && tests=ON
jobs=$(nproc)

configure() {
    cmake -S . -B build/cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DSFUMATO_BUILD_UI=OFF -DSFUMATO_BUILD_CLI=OFF \
        -DSFUMATO_BUILD_TESTS=$tests -DCMAKE_PREFIX_PATH="$torch_prefix;${CATCH2_PREFIX:-}" "$@"
}
targets=(sfumato_bench)
[ $tests = ON ] && targets+=(sfumato_core_tests)
if has build; then
    step configure 300 configure
    step build 500 ninja -C build/cuda -j "$jobs" -k 0 "${targets[@]}"
    if [ ! -x build/cuda/app/sfumato-bench ]; then
        grep -E "error|FAILED" "$out/build.log" | head -40
        note "build failed: retrying without CUDA graphs"
        step configure_nographs 300 configure -DSFUMATO_CUDA_GRAPHS=OFF
        step build_nographs 500 ninja -C build/cuda -j "$jobs" -k 0 "${targets[@]}"
    fi
    grep -E "error|FAILED" "$out"/build*.log | head -40
    grep -E "Sfumato: CUDA" "$out"/configure*.log
fi

bench=build/cuda/app/sfumato-bench
tests_exe=build/cuda/tests/sfumato_core_tests
if has tests && [ -x "$tests_exe" ]; then
    step tests_gpu 300 $tests_exe "[gpu]" --durations yes
fi
if has bench && [ -x "$bench" ]; then
    step bench_unet_sd15_fp16 200 $bench --stage unet --device cuda --dtype fp16 --sizes 512,256
    step bench_pipeline_fp16 120 $bench --stage pipeline --device cuda --dtype fp16 --steps 20
fi
if has bench2 && [ -x "$bench" ]; then
    step bench_unet_sdxl_fp16 240 $bench --stage unet --device cuda --dtype fp16 --family sdxl --sizes 1024
    step bench_unet_sd15_bf16 150 $bench --stage unet --device cuda --dtype bf16 --sizes 512
    step bench_vae_bf16 120 $bench --stage vae --device cuda --dtype bf16 --sizes 512,1024
    step bench_vae_fp32 120 $bench --stage vae --device cuda --dtype fp32 --sizes 512,1024
    step bench_pipeline_bf16 120 $bench --stage pipeline --device cuda --dtype bf16 --steps 20
    step bench_pipeline_fp32 120 $bench --stage pipeline --device cuda --dtype fp32 --steps 20
fi
if has cputests && [ -x "$tests_exe" ]; then
    step tests_cpu_libtorch2 240 $tests_exe "~[gpu]~[heavy]~[.unet_bench]" --durations yes
fi

echo
echo "=================== summary"
for s in "${summary[@]}"; do echo "$s"; done
for f in "$out"/bench_*.log; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f")"
    sed -n '/^summary/,$p' "$f" | head -40
    grep -E "^error|sfumato-bench: error" "$f"
done
for f in "$out"/tests_*.log; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f")"
    grep -E "^conformance|FAILED|test cases|assertions|SKIPPED|graph replay|dB from" "$f" | head -60
done
[ -n "$pack" ] && tar czf "$pack/cuda-logs-${phases//,/-}.tgz" -C "$out" .
