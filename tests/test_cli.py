"""Tests for the kerastune-kit command line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerastune_kit import __version__
from kerastune_kit import cli

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_version_subprocess_is_fast():
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kerastune_kit", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kerastune-kit {__version__}"
    # Importing TensorFlow alone takes seconds; the version must not pay for it.
    assert elapsed < 5.0


def test_importing_cli_does_not_import_heavy_modules():
    # Run in a fresh interpreter: other tests in this process may already
    # have imported TensorFlow.
    code = (
        "import sys, kerastune_kit.cli; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} "
        "& {'tensorflow', 'keras', 'sklearn', 'pandas', 'scipy'}); print(heavy)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert proc.stdout.strip() == "[]"


def test_version_in_process(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"kerastune-kit {__version__}"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["baseline", "--cv", "1"], "--cv"),
        (["baseline", "--cv", "five"], "--cv"),
        (["baseline", "--epochs", "0"], "--epochs"),
        (["baseline", "--seed", "-1"], "--seed"),
        (["baseline", "--test-size", "1.5"], "--test-size"),
        (["baseline", "--bogus"], "--bogus"),
        (["no-such-command"], "no-such-command"),
        ([], "choose a command"),
    ],
)
def test_bad_arguments_exit_nonzero(argv, fragment, capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv)
    assert excinfo.value.code != 0
    assert fragment in capsys.readouterr().err


def test_baseline_defaults_parse():
    args = cli.build_parser().parse_args(["baseline"])
    assert (args.cv, args.seed, args.epochs, args.test_size) == (5, 0, 30, 0.2)


def test_registry_dispatch(capsys):
    calls = []

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--n", type=int, default=1)

    def run(args: argparse.Namespace) -> int:
        calls.append(args.n)
        return 3

    command = cli.Subcommand("dummy-test", "A test command.", add_arguments, run)
    cli.register(command)
    try:
        assert cli.main(["dummy-test", "--n", "4"]) == 3
        assert calls == [4]
        with pytest.raises(ValueError, match="already registered"):
            cli.register(command)
    finally:
        cli.SUBCOMMANDS.pop("dummy-test")


@pytest.mark.slow
def test_baseline_command_runs(capsys):
    assert cli.main(["baseline", "--cv", "2", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "KerasMLPClassifier" in out
    assert "LogisticRegression" in out
    assert "difference" in out
    assert "p_value" in out
    assert "p = " in out
    assert "held out and not used" in out


# ----------------------------------------------------------------------
# what a newcomer sees: no TensorFlow chatter, submodules as attributes, no litter
# ----------------------------------------------------------------------
TF_CHATTER = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
              "This TensorFlow binary is optimized")


def _cli(tmp_path, *argv):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "kerastune_kit", *argv], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=600)


@pytest.mark.slow
def test_tune_prints_no_tensorflow_log_line_unless_verbose(tmp_path):
    argv = ["tune", "--budget", "1", "--cv", "2", "--epochs", "1", "--set", "n_layers=1"]
    quiet = _cli(tmp_path, *argv, "--out", "quiet", "-q")
    assert quiet.returncode == 0, quiet.stderr
    printed = quiet.stdout + quiet.stderr
    assert not [line for line in printed.splitlines() if any(c in line for c in TF_CHATTER)]
    assert "Test accuracy" in quiet.stdout
    loud = _cli(tmp_path, *argv, "--out", "loud", "-v")  # -v shows them: the check can fail
    assert loud.returncode == 0, loud.stderr
    assert any(c in loud.stderr for c in TF_CHATTER)


def test_submodules_are_attributes_right_after_import():
    code = ("import sys, kerastune_kit as k; d = k.datasets; print(d.__name__, "
            "'tensorflow' in sys.modules, 'plots' in dir(k), k.plots.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, check=True, timeout=300)
    assert proc.stdout.split() == ["kerastune_kit.datasets", "False", "True",
                                   "kerastune_kit.plots"]
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        getattr(__import__("kerastune_kit"), "nothing_here")


@pytest.mark.parametrize("argv", [
    ["tune", "--dataset", "missing.csv", "--target", "y"],
    ["tune", "--set", "nodes=16:256:0"],
    ["sweep", "--param", "nodez", "--values", "1,2"],
    ["lr-find", "--dataset", "missing.csv"],
], ids=["tune missing csv", "tune bad set", "sweep unknown param", "lr-find missing csv"])
def test_a_failed_command_leaves_no_folder_behind(tmp_path, argv):
    monkey_cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert cli.main(argv) == 2
    finally:
        os.chdir(monkey_cwd)
    assert list(tmp_path.iterdir()) == []  # no kerastune_runs/<name>-<time> left
