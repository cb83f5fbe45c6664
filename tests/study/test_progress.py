"""The progress bar of ``optimize``."""

from __future__ import annotations

import metahpo as mh


def test_a_resumed_study_shows_the_best_value_of_all_its_trials(capsys):
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    for direction, earlier, later in (("minimize", 0.1, 0.5), ("maximize", 0.9, 0.5)):
        study = mh.create_study(space=space, optimizer="random", seed=0, direction=direction)
        study.optimize(lambda t, v=earlier: v, n_trials=2, show_progress=False)
        capsys.readouterr()
        study.optimize(lambda t, v=later: v, n_trials=1, show_progress=True)
        bar = capsys.readouterr().err
        # The study's best is the earlier trials' value, not the worse one this run added.
        assert f"best {earlier:g}" in bar and f"best {later:g}" not in bar, bar


def test_the_bar_names_the_study_whole(capsys):
    study = mh.create_study(name="run[final]", space=mh.Space({"x": mh.Float(0.0, 1.0)}),
                            optimizer="random", seed=0)
    study.optimize(lambda t: 0.5, n_trials=1, show_progress=True)
    assert "run[final]" in capsys.readouterr().err
