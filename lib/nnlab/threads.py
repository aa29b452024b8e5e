"""Running tiny torch work on one thread.

Checks, explorers and the training loop of 05_tuning all compute on tensors of a few
hundred to a few thousand entries. For work that small, torch's thread pool costs more
in start-up and synchronisation than it saves, and on a shared machine the threads wait
for each other (measured: 1.2 ms vs 15 ms per training iteration on a busy 2-core box).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["one_thread"]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the enclosed torch code on one thread, then restore the thread count.

    Also a decorator (``@one_thread()``), for functions that only touch tiny tensors. The
    count is process-wide and explorers draw in background threads too: one that another
    thread set meanwhile (a student's ``torch.set_num_threads(4)``) is kept, not restored over.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() == 1:
            torch.set_num_threads(previous)
