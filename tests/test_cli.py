"""The command line: `demo`, and `train` with each job end to end with short settings, kill and resume."""
import re
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import retrograd as rg
from retrograd.__main__ import main
from retrograd.train.jobs import blas_threads
from retrograd.train.models import digits_mlp


def test_demo_prints_a_falling_loss(capsys):
    main(["demo", "--steps", "300"])
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", capsys.readouterr().out)]
    assert len(losses) == 11
    assert losses[-1] < losses[0] / 5


def test_module_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "retrograd", "--help"], capture_output=True, text=True, check=True)
    assert "demo" in out.stdout


# ---- python -m retrograd train ----------------------------------------------------------------------------------
def _train(capsys, *argv):
    main(["train", *argv, "--no-progress"])
    return capsys.readouterr().out


def test_train_digits_mlp_end_to_end_writes_checkpoint_and_plot(tmp_path, capsys):
    out = _train(capsys, "digits-mlp", "--epochs", "3", "--out", str(tmp_path))
    assert len(re.findall(r"^epoch \d/3 ", out, re.M)) == 3
    accuracy = float(re.search(r"test accuracy (\d+\.\d+)%", out).group(1))
    assert accuracy > 80
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    state = rg.load(tmp_path / "checkpoint.safetensors")
    assert state["progress"]["epoch"] == 3
    model = digits_mlp()
    model.load_state_dict(state["model"])
    assert state["history"]["val_accuracy"][-1] == pytest.approx(accuracy / 100, abs=5e-5)


def test_train_digits_cnn_with_tiny_settings(tmp_path, capsys):
    out = _train(capsys, "digits-cnn", "--epochs", "1", "--channels", "4", "--accum", "2", "--clip", "1.0",
                 "--out", str(tmp_path))
    assert re.search(r"test accuracy \d+\.\d+%", out)
    assert (tmp_path / "checkpoint.safetensors").exists() and (tmp_path / "curves.png").exists()


def test_train_charlm_with_tiny_settings_prints_a_sample(tmp_path, capsys):
    out = _train(capsys, "charlm", "--steps", "4", "--eval-every", "2", "--block-size", "16", "--dim", "16",
                 "--depth", "1", "--heads", "2", "--batch-size", "8", "--val-windows", "8", "--sample-length", "40",
                 "--out", str(tmp_path))
    assert len(re.findall(r"^epoch \d/2 ", out, re.M)) == 2
    assert re.search(r"final validation loss \d+\.\d+", out)
    sample = out.split("(temperature 0.8) ---\n")[1]
    assert len(sample) == 40 + 1  # the characters and print's newline
    assert rg.load(tmp_path / "checkpoint.safetensors")["progress"]["step"] == 4


def test_kill_after_a_checkpoint_then_resume_gives_the_uninterrupted_run(tmp_path, capsys):
    args = ["digits-mlp", "--epochs", "4", "--hidden", "64", "--accum", "2", "--checkpoint-every", "3"]
    _train(capsys, *args, "--out", str(tmp_path / "full"))
    killed = tmp_path / "killed"
    checkpoint = killed / "checkpoint.safetensors"
    proc = subprocess.Popen([sys.executable, "-m", "retrograd", "train", *args, "--no-progress", "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not checkpoint.exists():
        assert proc.poll() is None, "the run ended before it wrote a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in two minutes"
        time.sleep(0.002)
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    total_steps = 4 * 23  # 45 micro-batches per epoch, 2 per step
    assert rg.load(checkpoint)["progress"]["step"] < total_steps

    out = _train(capsys, *args, "--out", str(killed), "--resume", str(checkpoint))
    assert "resumed from" in out
    full, resumed = (rg.load(d / "checkpoint.safetensors") for d in (tmp_path / "full", killed))
    assert resumed["progress"]["step"] == total_steps
    for key, values in full["history"].items():
        if key != "samples_per_s":
            assert resumed["history"][key] == values, key
    for name, value in full["model"].items():
        np.testing.assert_array_equal(resumed["model"][name].numpy(), value.numpy())


def test_train_help_everywhere(capsys):
    out = subprocess.run([sys.executable, "-m", "retrograd", "train", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for job in ("digits-mlp", "digits-cnn", "charlm"):
        assert job in out
        with pytest.raises(SystemExit) as exit_info:
            main(["train", job, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        for option in ("--batch-size", "--lr", "--seed", "--accum", "--clip", "--resume", "--checkpoint-every",
                       "--out", "--no-progress"):
            assert option in text, (job, option)
        assert ("--steps" in text) == (job == "charlm") and ("--epochs" in text) == (job != "charlm")


def test_train_bad_settings_exit_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "charlm", "--steps", "5", "--eval-every", "2", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "multiple of --eval-every" in capsys.readouterr().err


def test_resume_from_a_bad_or_mismatched_checkpoint_exits_with_a_message(tmp_path, capsys):
    _train(capsys, "digits-mlp", "--epochs", "1", "--hidden", "16", "--out", str(tmp_path))
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    for resume, message in (("bad.safetensors", "not a safetensors file"), ("missing.safetensors", "No such file"),
                            ("checkpoint.safetensors", "size mismatch")):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "digits-mlp", "--epochs", "2", "--out", str(tmp_path), "--no-progress",
                  "--resume", str(tmp_path / resume)])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("script, argv, expect", [("digits_mlp.py", ["1"], "test accuracy"),
                                                  ("digits_cnn.py", ["1"], "test accuracy"),
                                                  ("charlm.py", ["2", "20"], "step    2  loss")])
def test_examples_run_as_scripts(script, argv, expect, tmp_path, monkeypatch, capsys):
    examples = Path(__file__).resolve().parent.parent / "examples"
    monkeypatch.chdir(tmp_path)  # where the scripts save their weights
    monkeypatch.syspath_prepend(str(examples))  # as when run directly: digits_cnn.py imports digits_mlp
    monkeypatch.setattr(sys, "argv", [script, *argv])
    with blas_threads(1):
        runpy.run_path(str(examples / script), run_name="__main__")
    assert expect in capsys.readouterr().out


def test_graph_command_writes_dot_text(tmp_path):
    out = tmp_path / "mlp.dot"
    main(["graph", "mlp", str(out)])
    text = out.read_text()
    assert text.startswith("digraph") and "weight" in text and "dashed" in text


def test_train_with_profile_prints_the_op_table_and_writes_a_chrome_trace(tmp_path, capsys):
    import json

    main(["train", "digits-mlp", "--epochs", "1", "--no-progress", "--profile", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "Linear" in printed or "MatMul" in printed or "Addmm" in printed
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert trace["traceEvents"] and all(e["ph"] == "X" for e in trace["traceEvents"][:10])
