"""The command line's main job, end to end with short settings."""
import re
import subprocess
import sys

from retrograd.__main__ import main


def test_demo_prints_a_falling_loss(capsys):
    main(["demo", "--steps", "300"])
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", capsys.readouterr().out)]
    assert len(losses) == 11
    assert losses[-1] < losses[0] / 5


def test_module_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "retrograd", "--help"], capture_output=True, text=True, check=True)
    assert "demo" in out.stdout
