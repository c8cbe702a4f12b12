"""What a template's source alone says about sizes: constant integers, repetitions, loops.

`range(100000)`, `10**5`, `"x" * 1000` and literal lists have sizes the save-time
checks (`static.py`) can multiply without running anything. Every computation
is capped at `MAX_STATIC`, far beyond every limit, so none can itself be costly.
"""

from __future__ import annotations

from jinja2 import nodes

MAX_STATIC = 2**80  # beyond every limit; sizes above it are not computed exactly


def static_int(node: nodes.Node) -> int | None:
    """The value of a constant integer expression (`100000`, `10**5`, `2*50`), else None."""
    if isinstance(node, nodes.Const) and type(node.value) is int:
        return min(node.value, MAX_STATIC)
    if isinstance(node, nodes.Neg):
        value = static_int(node.node)
        return None if value is None else -value
    if not isinstance(node, nodes.Add | nodes.Sub | nodes.Mul | nodes.Pow):
        return None
    left, right = static_int(node.left), static_int(node.right)
    if left is None or right is None:
        return None
    if isinstance(node, nodes.Pow):
        if right < 0:
            return None
        if abs(left) > 1 and left.bit_length() * right > 81:
            return MAX_STATIC
        return int(left**right)
    result = left + right if isinstance(node, nodes.Add) else left - right
    if isinstance(node, nodes.Mul):
        result = left * right
    return max(min(result, MAX_STATIC), -MAX_STATIC)


def repeated_size(node: nodes.Mul) -> int | None:
    """The length of a constant text or list repeated a constant number of times."""
    for seq, times in ((node.left, node.right), (node.right, node.left)):
        count = static_int(times)
        if count is not None and isinstance(seq, nodes.Const) and isinstance(seq.value, str):
            return len(seq.value) * max(count, 0)
        if count is not None and isinstance(seq, nodes.List | nodes.Tuple):
            return len(seq.items) * max(count, 0)
    return None


def loop_size(iterable: nodes.Node) -> int | None:
    """How many items a loop over `iterable` runs, when the source alone tells."""
    if isinstance(iterable, nodes.Const) and isinstance(iterable.value, str | tuple | list):
        return len(iterable.value)
    if isinstance(iterable, nodes.List | nodes.Tuple):
        return len(iterable.items)
    if isinstance(iterable, nodes.Mul):
        return repeated_size(iterable)
    if not (
        isinstance(iterable, nodes.Call)
        and isinstance(iterable.node, nodes.Name)
        and iterable.node.name == "range"
        and not iterable.kwargs
        and 1 <= len(iterable.args) <= 3
    ):
        return None
    bounds = [static_int(arg) for arg in iterable.args]
    if None in bounds:
        return None
    numbers = [bound for bound in bounds if bound is not None]
    start, stop, step = {1: [0, *numbers, 1], 2: [*numbers, 1], 3: numbers}[len(numbers)]
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    if step < 0:
        return max(0, (start - stop - step - 1) // -step)
    return None
