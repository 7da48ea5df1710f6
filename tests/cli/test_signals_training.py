"""Ctrl-C during `descend --data` (a real process and a real SIGINT): the run ends at its
last complete update and says so in the chosen format, exit 130. The signal is sent once
the run is seen to be going (its first --jsonl progress record), never after a fixed sleep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

LINE = "(w*x + b - y)^2"
HANG_GUARD = 300  # seconds; only stops a hung process, never the thing asserted


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """20 000 samples: 50 epochs of single-sample updates take minutes, so the run is still
    going when the signal arrives."""
    path = tmp_path_factory.mktemp("d") / "big.csv"
    subprocess.run([sys.executable, "-m", "backprop_cli", "data", "linear", "--n", "20000",
                    "--seed", "2", "--output", str(path), "--quiet"], check=True)  # fmt: skip
    return str(path)


def start(big: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    return subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", "descend", LINE, "--data", big, "--at", "w=0,b=0",
         "--eta", "0.01", "--batch-size", "1", "--epochs", "50", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_ctrl_c_mid_epoch_ends_jsonl_with_an_interrupted_summary(big):
    p = start(big, "--jsonl")
    fd = p.stdout.fileno()  # read the descriptor itself: communicate() reads it after us
    got = b""
    while b"\n" not in got:  # readiness: the first record, the run is going
        chunk = os.read(fd, 65536)
        assert chunk, "the process ended before its first record"
        got += chunk
    line, _, more = got.decode().partition("\n")
    first = json.loads(line)
    assert first["record"] == "progress"
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=HANG_GUARD)
    assert p.returncode == 130, err
    recs = [first] + [json.loads(x) for x in (more + rest).splitlines()]  # every line complete
    summary = recs[-1]
    assert summary["record"] == "summary" and summary["status"] == "interrupted"
    res = summary["result"]
    assert res["iterations"] >= first["iteration"]
    assert set(res["values"]) == {"w", "b"} and isinstance(res["loss"], float)
    assert summary["message"].startswith("interrupted by Ctrl-C after ")
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err


def test_ctrl_c_mid_epoch_ends_json_with_one_complete_document(big):
    """--json writes its document as the run goes; readiness: its first row."""
    p = start(big, "--json")
    head = ""
    fd = p.stdout.fileno()  # read the descriptor itself: communicate() reads it after us
    while '"iterations": [{' not in head:  # readiness: the first row is out, the run goes on
        chunk = os.read(fd, 65536)
        assert chunk, "the process ended before its first row"
        head += chunk.decode()
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=HANG_GUARD)
    assert p.returncode == 130, err
    doc = json.loads(head + rest)
    assert doc["status"] == "interrupted"
    assert doc["result"]["iterations"] >= 0 and set(doc["result"]["values"]) == {"w", "b"}
    assert doc["iterations"][0]["epoch"] == 0
