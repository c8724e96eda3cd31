"""Distributed searches on loopback: scikit-learn on a Dask cluster, Keras Tuner chief/workers.

Both tests start real processes (Dask workers, or three Python processes talking
gRPC on 127.0.0.1) and keep the work tiny: 4 trials of 3 epochs on penguins.
Every wait has a hard timeout and every child is killed in a ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sklearn.model_selection import train_test_split

from kerastune_kit import load_penguins, make_preprocessor
from kerastune_kit.search import tune
from kerastune_kit.space import Float, Int, SearchSpace

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_SCRIPT = Path(__file__).resolve().parent / "_kt_distributed_worker.py"
#: seconds before a stuck search is stopped (each takes ~15 s on 2 busy cores)
DASK_SEARCH_TIMEOUT = 240
KT_SEARCH_TIMEOUT = 240

SPACE = SearchSpace(nodes=Int(8, 32, step=8), learning_rate=Float(1e-3, 3e-2, scale="log"))


def _penguins_train():
    X, y = load_penguins(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    return X_train, y_train


def _assert_in_space(params):
    assert set(params) == {"nodes", "learning_rate"}
    assert params["nodes"] in (8, 16, 24, 32)
    assert 1e-3 * (1 - 1e-9) <= params["learning_rate"] <= 3e-2 * (1 + 1e-9)


def _with_repo_on_path(env: dict) -> dict:
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    return env


# ----------------------------------------------------------------------
# scikit-learn search through joblib's Dask backend
# ----------------------------------------------------------------------
@pytest.mark.slow
def test_sklearn_random_search_runs_on_a_local_dask_cluster(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    X_train, y_train = _penguins_train()

    # spawned worker processes inherit the environment: let them import the package quietly
    monkeypatch.setenv("PYTHONPATH", _with_repo_on_path(os.environ)["PYTHONPATH"])
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")

    cluster = client = None
    expired = threading.Event()
    try:
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, memory_limit=0, silence_logs=40,
        )
        client = distributed.Client(cluster, timeout=60)
        client.wait_for_workers(2, timeout=120)
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 2
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)

        # a stuck search must fail, not hang: past the limit, shut the cluster
        # down (the pending fits then raise in the search)
        def shut_down():
            expired.set()
            cluster.close(timeout=30)

        watchdog = threading.Timer(DASK_SEARCH_TIMEOUT, shut_down)
        watchdog.daemon = True
        watchdog.start()
        try:
            with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
                result = tune(
                    X_train, y_train, SPACE, strategy="random", n_trials=4, cv=2, n_jobs=-1,
                    preprocessor=make_preprocessor(), estimator_params={"epochs": 3},
                    directory=tmp_path, random_state=0, compare_baseline=False,
                )
            tasks = stream.data
        except Exception:
            if expired.is_set():
                pytest.fail(f"the Dask search took more than {DASK_SEARCH_TIMEOUT} s "
                            "(see the chained exceptions)")
            raise
        finally:
            watchdog.cancel()
        assert not expired.is_set(), f"the Dask search took more than {DASK_SEARCH_TIMEOUT} s"
    finally:
        errors = []
        for resource in (client, cluster):  # both, even if the first one fails to close
            if resource is not None:
                try:
                    resource.close(timeout=30)
                except Exception as exc:  # closing again after the watchdog may complain
                    errors.append(exc)
        if errors and not expired.is_set():
            raise errors[0]

    trials = result.trials
    assert len(trials) == 4
    assert (trials["status"] == "ok").all(), trials[["status", "score"]]
    assert trials["score"].between(0, 1).all()
    # the curves come from the scorer, which ran in the Dask worker processes
    assert all(len(curve) == 3 for curve in trials["train_curve"]), trials["train_curve"]
    records = (tmp_path / "trials.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(records) == 4 * 2  # one line per (candidate, fold) fit
    _assert_in_space(result.best_params_)
    for _, row in trials.iterrows():
        _assert_in_space({"nodes": row["nodes"], "learning_rate": row["learning_rate"]})
    assert result.best_score_ == trials["score"].max()

    # the fits really went through the scheduler, and both workers took some
    ran_on = {task["worker"] for task in tasks}
    assert ran_on <= workers
    assert len(ran_on) == 2, f"tasks ran on {ran_on} only"
    assert len(tasks) >= 2


# ----------------------------------------------------------------------
# Keras Tuner's own distribution: a chief oracle over gRPC and two workers
# ----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_log(tmp_path: Path, tuner_id: str) -> str:
    return (tmp_path / f"{tuner_id}.log").read_text(encoding="utf-8", errors="replace")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


@pytest.mark.slow
def test_keras_tuner_chief_and_two_workers_share_one_search(tmp_path):
    pytest.importorskip("grpc")
    port = _free_port()
    shared = tmp_path / "shared"
    shared.mkdir()
    base_env = _with_repo_on_path(os.environ)
    base_env.update(
        KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port),
        TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
        KT_TEST_PEERS="tuner0,tuner1",  # see RecordTrainer in the worker script
        no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
    )
    for key in ("KERASTUNER_TUNER_ID", "http_proxy", "https_proxy", "grpc_proxy",
                "HTTP_PROXY", "HTTPS_PROXY"):
        base_env.pop(key, None)

    procs: dict[str, subprocess.Popen] = {}
    logs = {}
    deadline = time.monotonic() + KT_SEARCH_TIMEOUT

    def launch(tuner_id):
        logs[tuner_id] = open(tmp_path / f"{tuner_id}.log", "w+", encoding="utf-8")
        procs[tuner_id] = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), str(shared)],
            env={**base_env, "KERASTUNER_TUNER_ID": tuner_id}, cwd=str(tmp_path),
            stdout=logs[tuner_id], stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed as a whole below
        )

    def output(tuner_id):
        logs[tuner_id].flush()
        return _read_log(tmp_path, tuner_id)

    try:
        launch("chief")
        # workers start once the chief's oracle is listening (so the chief has
        # already cleared the shared project folder)
        while not _port_open(port):
            if procs["chief"].poll() is not None:
                pytest.fail(f"chief exited early ({procs['chief'].returncode}):\n"
                            + output("chief")[-4000:])
            if time.monotonic() > deadline:
                pytest.fail("chief never served its oracle:\n" + output("chief")[-4000:])
            time.sleep(0.5)
        launch("tuner0")
        launch("tuner1")

        for tuner_id in ("tuner0", "tuner1", "chief"):
            try:
                procs[tuner_id].wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{tuner_id} still running after {KT_SEARCH_TIMEOUT} s:\n"
                            + "\n".join(f"--- {k} ---\n{output(k)[-3000:]}" for k in procs))
        for tuner_id, proc in procs.items():
            assert proc.returncode == 0, f"{tuner_id} exited {proc.returncode}:\n" \
                                         + output(tuner_id)[-4000:]
    finally:
        for proc in procs.values():
            _kill(proc)
        for handle in logs.values():
            handle.close()

    chief_out = _read_log(tmp_path, "chief")
    lines = [line for line in chief_out.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, chief_out[-4000:]
    report = json.loads(lines[0][len("RESULT "):])
    assert report["n_trials"] == 4
    assert report["statuses"] == ["ok"] * 4
    assert all(0 <= s <= 1 for s in report["scores"])
    _assert_in_space(report["best_params"])
    assert report["best_score"] == max(report["scores"])
    assert report["epochs_trained"] == [3] * 4  # whole curves reach the chief from the workers
    for worker in ("tuner0", "tuner1"):
        assert "WORKER-DONE " + worker in _read_log(tmp_path, worker)

    # who trained: each worker ran at least one trial, the chief none (it only
    # served the oracle, then refitted the best parameters once on all the data)
    ran0 = (shared / "ran-tuner0.txt")
    ran1 = (shared / "ran-tuner1.txt")
    assert ran0.exists() and ran1.exists(), sorted(p.name for p in shared.iterdir())
    n_worker_trials = sum(len(p.read_text().split()) for p in (ran0, ran1))
    assert n_worker_trials == 4  # one fit per trial, no retries
    assert not (shared / "ran-chief.txt").exists()
    assert (shared / "refit-chief.txt").read_text().split() == ["chief"]
    assert not list(shared.glob("refit-tuner*.txt"))  # workers return None, no refit
    assert (shared / "kerastune" / "oracle.json").exists()

