"""A progress bar over the batches of an epoch (tqdm, imported only when a bar is shown)."""
from __future__ import annotations

import time


class ProgressBar:
    """Shows batches done, the running loss and the throughput in samples/s; does nothing when disabled."""

    def __init__(self, total: int | None, desc: str, enabled: bool = True, initial: int = 0) -> None:
        self._bar = None
        self._start = time.perf_counter()
        self._samples = 0
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError("the progress bar needs tqdm: pip install 'retrograd[train]' "
                              "(or turn the bar off: progress=False, --no-progress)") from None
        self._bar = tqdm(total=total, initial=initial, desc=desc, unit="batch", leave=False, dynamic_ncols=True)

    def update(self, samples: int, loss: float) -> None:
        """One more batch of `samples` samples, with its loss."""
        self._samples += samples
        if self._bar is None:
            return
        rate = self._samples / max(time.perf_counter() - self._start, 1e-9)
        self._bar.set_postfix_str(f"loss {loss:.4f}, {rate:,.0f} samples/s", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.refresh()  # show the final loss and throughput, however fast the epoch went
            self._bar.close()


__all__ = ["ProgressBar"]
