"""The result scripts ``paired.py``, ``budget_to_target.py`` and ``ratio_to_peers.py`` on a results folder made by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "benchmarks" / "src")])
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), *args],
        capture_output=True, text=True, env=environment, timeout=120,
    )


def _write(folder: Path, runs: dict[tuple[str, str, int], list[tuple[float | None, float, float | None]]],
           run_file: dict[str, object] | None = None) -> None:
    # runs: (optimizer, task, seed) -> [(budget, loss, parent budget)], in trial order.
    folder.mkdir()
    lines, tasks = [], set()
    for (optimizer, task, seed), evaluations in runs.items():
        tasks.add(task)
        spent = 0.0
        for trial, (budget, loss, parent) in enumerate(evaluations):
            spent += (1.0 if budget is None else budget) - (parent or 0.0)
            record = {"problem": "p", "task": task, "optimizer": optimizer, "seed": seed, "trial": trial,
                      "budget": budget, "loss": loss, "cum_budget": spent, "wall_time": 0.0}
            if parent is not None:
                record["parent_budget"] = parent
            lines.append(json.dumps(record))
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "bounds.json").write_text(json.dumps({task: [0.0, 1.0] for task in tasks}))
    (folder / "run.json").write_text(json.dumps({"command": "made by hand"} if run_file is None else run_file))


def test_paired_compares_at_the_checkpoints_asked_for(tmp_path: Path) -> None:
    # "a" finds 0.2 at its 3rd evaluation, "b" only 0.5 by then: at N=3 a - b = -0.3 in each run.
    # Compared up to 7 evaluations, the default grid does not hold 4 (its nearest point is
    # 3.99), so the checkpoints asked for must be on the grid themselves.
    runs = {}
    for task in ("t1", "t2"):
        for seed in (0, 1):
            runs[("a", task, seed)] = [(None, 0.9, None), (None, 0.8, None), (None, 0.2, None), (None, 0.2, None)]
            runs[("b", task, seed)] = [(None, 0.9, None), (None, 0.8, None), (None, 0.5, None), (None, 0.1, None)]
    _write(tmp_path / "r", runs)
    done = _script("paired.py", str(tmp_path / "r"), "--trials", "7", "--checkpoints", "4,2,3,3", "--pairs", "a:b")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("| a | b |"))
    cells = [cell.strip() for cell in row.split("|")[3:-1]]
    assert "| first | second | N=2 | N=3 | N=4 |" in done.stdout  # sorted, once each
    assert cells[0].startswith("+0.0000")  # N=2: the same
    assert cells[1].startswith("-0.3000") and "4/0" in cells[1]  # N=3: a better in all 4 runs
    assert cells[2].startswith("+0.1000") and "0/4" in cells[2]  # N=4: b better

    refused = _script("paired.py", str(tmp_path / "r"), "--trials", "7", "--checkpoints", "3,9", "--pairs", "a:b")
    assert refused.returncode != 0 and "--checkpoints must be evaluation counts from 1 to --trials (7)" in refused.stderr


def test_budget_to_target_has_no_restart_figure_for_a_run_that_reports(tmp_path: Path) -> None:
    # One config trained to 8 epochs in reports at 2, 4 and 8 (each charged what it adds),
    # beside a plain run that evaluates two configs at 8 epochs.
    runs = {
        ("m", "t", 0): [(8.0, 0.5, None), (8.0, 0.01, None)],
        ("m+asha[mode=stopping]", "t", 0): [(2.0, 0.5, None), (4.0, 0.2, 2.0), (8.0, 0.01, 4.0)],
    }
    _write(tmp_path / "r", runs)
    done = _script("budget_to_target.py", str(tmp_path / "r"), "--reference", "m", "--targets", "0.05")
    assert done.returncode == 0, done.stderr
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in done.stdout.splitlines() if line.startswith("| m")}
    assert rows["m"] == ["1", "100%", "16", "1.00", "16", "1.00"]
    assert rows["m+asha[mode=stopping]"] == ["1", "100%", "n/a", "n/a", "8", "0.50"]

    # Against a stopping-mode reference there is no restart median to divide by.
    done = _script("budget_to_target.py", str(tmp_path / "r"), "--reference", "m+asha[mode=stopping]",
                   "--targets", "0.05")
    assert done.returncode == 0, done.stderr
    plain = next(line for line in done.stdout.splitlines() if line.startswith("| m |"))
    assert [c.strip() for c in plain.split("|")[2:-1]] == ["1", "100%", "16", "n/a", "16", "2.00"]


def test_budget_to_target_refuses_a_restart_accounted_run(tmp_path: Path) -> None:
    # A promotion from 2 to 8 epochs: only its parent budget tells the two accountings apart.
    runs = {("m", "t", 0): [(2.0, 0.5, None), (8.0, 0.01, 2.0)]}
    spec = {"problem": "p", "optimizers": ["m"], "seeds": [0], "n_full_evals": 1}
    accepted = {
        "hand-made, no spec": {"command": "made by hand"},
        "hand-made, no command either": {},
        "continuation run": {"command": "bench run", "spec": {**spec, "continuation": True}},
    }
    for name, run_file in accepted.items():
        _write(tmp_path / name, runs, run_file)
        done = _script("budget_to_target.py", str(tmp_path / name), "--reference", "m", "--targets", "0.05")
        assert done.returncode == 0, (name, done.stderr)
        row = next(line for line in done.stdout.splitlines() if line.startswith("| m |"))
        assert [c.strip() for c in row.split("|")[2:-1]] == ["1", "100%", "10", "1.00", "8", "1.00"], name
        assert ("Run: `" in done.stdout) == ("command" in run_file), name

    # The runner reads a spec without `continuation` (runs from before the option) as restart.
    for name, stored in {"restart run": {"continuation": False}, "older restart run": {}}.items():
        _write(tmp_path / name, runs, {"command": "bench run", "spec": {**spec, **stored}})
        refused = _script("budget_to_target.py", str(tmp_path / name), "--reference", "m")
        assert refused.returncode == 2, (name, refused.stderr)
        expected = "continuation False" if stored else "continuation unset"
        assert f"was run without --continuation (its run.json spec has {expected})" in refused.stderr, name
        assert refused.stdout == "", name


def _peer_runs(losses: dict[str, float], tasks: tuple[str, ...] = ("t1", "t2"), seeds: tuple[int, ...] = (0, 1),
               ) -> dict[tuple[str, str, int], list[tuple[float | None, float, float | None]]]:
    # Five evaluations without fidelity per run, the last finding the optimizer's loss.
    return {(name, task, seed): [(None, 0.9, None)] * 4 + [(None, loss, None)]
            for name, loss in losses.items() for task in tasks for seed in seeds}


def _ratio_rows(stdout: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")[1:-1]] for line in stdout.splitlines() if line.startswith("| 5 |")]


def test_ratio_to_peers_leaves_out_ablations_and_relabelled_runs(tmp_path: Path) -> None:
    runs = _peer_runs({"metabo": 0.2, "gpbo": 0.4, "random": 0.5, "portfolio": 0.1})
    # Ablations, relabelled runs and MetaBO variants, run on one task x seed only: not peers,
    # so they neither win nor make the peers unpaired.
    runs |= _peer_runs({"gpbo[inverse]": 0.0, "gpbo;before": 0.0, "metabo[nowarm]": 0.0}, ("t1",), (0,))
    _write(tmp_path / "r", runs)
    done = _script("ratio_to_peers.py", str(tmp_path / "r"), "--trials", "5")
    assert done.returncode == 0, done.stderr
    assert "metabo ÷ the best peer (gpbo, portfolio, random)" in done.stdout
    assert _ratio_rows(done.stdout) == [["5", "0.2000", "portfolio 0.1000", "2.00×", "gpbo 0.4000", "0.50×"]]

    # Divided by another optimizer, that optimizer is no peer of itself.
    done = _script("ratio_to_peers.py", str(tmp_path / "r"), "--trials", "5", "--metabo", "random")
    assert done.returncode == 0, done.stderr
    assert "random ÷ the best peer (gpbo, portfolio)" in done.stdout
    assert _ratio_rows(done.stdout) == [["5", "0.5000", "portfolio 0.1000", "5.00×", "gpbo 0.4000", "1.25×"]]

    # Portfolio peers alone leave the second comparison empty.
    done = _script("ratio_to_peers.py", str(tmp_path / "r"), "--trials", "5", "--peers", "portfolio")
    assert done.returncode == 0, done.stderr
    assert _ratio_rows(done.stdout) == [["5", "0.2000", "portfolio 0.1000", "2.00×", "n/a", "n/a"]]


def test_ratio_to_peers_refuses_unpaired_peers(tmp_path: Path) -> None:
    runs = _peer_runs({"metabo": 0.2, "gpbo": 0.4})
    runs |= _peer_runs({"random": 0.1}, ("t1", "t3"))  # t2 missing, t3 extra
    _write(tmp_path / "r", runs)
    refused = _script("ratio_to_peers.py", str(tmp_path / "r"), "--trials", "5")
    assert refused.returncode == 2, refused.stderr
    assert "random (lacks t2/0, t2/1, adds t3/0, t3/1): not run on the same tasks x seeds as 'metabo'" in refused.stderr
    assert "gpbo (" not in refused.stderr  # paired: not named
    assert refused.stdout == ""

    # The peers that were paired, named, are compared.
    done = _script("ratio_to_peers.py", str(tmp_path / "r"), "--trials", "5", "--peers", "gpbo")
    assert done.returncode == 0, done.stderr
    assert "metabo ÷ the best peer (gpbo)" in done.stdout
    assert _ratio_rows(done.stdout) == [["5", "0.2000", "gpbo 0.4000", "0.50×", "gpbo 0.4000", "0.50×"]]


def test_ratio_to_peers_refuses_peers_it_cannot_divide_by(tmp_path: Path) -> None:
    _write(tmp_path / "r", _peer_runs({"metabo": 0.2, "gpbo": 0.4, "gpbo[inverse]": 0.3}))
    cases = {
        ("--peers", "gpbo,sgd"): "--peers ['sgd'] have no runs in",
        ("--peers", "gpbo,metabo"): "--peers must not name --metabo 'metabo'",
        ("--peers", " , "): "has no peer of 'metabo'",
    }
    for arguments, message in cases.items():
        refused = _script("ratio_to_peers.py", str(tmp_path / "r"), "--trials", "5", *arguments)
        assert refused.returncode == 2, (arguments, refused.stderr)
        assert message in refused.stderr, (arguments, refused.stderr)

    # Nothing but MetaBO and ablations: no peer to divide by.
    _write(tmp_path / "alone", _peer_runs({"metabo": 0.2, "gpbo[inverse]": 0.3, "metabo[nowarm]": 0.1}))
    refused = _script("ratio_to_peers.py", str(tmp_path / "alone"), "--trials", "5")
    assert refused.returncode == 2, refused.stderr
    assert "has no peer of 'metabo'" in refused.stderr and "['gpbo[inverse]', 'metabo', 'metabo[nowarm]']" in refused.stderr
