"""Importing and drawing with neuralab leaves the user's matplotlib as it was (Jupyter's inline backend)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import matplotlib
matplotlib.use("svg")                      # stands in for Jupyter's inline backend: anything but Agg
matplotlib.rcParams["font.family"] = ["serif"]
import neuralab.report.plots as plots, neuralab.explain.overlay, neuralab.experiments.compare
import neuralab.tune.runner, neuralab.pipeline.gan_outputs
png = plots.confusion_png([[3, 1], [0, 4]], ["猫", "狗"])
assert png.startswith(b"\\x89PNG"), png[:8]
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert matplotlib.rcParams["font.family"] == ["serif"], matplotlib.rcParams["font.family"]
import matplotlib.pyplot as plt
assert plt.get_fignums() == []            # nothing left open in pyplot's figure list
print("ok")
"""


def test_neuralab_never_changes_the_backend_or_the_style() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
