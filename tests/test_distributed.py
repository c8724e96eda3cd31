"""Distributed searches on loopback: scikit-learn on a Dask cluster, Keras Tuner chief/workers.

Both tests start real processes (Dask workers, or three Python processes talking
gRPC on 127.0.0.1) and keep the work tiny: 4 trials of 3 epochs on penguins.
Every wait has a hard timeout and every child is killed in a ``finally``.
"""

from __future__ import annotations

import contextlib
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
from kerastune_kit.journal import read_records
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
@contextlib.contextmanager
def _local_dask_cluster(monkeypatch):
    """Two single-threaded Dask worker processes (with nannies) and a client, on loopback."""
    distributed = pytest.importorskip("distributed")
    # spawned worker processes inherit the environment: let them import the package quietly
    monkeypatch.setenv("PYTHONPATH", _with_repo_on_path(os.environ)["PYTHONPATH"])
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    cluster = client = None
    try:
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, memory_limit=0, silence_logs=40,
        )
        client = distributed.Client(cluster, timeout=60)
        client.wait_for_workers(2, timeout=120)
        yield cluster, client
    finally:
        errors = []
        for resource in (client, cluster):  # both, even if the first one fails to close
            if resource is not None:
                try:
                    resource.close(timeout=30)
                except Exception as exc:  # closing again after a watchdog may complain
                    errors.append(exc)
        if errors and not getattr(cluster, "_watchdog_expired", False):
            raise errors[0]


def _dask_search(cluster, client, directory):
    """The random search on the cluster, stopped by a watchdog if it hangs; (result, tasks)."""
    import distributed
    import joblib

    X_train, y_train = _penguins_train()

    # a stuck search must fail, not hang: past the limit, shut the cluster
    # down (the pending fits then raise in the search)
    def shut_down():
        cluster._watchdog_expired = True
        cluster.close(timeout=30)

    watchdog = threading.Timer(DASK_SEARCH_TIMEOUT, shut_down)
    watchdog.daemon = True
    watchdog.start()
    try:
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            result = tune(
                X_train, y_train, SPACE, strategy="random", n_trials=4, cv=2, n_jobs=-1,
                preprocessor=make_preprocessor(), estimator_params={"epochs": 3},
                directory=directory, random_state=0, compare_baseline=False,
            )
        return result, stream.data
    except Exception:
        if getattr(cluster, "_watchdog_expired", False):
            pytest.fail(f"the Dask search took more than {DASK_SEARCH_TIMEOUT} s "
                        "(see the chained exceptions)")
        raise
    finally:
        watchdog.cancel()


@pytest.mark.slow
def test_sklearn_random_search_runs_on_a_local_dask_cluster(tmp_path, monkeypatch):
    pytest.importorskip("joblib")
    with _local_dask_cluster(monkeypatch) as (cluster, client):
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 2
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        result, tasks = _dask_search(cluster, client, tmp_path)

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


@pytest.mark.slow
def test_a_dask_worker_lost_mid_search_is_replaced_and_the_search_completes(
        tmp_path, monkeypatch):
    pytest.importorskip("joblib")
    journal = tmp_path / "trials.jsonl"
    killed = {}
    with _local_dask_cluster(monkeypatch) as (cluster, client):
        pids = client.run(os.getpid)  # worker address -> process id

        def kill_one_worker_mid_search():
            deadline = time.monotonic() + DASK_SEARCH_TIMEOUT
            while time.monotonic() < deadline and len(read_records(journal)) < 2:
                time.sleep(0.02)
            address, pid = sorted(pids.items())[0]
            killed.update(address=address, pid=pid, after=len(read_records(journal)))
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_one_worker_mid_search, daemon=True)
        killer.start()
        result, _ = _dask_search(cluster, client, tmp_path)
        killer.join(timeout=30)
        # the nanny started a new worker process in place of the killed one
        client.wait_for_workers(2, timeout=120)
        now = client.run(os.getpid)

    assert killed and 2 <= killed["after"] < 8, killed  # killed mid-search
    assert killed["pid"] not in now.values()
    trials = result.trials
    assert len(trials) == 4 and (trials["status"] == "ok").all(), trials[["status", "score"]]
    records = read_records(journal)
    assert {r["fit"] for r in records} == {r["fit"] for r in records if r["status"] == "ok"}
    assert len({r["fit"] for r in records}) == 4 * 2  # every (candidate, fold) fit, once


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


class _KerasTunerProcesses:
    """A chief and workers of one Keras Tuner search, each a process running the worker script."""

    def __init__(self, tmp_path: Path, **env):
        self.tmp_path = tmp_path
        self.port = _free_port()
        self.shared = tmp_path / "shared"
        self.shared.mkdir()
        self.env = _with_repo_on_path(os.environ)
        self.env.update(
            KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(self.port),
            TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
            no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost", **env)
        for key in ("KERASTUNER_TUNER_ID", "http_proxy", "https_proxy", "grpc_proxy",
                    "HTTP_PROXY", "HTTPS_PROXY"):
            self.env.pop(key, None)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict = {}
        self.deadline = time.monotonic() + KT_SEARCH_TIMEOUT

    def launch(self, tuner_id: str) -> None:
        if tuner_id in self.logs:  # a restart: the log goes on
            self.logs[tuner_id].close()
        self.logs[tuner_id] = open(self.tmp_path / f"{tuner_id}.log", "a+", encoding="utf-8")
        self.procs[tuner_id] = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), str(self.shared)],
            env={**self.env, "KERASTUNER_TUNER_ID": tuner_id}, cwd=str(self.tmp_path),
            stdout=self.logs[tuner_id], stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed as a whole
        )

    def output(self, tuner_id: str) -> str:
        if not self.logs[tuner_id].closed:
            self.logs[tuner_id].flush()
        return _read_log(self.tmp_path, tuner_id)

    def start(self, workers) -> None:
        self.launch("chief")
        # workers start once the chief's oracle is listening (so the chief has
        # already cleared the shared project folder)
        self.wait_for(lambda: _port_open(self.port), "the chief serving its oracle")
        for tuner_id in workers:
            self.launch(tuner_id)

    def wait_for(self, condition, what: str) -> None:
        while not condition():
            for tuner_id, proc in self.procs.items():
                if proc.poll() is not None and proc.returncode != 0:
                    pytest.fail(f"{tuner_id} exited {proc.returncode} before {what}:\n"
                                + self.output(tuner_id)[-4000:])
            if time.monotonic() > self.deadline:
                pytest.fail(f"no {what} after {KT_SEARCH_TIMEOUT} s")
            time.sleep(0.05)

    def finish(self) -> None:
        """Wait for every process; each must exit 0."""
        for tuner_id in [t for t in self.procs if t != "chief"] + ["chief"]:
            try:
                self.procs[tuner_id].wait(timeout=max(1.0, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{tuner_id} still running after {KT_SEARCH_TIMEOUT} s:\n" + "\n".join(
                    f"--- {k} ---\n{self.output(k)[-3000:]}" for k in self.procs))
        for tuner_id, proc in self.procs.items():
            assert proc.returncode == 0, f"{tuner_id} exited {proc.returncode}:\n" \
                                         + self.output(tuner_id)[-4000:]

    def chief_report(self) -> dict:
        chief_out = _read_log(self.tmp_path, "chief")
        lines = [line for line in chief_out.splitlines() if line.startswith("RESULT ")]
        assert len(lines) == 1, chief_out[-4000:]
        return json.loads(lines[0][len("RESULT "):])

    def close(self) -> None:
        for proc in self.procs.values():
            _kill(proc)
        for handle in self.logs.values():
            handle.close()


@pytest.mark.slow
def test_keras_tuner_chief_and_two_workers_share_one_search(tmp_path):
    pytest.importorskip("grpc")
    # KT_TEST_PEERS: see RecordTrainer in the worker script
    search = _KerasTunerProcesses(tmp_path, KT_TEST_PEERS="tuner0,tuner1")
    try:
        search.start(["tuner0", "tuner1"])
        search.finish()
    finally:
        search.close()
    shared = search.shared

    report = search.chief_report()
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
    n_worker_fits = sum(len(p.read_text().split()) for p in (ran0, ran1))
    assert n_worker_fits == 4 * 3  # one fit a fold (cv="auto": 3) per trial, no retries
    histories = read_records(shared / "kerastune-histories.jsonl")
    assert sorted(r["fold"] for r in histories) == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert not (shared / "ran-chief.txt").exists()
    assert (shared / "refit-chief.txt").read_text().split() == ["chief"]
    assert not list(shared.glob("refit-tuner*.txt"))  # workers return None, no refit
    assert (shared / "kerastune" / "oracle.json").exists()



@pytest.mark.slow
def test_a_keras_tuner_worker_killed_mid_trial_is_restarted_and_the_search_completes(tmp_path):
    pytest.importorskip("grpc")
    search = _KerasTunerProcesses(tmp_path, KT_TEST_SLOW_EPOCH="0.5")
    oracle_state = search.shared / "kerastune" / "oracle.json"

    def tuner0_trial():
        # the chief's oracle state names the trial each worker is running (written atomically)
        if not oracle_state.exists():
            return None
        return json.loads(oracle_state.read_text()).get("ongoing_trials", {}).get("tuner0")

    try:
        search.start(["tuner0", "tuner1"])
        ran0 = search.shared / "ran-tuner0.txt"
        search.wait_for(lambda: ran0.exists() and tuner0_trial() is not None,
                        "tuner0 training a trial")
        killed_trial = tuner0_trial()
        os.killpg(search.procs["tuner0"].pid, signal.SIGKILL)
        search.procs["tuner0"].wait(timeout=30)
        assert search.procs["tuner0"].returncode == -signal.SIGKILL
        trial_file = search.shared / "kerastune" / f"trial_{killed_trial}" / "trial.json"
        assert json.loads(trial_file.read_text())["status"] == "RUNNING"  # killed mid-trial

        search.launch("tuner0")  # the restarted worker, under the same id
        search.finish()
    finally:
        search.close()

    report = search.chief_report()
    assert report["n_trials"] == 4  # the whole budget
    assert report["statuses"] == ["ok"] * 4
    # the oracle gave the killed trial back to the restarted worker, which completed it
    assert json.loads(trial_file.read_text())["status"] == "COMPLETED"
    assert "WORKER-DONE tuner0" in search.output("tuner0")
    assert len((search.shared / "ran-tuner0.txt").read_text().split()) >= 2
