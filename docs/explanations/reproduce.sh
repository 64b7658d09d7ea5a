#!/bin/sh
# Re-create every number of docs/EXPLANATIONS.md (about an hour on 2 busy CPU cores).
# The two evaluation models are trained by these commands and are not bundled (see docs/EXPLANATIONS.md).
set -e
cd "$(dirname "$0")/../.."
# The pre-registered choice of MedGrad's form (docs/EXPLANATIONS.md): development run, then confirmation,
# both on the demo model bundled until 2026-12-02 (the previous one; the runs below are lost with it) (~5 and ~8 min on the shared 2-core machine).
.venv/bin/medgrad eval-explanations --dataset synthetic --n 40 --perturb-n 40 --seed 3101 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 8 --threads 2 --out docs/explanations/select-dev
.venv/bin/medgrad eval-explanations --dataset synthetic --n 100 --perturb-n 40 --seed 3202 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 12 --threads 2 --out docs/explanations/confirm
.venv/bin/python docs/explanations/goals.py docs/explanations/confirm/explanations.json > docs/explanations/confirm/goals.md
# The same two runs on the retrained demo model bundled now (run D, 2026-12-02); run C's outputs are kept in
# docs/explanations/retrained-c/ (its weights are in the git history of resources/demo/model/).
.venv/bin/medgrad eval-explanations --dataset synthetic --n 40 --perturb-n 40 --seed 3101 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 8 --threads 2 --out docs/explanations/retrained/select-dev
.venv/bin/medgrad eval-explanations --dataset synthetic --n 100 --perturb-n 40 --seed 3202 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 12 --threads 2 --out docs/explanations/retrained/confirm
.venv/bin/python docs/explanations/goals.py docs/explanations/retrained/confirm/explanations.json \
  > docs/explanations/retrained/confirm/goals.md
# The report run of the pre-registered choice of the map the app opens on (new seed; ~2.5 min).
.venv/bin/medgrad eval-explanations --dataset synthetic --n 100 --perturb-n 40 --seed 3303 --steps 10 \
  --protocols grad-eclip/patch --forms --sanity 12 --threads 2 --out docs/explanations/retrained/opening-3303
# The shortcut suite on the bundled demo model: a short fine-tune on the shortcut variant, then its maps.
.venv/bin/python -m medgrad_desktop.evaluation.shortcut --n 300 --epochs 6 --threads 1 --out /tmp/medgrad-eval-models/demo-shortcut
.venv/bin/medgrad eval-explanations --weights /tmp/medgrad-eval-models/demo-shortcut/shortcut-model.safetensors \
  --dataset shortcut --n 100 --perturb-n 30 --seed 2026 --steps 10 --protocols grad-eclip/patch --sanity 0 \
  --threads 2 --out docs/explanations/demo-shortcut
# Below: the runs of the previous 4-class demo model and of the control models (sections 0-old to 6).
# §0: the bundled demo model (resources/demo/model/demo-model.safetensors; no --weights), ~6 min + ~1 min.
.venv/bin/medgrad eval-explanations --dataset synthetic --n 200 --perturb-n 50 --seed 2026 --steps 10 \
  --protocols grad-eclip/patch rise/pixel --sanity 10 --threads 2 --out docs/explanations/demo
.venv/bin/medgrad eval-explanations --dataset ../shared/data/ham10000-sample --n 5 --seed 2026 --steps 10 \
  --sanity 5 --threads 1 --out docs/explanations/demo-ham
# §0 "Ablation on the demo model": localization only (~2.5 min); the JSON is stored gzipped (< 2 MB).
.venv/bin/medgrad eval-explanations --dataset synthetic --n 200 --perturb-n 0 --seed 2026 --steps 10 --ablation \
  --ablation-protocols grad-eclip/patch --sanity 0 --threads 2 --out docs/explanations/demo-ablation
.venv/bin/python docs/explanations/entropy_effect.py docs/explanations/demo-ablation/explanations.json \
  > docs/explanations/demo-ablation/entropy_effect.txt
rm -f docs/explanations/demo-ablation/curves.png docs/explanations/demo-ablation/examples.png
gzip -9f docs/explanations/demo-ablation/explanations.json
M=/tmp/medgrad-eval-models
.venv/bin/python -m medgrad_desktop.evaluation.shortcut --random-init --plain --n 480 --epochs 15 --lr 1e-3 --threads 1 --out $M/plain
.venv/bin/python -m medgrad_desktop.evaluation.shortcut --random-init --n 480 --epochs 15 --lr 1e-3 --threads 1 --out $M/shortcut
.venv/bin/python -m medgrad_desktop.evaluation.shortcut --random-init --n 360 --epochs 12 --lr 1e-3 --structure-strength 0.35 --threads 1 --out $M/shortcut-faint
.venv/bin/medgrad eval-explanations --weights $M/plain/standard-model.safetensors --dataset synthetic --n 200 \
  --perturb-n 50 --seed 2026 --steps 10 --protocols grad-eclip/patch grad-eclip/pixel rise/patch rise/pixel \
  --ablation --ablation-protocols grad-eclip/patch --sanity 30 --threads 2 --out docs/explanations/synthetic
.venv/bin/medgrad eval-explanations --weights $M/shortcut/shortcut-model.safetensors --dataset shortcut --n 150 \
  --perturb-n 50 --seed 2026 --steps 10 --protocols grad-eclip/patch rise/pixel --sanity 0 --threads 1 \
  --out docs/explanations/shortcut
.venv/bin/medgrad eval-explanations --weights $M/shortcut-faint/shortcut-model.safetensors --dataset shortcut --n 120 \
  --perturb-n 30 --seed 2026 --steps 10 --protocols grad-eclip/patch rise/pixel --sanity 0 --threads 1 \
  --out docs/explanations/shortcut-faint
.venv/bin/python docs/explanations/entropy_effect.py docs/explanations/synthetic/explanations.json \
  > docs/explanations/entropy_effect.txt
.venv/bin/medgrad eval-explanations --weights $M/plain/standard-model.safetensors \
  --dataset ../shared/data/ham10000-sample --n 5 --seed 2026 --steps 10 --sanity 5 --threads 1 \
  --out docs/explanations/ham
for s in 100 10; do
  .venv/bin/medgrad eval-explanations --weights $M/plain/standard-model.safetensors --dataset synthetic --n 20 \
    --seed 2026 --steps $s --protocols grad-eclip/patch grad-eclip/pixel --sanity 0 --threads 2 \
    --out docs/explanations/steps$s
done
