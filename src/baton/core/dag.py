"""Graph algorithms over step dependencies: order, cycles and the critical path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle as a list of node names (in dependency order), or None when the graph is acyclic."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(deps, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for dep in deps.get(node, ()):
            if colour.get(dep, black) == grey:
                cycle = stack[stack.index(dep) :]
                return list(reversed(cycle))
            if colour.get(dep) == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in deps:
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes ordered so that every node comes after its dependencies (stable: declaration order breaks ties).

    The caller must have checked for cycles; a cyclic graph raises ValueError here.
    """
    remaining = {node: set(ds) for node, ds in deps.items()}
    order: list[str] = []
    while remaining:
        ready = [node for node, ds in remaining.items() if not ds]
        if not ready:
            raise ValueError("graph has a cycle")
        for node in ready:
            del remaining[node]
            order.append(node)
        for ds in remaining.values():
            ds.difference_update(ready)
    return order


def critical_path(
    deps: Mapping[str, Sequence[str]], durations: Mapping[str, float]
) -> tuple[list[str], float]:
    """The longest path through the graph, weighting each node by its duration (missing = 1.0).

    Returns the path from its first node to its last and its total duration.
    """
    finish: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    for node in topological_order(deps):
        best_dep = max(deps.get(node, ()), key=lambda d: finish[d], default=None)
        start = finish[best_dep] if best_dep is not None else 0.0
        finish[node] = start + durations.get(node, 1.0)
        previous[node] = best_dep
    if not finish:
        return [], 0.0
    last: str | None = max(finish, key=lambda n: finish[n])
    total = finish[last] if last is not None else 0.0
    path: list[str] = []
    while last is not None:
        path.append(last)
        last = previous[last]
    return list(reversed(path)), total
