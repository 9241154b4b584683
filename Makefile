# The README's two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test bench leaderboard table dev-table replay summary clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ohgw-bench run --task mnist1d-cnn --opt asha+ohgw --seed 8 --budget 120s --workers 2 --out runs/demo --overwrite

test: $(STAMP)
	$(PY) -m ruff check ohgw_bench tests examples
	$(PY) -m ruff format --check ohgw_bench tests examples
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) -m pytest -q tests/bench --benchmark-only --benchmark-columns=min,median,mean,rounds -p no:cacheprovider -o addopts=""

# The reference study under results/mnist1d-cnn/: about two hours on 2 cores. Resumable: re-run after an interruption.
leaderboard: $(STAMP)
	$(VENV)/bin/ohgw-bench sweep examples/reference-mnist1d.toml --n-dask-workers 1
	$(VENV)/bin/ohgw-bench leaderboard results/mnist1d-cnn --out results/mnist1d-cnn/LEADERBOARD.md
	$(VENV)/bin/ohgw-bench leaderboard results/mnist1d-cnn --format csv --out results/mnist1d-cnn/leaderboard.csv
	$(VENV)/bin/ohgw-bench leaderboard results/mnist1d-cnn --format tex --out results/mnist1d-cnn/leaderboard.tex
	$(VENV)/bin/ohgw-bench plot results/mnist1d-cnn --out results/mnist1d-cnn/figures --overwrite
	$(VENV)/bin/ohgw-bench bias results/mnist1d-cnn --out results/mnist1d-cnn/BIAS.md
	$(VENV)/bin/ohgw-bench bias results/mnist1d-cnn --format csv --out results/mnist1d-cnn/bias.csv

# The mnist1d-cnn twin table: 128 Sobol configurations x 5 arms at full fidelity, then its report.
# About two hours on 2 cores; resumable: re-run after an interruption.
TABLE_DIR := results/mnist1d-cnn-table
table: $(STAMP)
	$(VENV)/bin/ohgw-bench table build --task mnist1d-cnn --arms 'none,ohgw(eta=1),random(eta=1),ohgw(eta=3),random(eta=3)' --configs 128 --seed 0 --out $(TABLE_DIR)
	$(VENV)/bin/ohgw-bench table report $(TABLE_DIR) --out $(TABLE_DIR)/report

# The development table of the ablations (docs/ablations.md): a fresh Sobol sample (seed 1) of 64
# configurations x none, the plain step's eta grid, its random control, and each step option
# (trust region, normalised, horizon 3, lr masked out) with its own control, then its report.
# About three hours on 2 cores; resumable: re-run after an interruption.
DEV_TABLE_DIR := results/mnist1d-cnn-dev-table
DEV_MASK := dims=wd+momentum+magnitude+smoothing
DEV_ARMS := none,ohgw(eta=0.3),ohgw(eta=1),ohgw(eta=3),ohgw(eta=10),random(eta=3),$\
  ohgw(eta=3,max_step=0.1),random(eta=3,max_step=0.1),ohgw(eta=0.1,normalize=true),random(eta=0.1,normalize=true),$\
  ohgw(eta=3,horizon=3),random(eta=3,horizon=3),ohgw($(DEV_MASK),eta=3),random($(DEV_MASK),eta=3)
dev-table: $(STAMP)
	$(VENV)/bin/ohgw-bench table build --task mnist1d-cnn --arms '$(DEV_ARMS)' --configs 64 --seed 1 --out $(DEV_TABLE_DIR)
	$(VENV)/bin/ohgw-bench table report $(DEV_TABLE_DIR) --out $(DEV_TABLE_DIR)/report

# The held-out tasks' twin tables (docs/ablations.md, examples/preregistration.toml): 128 Sobol
# configurations (seed 0) x none, ohgw and random at mnist1d-cnn's eta = 1 unchanged, and the two
# pre-registered variants with their random controls, at full fidelity, then the report. One target
# per task: make heldout-table-fashion-mnist-cnn, -fashion-mnist-cnn-noisy10, -shakespeare-charlm.
# About 2-2.5 hours each on 2 cores; resumable: re-run after an interruption.
HELDOUT_TASKS := fashion-mnist-cnn fashion-mnist-cnn-noisy10 shakespeare-charlm
HELDOUT_ARMS := none,ohgw(eta=1),random(eta=1),$\
  ohgw(eta=0.1,normalize=true),random(eta=0.1,normalize=true),ohgw(eta=3,max_step=0.1),random(eta=3,max_step=0.1)
heldout-table-%: $(STAMP)
	$(VENV)/bin/ohgw-bench table build --task $* --arms '$(HELDOUT_ARMS)' --configs 128 --seed 0 --out results/$*-table
	$(VENV)/bin/ohgw-bench table report results/$*-table --out results/$*-table/report

# A held-out task's study budget: plain ASHA replayed on its table for 100 seeds with a long budget;
# the budget of its replay and validation study is about twice the median T@tau printed here.
heldout-budget-%: $(STAMP)
	$(VENV)/bin/ohgw-bench sweep --tasks $* --opts asha --seeds 0-99 --budget 600s --workers 2 \
	  --backend table:results/$*-table --out runs/budget-$* --quiet
	$(VENV)/bin/ohgw-bench leaderboard runs/budget-$*

# Each held-out task's budget (tuner seconds), set from make heldout-budget-TASK (docs/tasks.md).
HELDOUT_BUDGET_fashion-mnist-cnn :=
HELDOUT_BUDGET_fashion-mnist-cnn-noisy10 :=
HELDOUT_BUDGET_shakespeare-charlm :=
CHECK_BUDGET = @test -n "$(HELDOUT_BUDGET_$*)" || { echo "no HELDOUT_BUDGET_$* in the Makefile: run make heldout-budget-$* first"; exit 2; }

# A held-out task's replayed leaderboard (results/TASK-replay/) on its committed table, with the same
# REPLAY_RESAMPLES table resamples as mnist1d-cnn's; no training. Resumable.
heldout-replay-%: $(STAMP)
	$(CHECK_BUDGET)
	$(VENV)/bin/ohgw-bench sweep examples/replay-heldout.toml --tasks $* --backend table:results/$*-table \
	  --budget $(HELDOUT_BUDGET_$*) --out runs/replay-$* --quiet
	for b in $$(seq 0 $$(($(REPLAY_RESAMPLES) - 1))); do \
	  $(VENV)/bin/ohgw-bench sweep examples/replay-heldout.toml --tasks $* --backend table:results/$*-table \
	    --budget $(HELDOUT_BUDGET_$*) --seeds 0-99 --table-resample $$b \
	    --out runs/replay-$*-tables/resample-$$b --quiet || exit 1; \
	done
	mkdir -p results/$*-replay
	$(VENV)/bin/ohgw-bench leaderboard runs/replay-$* --format runs --out results/$*-replay/runs.parquet
	$(VENV)/bin/ohgw-bench leaderboard runs/replay-$*-tables --format runs --out results/$*-replay/resamples.parquet
	for f in md csv tex; do \
	  $(VENV)/bin/ohgw-bench leaderboard results/$*-replay/runs.parquet --resamples results/$*-replay/resamples.parquet \
	    --format $$f --out results/$*-replay/$$(test $$f = md && echo LEADERBOARD.md || echo leaderboard.$$f) || exit 1; \
	done
	$(VENV)/bin/ohgw-bench plot runs/replay-$* --out results/$*-replay/figures --overwrite

# A held-out task's real validation study (results/TASK/: ASHA x {none, ohgw, random} x 16 seeds, trained
# for real, one run at a time with 2 concurrent trials), its leaderboard and the replay-versus-real
# agreement report. Needs heldout-replay-TASK first. Resumable.
heldout-study-%: $(STAMP)
	$(CHECK_BUDGET)
	$(VENV)/bin/ohgw-bench sweep examples/study-heldout.toml --tasks $* --budget $(HELDOUT_BUDGET_$*) --n-dask-workers 1
	for f in md csv tex; do \
	  $(VENV)/bin/ohgw-bench leaderboard results/$* --format $$f \
	    --out results/$*/$$(test $$f = md && echo LEADERBOARD.md || echo leaderboard.$$f) || exit 1; \
	done
	$(VENV)/bin/ohgw-bench plot results/$* --out results/$*/figures --overwrite
	for f in md csv; do \
	  $(VENV)/bin/ohgw-bench agreement results/$* results/$*-replay/runs.parquet \
	    --resamples results/$*-replay/resamples.parquet --format $$f \
	    --out results/$*-replay/$$(test $$f = md && echo AGREEMENT.md || echo agreement.csv) || exit 1; \
	done

# The replayed leaderboard under results/mnist1d-cnn-replay/, from the committed table (no training),
# its intervals counting the table through replays on REPLAY_RESAMPLES resamples of its configurations.
REPLAY_DIR := results/mnist1d-cnn-replay
REPLAY_RESAMPLES := 20
REPLAY_LB := $(VENV)/bin/ohgw-bench leaderboard $(REPLAY_DIR)/runs.parquet --resamples $(REPLAY_DIR)/resamples.parquet
replay: $(STAMP)
	$(VENV)/bin/ohgw-bench sweep examples/replay-mnist1d.toml
	for b in $$(seq 0 $$(($(REPLAY_RESAMPLES) - 1))); do \
	  $(VENV)/bin/ohgw-bench sweep examples/replay-mnist1d-tables.toml --table-resample $$b \
	    --out runs/replay-mnist1d-tables/resample-$$b --quiet || exit 1; \
	done
	$(VENV)/bin/ohgw-bench leaderboard runs/replay-mnist1d --format runs --out $(REPLAY_DIR)/runs.parquet
	$(VENV)/bin/ohgw-bench leaderboard runs/replay-mnist1d-tables --format runs --out $(REPLAY_DIR)/resamples.parquet
	$(REPLAY_LB) --out $(REPLAY_DIR)/LEADERBOARD.md
	$(REPLAY_LB) --format csv --out $(REPLAY_DIR)/leaderboard.csv
	$(REPLAY_LB) --format tex --out $(REPLAY_DIR)/leaderboard.tex
	$(VENV)/bin/ohgw-bench plot runs/replay-mnist1d --out $(REPLAY_DIR)/figures --overwrite
	$(VENV)/bin/ohgw-bench agreement results/mnist1d-cnn $(REPLAY_DIR)/runs.parquet --resamples $(REPLAY_DIR)/resamples.parquet --out $(REPLAY_DIR)/AGREEMENT.md
	$(VENV)/bin/ohgw-bench agreement results/mnist1d-cnn $(REPLAY_DIR)/runs.parquet --resamples $(REPLAY_DIR)/resamples.parquet --format csv --out $(REPLAY_DIR)/agreement.csv

# The verdict across tasks (results/SUMMARY.md, its forest plot in results/summary/): computed from every
# committed leaderboard.csv and held-out twin-table report under results/; seconds, no training.
summary: $(STAMP)
	$(VENV)/bin/ohgw-bench summary results --preregistration examples/preregistration.toml \
	  --figures results/summary --out results/SUMMARY.md

clean:
	rm -rf $(VENV) build *.egg-info
