"""Minimum-cost assignment of work orders to technicians' free slots.

The problem: each order goes to at most one technician; technician t takes
at most ``len(slot_cost[t])`` new orders, the k-th one costing
``slot_cost[t][k]`` more (its load part, rising with k so that work spreads);
a forbidden pair costs ``inf``; an order left unassigned costs its
``penalty``. Orders with appointment windows given to the same technician
must not overlap. Minimise the total.

Without the overlap rule this is a rectangular assignment problem: each
technician becomes as many columns as free slots, and
``scipy.optimize.linear_sum_assignment`` solves it exactly (on profits
``penalty - cost``, so that leaving an order out is simply matching it to a
forbidden column with profit 0).

The overlap rule couples pairs of orders, which an assignment problem cannot
express. It is handled on top of the same solver:

- small problems (orders × slots up to ``exact_limit``): branch and bound.
  Solve without the rule (a lower bound); if two overlapping orders i and j
  landed on technician t, branch into "i not on t" and "j not on t" (every
  feasible solution is in one of them), best bound first. This finds the
  optimum (the tests compare it with exhaustive search);
- large problems, or a search cut short by ``node_limit`` / ``time_limit``:
  repair. On each technician keep the heaviest set of non-overlapping
  windowed orders (weighted interval scheduling), and re-solve only the
  orders left over on the slots left over, until nothing clashes. The
  result is feasible and close to the bound, and says it is not proven
  optimal.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class Solution:
    # order index -> (technician index, slot index k)
    assignment: dict[int, tuple[int, int]] = field(default_factory=dict)
    total_cost: float = 0.0
    optimal: bool = True
    nodes: int = 0


def total_cost(assignment: dict[int, tuple[int, int]], pair_cost, slot_cost, penalty) -> float:
    """The objective of an assignment; slot costs counted as the cheapest k slots of each technician."""
    used: dict[int, int] = {}
    total = 0.0
    for i in range(len(penalty)):
        if i in assignment:
            t, _k = assignment[i]
            total += pair_cost[i, t]
            used[t] = used.get(t, 0) + 1
        else:
            total += penalty[i]
    for t, count in used.items():
        total += float(np.sum(np.sort(slot_cost[t])[:count]))
    return float(total)


class _Problem:
    def __init__(self, pair_cost, slot_cost, penalty, windows):
        self.n, self.m = pair_cost.shape
        self.pair_cost = pair_cost
        self.penalty = np.asarray(penalty, dtype=float)
        self.windows = windows
        col_tech, col_slot, col_extra = [], [], []
        for t in range(self.m):
            for k, extra in enumerate(slot_cost[t]):
                col_tech.append(t)
                col_slot.append(k)
                col_extra.append(float(extra))
        self.col_tech = np.array(col_tech, dtype=int)
        self.col_slot = np.array(col_slot, dtype=int)
        cost = pair_cost[:, self.col_tech] + np.array(col_extra)[None, :] if col_tech else np.zeros((self.n, 0))
        profit = self.penalty[:, None] - cost
        # Forbidden pairs (inf cost) and pairs not worth making have profit 0: never chosen over leaving out.
        profit[~np.isfinite(profit)] = 0.0
        self.profit = np.maximum(profit, 0.0)
        self.penalty_sum = float(self.penalty.sum())
        # Columns of each technician, for forbidding (order, technician) pairs.
        self.tech_cols = {t: np.flatnonzero(self.col_tech == t) for t in range(self.m)}
        self.windowed = [i for i, w in enumerate(windows) if w is not None]

    def solve(self, forbidden: frozenset) -> tuple[float, dict[int, tuple[int, int]]]:
        """(objective lower bound, assignment) with the overlap rule relaxed."""
        if self.profit.shape[1] == 0 or self.n == 0:
            return self.penalty_sum, {}
        profit = self.profit
        if forbidden:
            profit = profit.copy()
            for i, t in forbidden:
                profit[i, self.tech_cols[t]] = 0.0
        rows, cols = linear_sum_assignment(profit, maximize=True)
        assignment = {}
        gained = 0.0
        for i, c in zip(rows.tolist(), cols.tolist()):
            if profit[i, c] > 0.0:
                assignment[i] = (int(self.col_tech[c]), int(self.col_slot[c]))
                gained += profit[i, c]
        return self.penalty_sum - gained, assignment

    def clashes(self, assignment) -> list[tuple[int, int, int]]:
        """(i, j, t): orders i and j given to technician t with overlapping windows."""
        by_tech: dict[int, list[int]] = {}
        for i in self.windowed:
            if i in assignment:
                by_tech.setdefault(assignment[i][0], []).append(i)
        found = []
        for t, orders in by_tech.items():
            orders.sort(key=lambda i: self.windows[i][0])
            for a, b in itertools.combinations(orders, 2):
                if self.windows[a][0] < self.windows[b][1] and self.windows[b][0] < self.windows[a][1]:
                    found.append((a, b, t))
        return found


def _keep_non_overlapping(orders: list[int], windows, weight) -> set[int]:
    """The heaviest set of pairwise non-overlapping windows (weighted interval scheduling)."""
    orders = sorted(orders, key=lambda i: windows[i][1])
    ends = [windows[i][1] for i in orders]
    best = [0.0] * (len(orders) + 1)
    take = [False] * len(orders)
    previous = []
    for k, i in enumerate(orders):
        # The last window that ends no later than this one starts.
        lo, hi = 0, k
        while lo < hi:
            mid = (lo + hi) // 2
            if ends[mid] <= windows[i][0]:
                lo = mid + 1
            else:
                hi = mid
        previous.append(lo)
        with_it = weight(i) + best[lo]
        take[k] = with_it > best[k]
        best[k + 1] = with_it if take[k] else best[k]
    kept, k = set(), len(orders)
    while k > 0:
        if take[k - 1]:
            kept.add(orders[k - 1])
            k = previous[k - 1]
        else:
            k -= 1
    return kept


def _repair(problem: _Problem, forbidden, assignment, *, max_rounds: int = 50):
    """Make an assignment free of clashes, moving as few orders as it can.

    Each round keeps, on every technician, the heaviest set of non-overlapping
    windowed orders, and re-solves only the orders left over over the slots
    left over (never next to a kept window it would overlap). Orders still
    clashing after ``max_rounds`` are left out.
    """
    forbidden = set(forbidden)
    windows = problem.windows
    for _round in range(max_rounds):
        by_tech: dict[int, list[int]] = {}
        for i in problem.windowed:
            if i in assignment:
                by_tech.setdefault(assignment[i][0], []).append(i)
        dropped = set()
        for t, orders in by_tech.items():
            if len(orders) < 2:
                continue
            kept = _keep_non_overlapping(orders, windows, lambda i: problem.penalty[i] - problem.pair_cost[i, t])
            for i in orders:
                if i not in kept:
                    dropped.add(i)
                    forbidden.add((i, t))
        if not dropped:
            return assignment, _round
        fixed = {i: a for i, a in assignment.items() if i not in dropped}
        used: dict[int, int] = {}
        for t, _k in fixed.values():
            used[t] = used.get(t, 0) + 1
        free_orders = [i for i in range(problem.n) if i not in fixed]
        columns = np.concatenate(
            [problem.tech_cols[t][used.get(t, 0):] for t in range(problem.m)] or [np.zeros(0, dtype=int)]
        ).astype(int)
        if not free_orders or columns.size == 0:
            return fixed, _round
        profit = problem.profit[np.ix_(free_orders, columns)].copy()
        row_of = {i: r for r, i in enumerate(free_orders)}
        col_tech = problem.col_tech[columns]
        for i, t in forbidden:
            if i in row_of:
                profit[row_of[i], col_tech == t] = 0.0
        # Never next to a kept window it would overlap.
        fixed_windows: dict[int, list[tuple]] = {}
        for i, (t, _k) in fixed.items():
            if windows[i] is not None:
                fixed_windows.setdefault(t, []).append(windows[i])
        free_windowed = [i for i in free_orders if windows[i] is not None]
        if free_windowed and fixed_windows:
            starts = np.array([windows[i][0] for i in free_windowed])
            ends = np.array([windows[i][1] for i in free_windowed])
            rows = np.array([row_of[i] for i in free_windowed])
            for t, booked in fixed_windows.items():
                clash = np.zeros(len(free_windowed), dtype=bool)
                for b_start, b_end in booked:
                    clash |= (starts < b_end) & (b_start < ends)
                if clash.any():
                    profit[np.ix_(rows[clash], np.flatnonzero(col_tech == t))] = 0.0
        r, c = linear_sum_assignment(profit, maximize=True)
        assignment = dict(fixed)
        for row, col in zip(r.tolist(), c.tolist()):
            if profit[row, col] > 0.0:
                column = columns[col]
                assignment[free_orders[row]] = (int(problem.col_tech[column]), int(problem.col_slot[column]))
    # Out of rounds: leave out whatever still clashes.
    for i, j, t in problem.clashes(assignment):
        loser = min((i, j), key=lambda x: (problem.penalty[x], -x))
        assignment.pop(loser, None)
    return assignment, max_rounds


def solve(
    *,
    pair_cost: np.ndarray,
    slot_cost: list,
    penalty,
    windows: list | None = None,
    exact_limit: int = 40_000,
    node_limit: int = 500,
    time_limit: float = 1.0,
) -> Solution:
    """Solve the assignment (see the module docstring).

    ``pair_cost``: n × m (orders × technicians), ``inf`` where forbidden.
    ``slot_cost``: for each technician, the extra cost of its 1st, 2nd, ... new
    order (its length is the number of free slots; non-decreasing).
    ``penalty``: the cost of leaving each order unassigned; it must exceed
    every finite pair cost plus slot cost so that serving beats not serving.
    ``windows``: per order, (start, end) as comparable numbers, or None.
    ``exact_limit``: branch and bound is tried when orders × slots is at most
    this; larger problems with clashing windows go straight to the repair.
    """
    pair_cost = np.asarray(pair_cost, dtype=float)
    n, m = pair_cost.shape
    windows = list(windows) if windows is not None else [None] * n
    problem = _Problem(pair_cost, slot_cost, penalty, windows)
    bound, assignment = problem.solve(frozenset())
    nodes = 1
    if not problem.clashes(assignment):
        return Solution(assignment, total_cost(assignment, pair_cost, slot_cost, penalty), True, nodes)

    best: tuple[float, dict] | None = None
    start = (frozenset(), assignment)
    optimal = False
    if problem.n * problem.profit.shape[1] <= exact_limit:
        deadline = time.monotonic() + time_limit
        counter = itertools.count()
        heap = [(bound, next(counter), frozenset(), assignment)]
        optimal = True
        while heap:
            bound, _tie, forbidden, assignment = heapq.heappop(heap)
            if best is not None and bound >= best[0] - 1e-9:
                break  # best first: nothing left can beat the incumbent
            clashes = problem.clashes(assignment)
            if not clashes:
                best = (bound, assignment)
                continue
            if nodes >= node_limit or time.monotonic() > deadline:
                optimal = False
                start = (forbidden, assignment)
                break
            i, j, t = clashes[0]
            for excluded in (i, j):
                child = forbidden | {(excluded, t)}
                child_bound, child_assignment = problem.solve(child)
                nodes += 1
                if best is None or child_bound < best[0] - 1e-9:
                    heapq.heappush(heap, (child_bound, next(counter), child, child_assignment))
    if not optimal:
        repaired, rounds = _repair(problem, *start)
        nodes += rounds
        value = total_cost(repaired, pair_cost, slot_cost, penalty)
        if best is None or value < best[0]:
            best = (value, repaired)
    assignment = best[1]
    return Solution(
        assignment=assignment,
        total_cost=total_cost(assignment, pair_cost, slot_cost, penalty),
        optimal=optimal,
        nodes=nodes,
    )
