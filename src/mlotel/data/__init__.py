"""Adapters from a model's inputs and outputs to named 1-D columns.

:func:`read_input` and :func:`read_output` turn whatever a predict function
receives and returns (numpy arrays, pandas objects, dicts, lists, tensors) into
a :class:`Frame` of :class:`Column` objects ready for sketching;
:func:`row_count` gives the batch size cheaply. See docs/inputs.md for how each
form maps to rows and features.
"""

from mlotel.data._frame import Column, Frame, UnreadableInput
from mlotel.data._inputs import read_input
from mlotel.data._named import names_its_columns
from mlotel.data._outputs import read_output
from mlotel.data._row_count import row_count

__all__ = [
    "Column",
    "Frame",
    "UnreadableInput",
    "names_its_columns",
    "read_input",
    "read_output",
    "row_count",
]
