"""Progress on stderr: a tqdm bar on a terminal; elsewhere (CI, a log file) one line when a step starts,
so a redirected run says what it is doing without filling its log with redraws."""

from __future__ import annotations

import sys


class _Quiet:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass

    def close(self) -> None:
        pass


def progress(total: int, desc: str, *, unit: str = "item", initial: int = 0, enabled: bool = True):
    """An object with update(n), set_postfix(**values) and close()."""
    if enabled and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
    if enabled:
        done = f", {initial} done before" if initial else ""
        print(f"{desc}: {total} {unit}(s){done} ...", file=sys.stderr, flush=True)
    return _Quiet()
