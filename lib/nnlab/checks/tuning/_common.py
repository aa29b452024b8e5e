"""What the checks of 05_tuning share: the notebook's name and the types of their arguments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

NOTEBOOK = "05_tuning"

Functions = Mapping[str, Callable[..., Any]]
NUMBER_TYPES = (int, float, np.integer, np.floating)
