"""Graph algorithms over step dependencies: order, cycles and the critical path."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle as a list of node names (in dependency order), or None when the graph is acyclic.

    Depth-first without recursion: a chain of thousands of steps declared last-first must not exhaust
    Python's stack."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(deps, white)
    for root in deps:
        if colour[root] != white:
            continue
        colour[root] = grey
        path = [root]  # the grey nodes, each with what is left of its dependencies to visit
        pending = [iter(deps.get(root, ()))]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                colour[path.pop()] = black
                pending.pop()
            elif colour.get(dep, black) == grey:
                return list(reversed(path[path.index(dep) :]))
            elif colour.get(dep) == white:
                colour[dep] = grey
                path.append(dep)
                pending.append(iter(deps.get(dep, ())))
    return None


def topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes ordered so that every node comes after its dependencies (stable: declaration order breaks ties).

    In rounds, as if every node with no dependency left were taken at once: a node's round is the length
    of the longest path of dependencies leading to it, and within a round nodes keep their declaration
    order. Linear in nodes and edges (plus the sort). The caller must have checked for cycles; a cyclic
    graph, or a dependency that is not a node, raises ValueError here.
    """
    waiting = {node: len(set(ds)) for node, ds in deps.items()}
    dependents: dict[str, list[str]] = {}
    for node, ds in deps.items():
        for dep in set(ds):
            dependents.setdefault(dep, []).append(node)
    level = dict.fromkeys((node for node, count in waiting.items() if not count), 0)
    queue = deque(level)
    while queue:
        node = queue.popleft()
        for dependent in dependents.get(node, ()):
            level[dependent] = max(level.get(dependent, 0), level[node] + 1)
            waiting[dependent] -= 1
            if not waiting[dependent]:
                queue.append(dependent)
    if any(waiting.values()):
        raise ValueError("graph has a cycle")
    position = {node: index for index, node in enumerate(deps)}
    return sorted(deps, key=lambda node: (level[node], position[node]))


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
