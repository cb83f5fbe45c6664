#!/usr/bin/env bash
# The comparison of metahpo's optimizers and the peers on YAHPO Gym's rbv2_xgboost surrogate,
# committed under benchmarks/results/compare_rbv2_xgboost/. Needs the YAHPO data ($METAHPO_YAHPO_DATA
# or ../shared/data/yahpo) and, for DEHB and Syne Tune, their virtualenvs
# (see docs/benchmarks-runner.md). Extra arguments go to `metahpo-bench run`.
set -euo pipefail
cd "$(dirname "$0")/.."
METAHPO_BENCH=${METAHPO_BENCH:-.venv/bin/metahpo-bench}
OPTIMIZERS=random,sobol,gpbo,portfolio,random+hyperband,gpbo+hyperband,optuna-tpe,optuna-gp,optuna-tpe-hyperband,smac,smac-mf,dehb,synetune-zeroshot,synetune-boundingbox,synetune-quantile
"$METAHPO_BENCH" run --problem rbv2_xgboost --optimizers "$OPTIMIZERS" \
    --test-tasks ${TEST_TASKS:-5} --seeds ${SEEDS:-2} --trials ${TRIALS:-30} --jobs ${JOBS:-3} \
    --out "${OUT:-benchmarks/results/compare_rbv2_xgboost}" "$@"
