"""`kerastune-kit tune`, `sweep` and `report`: the main job end to end, and clear errors."""

from __future__ import annotations

import json
import re
import time

import pytest

from kerastune_kit.cli import CommandError, main
from kerastune_kit.cli_search import parse_assignments, parse_dimension
from kerastune_kit.results import load_result
from kerastune_kit.space import Categorical, Fixed, Float, Int


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("16:256:16", Int(16, 256, step=16)),
        ("1:3", Int(1, 3)),
        ("1e-4:1e-1:log", Float(1e-4, 1e-1, scale="log")),
        ("0.9:0.999:reverse_log", Float(0.9, 0.999, scale="reverse_log")),
        ("0.0:0.5", Float(0.0, 0.5)),
        ("0.0:0.6:0.2", Float(0.0, 0.6, step=0.2)),
        ("0.2,0.4,0.6", Categorical([0.2, 0.4, 0.6])),
        ("relu,tanh", Categorical(["relu", "tanh"])),
        ("relu", Fixed("relu")),
        ("64", Fixed(64)),
    ],
)
def test_set_specs_become_dimensions(spec, expected):
    assert parse_dimension(spec) == expected


@pytest.mark.parametrize("items, fragment", [
    (["nodes"], "write name=spec"),
    (["nodes=1:2:3:4"], "cannot read the range"),
    (["nodes=5:1"], "nodes=5:1"),
])
def test_bad_set_specs_are_explained(items, fragment):
    with pytest.raises(CommandError, match=re.escape(fragment)):
        parse_assignments(items)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["tune", "--dataset", "iris"], "is not one of"),
        (["tune", "--dataset", "missing.csv"], "no such file"),
        (["tune", "--dataset", "{csv}"], "--target"),
        (["tune", "--dataset", "{csv}", "--target", "spieces"], "Did you mean 'species'"),
        (["tune", "--out", "/proc/no-such-place"], "not a writable folder"),
        (["tune", "--set", "nodes"], "name=spec"),
        (["report", "{tmp}"], "holds no trials.csv"),
        (["sweep", "--param", "n_layers", "--values", "1", "--seeds", "a"], "--seeds"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, fragment, tmp_path, capsys):
    csv = tmp_path / "data.csv"
    csv.write_text("a,species\n1,x\n2,y\n")
    argv = [a.format(csv=csv, tmp=tmp_path) for a in argv]
    if argv[0] == "tune" and "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    if argv[0] == "sweep":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err


def test_unknown_strategy_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as info:
        main(["tune", "--strategy", "hyperbnd"])
    assert info.value.code == 2
    assert "invalid choice: 'hyperbnd'" in capsys.readouterr().err


@pytest.mark.slow
def test_tune_runs_the_main_job_and_writes_everything(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["tune", "--budget", "2", "--cv", "2", "--epochs", "3", "--out", str(out),
            "--set", "nodes=8:32:8", "--set", "n_layers=1"]
    code = main(argv)
    assert code == 0
    printed = capsys.readouterr().out
    for expected in ("Top 2 trials", "KerasMLPClassifier", "LogisticRegression", "p_value",
                     "Test accuracy (test split, used once)", "Best parameters: n_layers=1"):
        assert expected in printed
    for name in ("trials.csv", "best_params.json", "space.json", "baseline.csv",
                 "best_model.keras", "report.html"):
        assert (out / name).exists(), name
    summary = json.loads((out / "best_params.json").read_text())
    assert set(summary["best_params"]) == {"n_layers", "nodes", "dropout", "learning_rate", "batch_size"}
    assert summary["best_params"]["nodes"] in (8, 16, 24, 32)
    assert set(summary["extra"]["test_accuracy"]) == {"KerasMLPClassifier", "LogisticRegression"}

    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page  # opens offline
    assert page.count("data:image/png;base64,") >= 4  # every plot embedded
    assert "Top trials" in page and "Comparison with the baseline (LogisticRegression)" in page
    assert "{'" not in page and "np.float64" not in page  # no raw dicts or NumPy reprs
    assert re.search(r"test accuracy \(test split, used once\)</th><td[^>]*>KerasMLPClassifier "
                     r"\d\.\d{3}, LogisticRegression \d\.\d{3}</td>", page)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.is_file()}
    assert len(set(modes.values())) == 1, modes  # every file the command writes alike

    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").exists()
    loaded = load_result(out)
    assert len(loaded.trials) == 2 and loaded.best_params_ == summary["best_params"]
    assert all(len(curve) == 3 for curve in loaded.trials["train_curve"])

    # --resume with the same arguments: every fit is replayed, none trained again
    fits = (out / "search" / "trials.jsonl").read_text()
    capsys.readouterr()
    assert main([*argv, "--resume", "-q"]) == 0
    assert (out / "search" / "trials.jsonl").read_text() == fits
    assert json.loads((out / "best_params.json").read_text())["best_params"] == \
        summary["best_params"]
    # with other arguments it refuses, and says what differs
    assert main([*argv, "--resume", "--budget", "3"]) == 2
    err = capsys.readouterr().err
    assert "n_trials was 2, now 3" in err and "--resume" in err
    assert (out / "search" / "trials.jsonl").read_text() == fits


def test_resume_needs_the_output_folder(capsys):
    assert main(["tune", "--resume"]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.slow
def test_sweep_command_prints_and_plots(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--param", "n_layers", "--values", "0,1", "--seeds", "0",
                 "--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "val_score" in printed and (out / "sweep.csv").exists() and (out / "sweep.png").exists()


@pytest.mark.slow
def test_two_sweeps_without_out_write_two_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["sweep", "--param", "n_layers", "--values", "0", "--seeds", "0", "--epochs", "1"]
    assert main(argv) == 0
    time.sleep(1.1)  # folders are named by the second
    assert main(argv) == 0
    folders = sorted((tmp_path / "kerastune_runs").iterdir())
    assert [f.name.startswith("sweep-n_layers-") for f in folders] == [True, True]
    assert all((f / "sweep.csv").exists() for f in folders)


def test_the_progress_bar_ranks_candidates_by_their_mean_over_folds(tmp_path):
    from kerastune_kit.cli._progress import scan
    from kerastune_kit.journal import append_record

    journal = tmp_path / "trials.jsonl"
    # candidate a: folds 1.0 and 0.6 (mean 0.8); candidate b: 0.9 and 0.85 (mean 0.875);
    # candidate c: one fold so far (0.99), not yet a score the search ranks by
    for key, score in [("a", 1.0), ("b", 0.9), ("a", 0.6), ("b", 0.85), ("c", 0.99)]:
        append_record(journal, {"fit": f"{key}{score}", "status": "ok", "key": key,
                                "epochs": 3, "score": score})
    append_record(journal, {"fit": "d", "status": "failed", "error": "boom"})
    count, best = scan(tmp_path, folds=2)
    assert count == 6 and best == pytest.approx(0.875)
    assert scan(tmp_path, folds=1)[1] == 1.0  # one fold per candidate: the best fit
