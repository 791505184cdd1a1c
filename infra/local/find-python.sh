#!/usr/bin/env bash
# Prints the Python to build the dev venv with: the Lambda runtime's version (3.13) when this
# machine has it, else another current one (3.12/3.14), else the default python3.
set -euo pipefail
for v in 3.13 3.12 3.14; do
  # `--version` rather than `command -v`: a pyenv shim exists even when it cannot run.
  if "python$v" --version >/dev/null 2>&1; then command -v "python$v"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for v in 3.13 3.12 3.14; do
    for p in "$root"/versions/"$v".*/bin/python"$v"; do
      if [ -x "$p" ]; then echo "$p"; exit 0; fi
    done
  done
fi
if command -v python3 >/dev/null 2>&1; then
  echo "warning: no Python 3.12+ found; using $(python3 --version 2>&1) (Lambda runs 3.13)" >&2
  command -v python3; exit 0
fi
echo "Python 3 not found: install python3.13 (or 3.12+) and retry" >&2
exit 1
