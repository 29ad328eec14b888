#!/bin/sh
# berth container start-up: publish the web UI for nginx, install ML packages on first start (volume
# mode), then exec the command so it receives signals directly.
set -eu

if [ -n "${BERTH_UI_EXPORT_DIR:-}" ]; then
    python - "$BERTH_UI_EXPORT_DIR" <<'PY'
import shutil
import sys
from importlib.resources import as_file, files

with as_file(files("berth").joinpath("ui")) as ui:
    if ui.is_dir():
        shutil.copytree(ui, sys.argv[1], dirs_exist_ok=True)
    else:
        print("berth: this package has no built web UI; nginx serves the API only", file=sys.stderr)
PY
fi

if [ "${BERTH_INSTALL_ML:-0}" = "1" ]; then
    requirements='torch==2.13.0 transformers>=4.45 safetensors>=0.4 sentence-transformers>=3 onnxruntime>=1.18 tokenizers>=0.20'
    stamp="$BERTH_ML_DIR/.installed-$(printf '%s' "$requirements" | sha256sum | cut -c1-16)"
    # NOTE: workers share the volume; the lock makes the first one install and the others wait for it.
    flock "$BERTH_ML_DIR/.lock" sh -c '
        if [ ! -f "$1" ]; then
            echo "berth: installing ML packages into $BERTH_ML_DIR (first start; the pip cache volume keeps the downloads)" >&2
            find "$BERTH_ML_DIR" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
            # shellcheck disable=SC2086
            pip install --no-warn-script-location --target "$BERTH_ML_DIR" --extra-index-url https://download.pytorch.org/whl/cpu $2
            touch "$1"
        fi' sh "$stamp" "$requirements"
    export PYTHONPATH="$BERTH_ML_DIR${PYTHONPATH:+:$PYTHONPATH}"
fi

exec "$@"
