#!/bin/sh
# Re-create the explanation records of the bundled demo model in docs/explanations/current/ (the figures
# of docs/EXPLANATIONS.md): about 3 minutes on 2 idle CPU cores. Run from anywhere: it works in the
# repository root and uses the model the app ships (no --weights).
set -e
cd "$(dirname "$0")/.."
OUT=docs/explanations/current
# Development run: the rule fixed in advance picks MedGrad's form and the map the app opens on.
.venv/bin/medgrad eval-explanations --dataset synthetic --n 40 --perturb-n 40 --seed 3101 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 8 --threads 2 --out $OUT/select-dev
# Confirmation run: reports the goals on a seed no choice looked at.
.venv/bin/medgrad eval-explanations --dataset synthetic --n 100 --perturb-n 40 --seed 3202 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 12 --threads 2 --out $OUT/confirm
.venv/bin/python tools/explanation_goals.py $OUT/confirm/explanations.json > $OUT/confirm/goals.md
# Report run of the opening choice: a third seed, whatever it says.
.venv/bin/medgrad eval-explanations --dataset synthetic --n 100 --perturb-n 40 --seed 3303 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 12 --threads 2 --out $OUT/opening-3303
