"""Host memory: after `import retrograd`, freed temporaries are reused instead of faulted in again."""
import subprocess
import sys

import pytest

STEPS = """
import resource, sys
import numpy as np
import retrograd
def step():  # the pattern of a training step: large temporaries made and dropped together
    a = np.ones(2**20); b = np.ones(2**20); c = a + b
    del a, b, c
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(env_value: str | None) -> int:
    import os

    env = {k: v for k, v in os.environ.items() if k != "RETROGRAD_SYSTEM_MALLOC"}
    if env_value is not None:
        env["RETROGRAD_SYSTEM_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_temporaries_are_reused_and_the_opt_out_leaves_malloc_alone():
    from retrograd.host_memory import keep_freed_pages

    if not keep_freed_pages():
        pytest.skip("not glibc")
    assert _faults(None) < 100  # 20 steps of 3 x 8 MiB: ~40,000 page faults where pages go back to the kernel
    assert _faults("1") > 1000
