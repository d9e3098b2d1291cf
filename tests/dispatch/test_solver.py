"""The assignment solver against exhaustive search, on many small random instances.

Given a random instance (up to 8 orders × 5 technicians, forbidden pairs,
capacities, rising load costs, overlapping appointment windows, priorities),
when the solver runs, then its total cost equals the best total found by
trying every possible assignment, and its answer breaks no hard rule.
"""

import itertools

import numpy as np
import pytest

from dispatch.solver import solve, total_cost

SEEDS = range(150)


def random_instance(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    m = int(rng.integers(1, 6))
    pair = rng.uniform(0, 100, (n, m)).round(2)
    pair[rng.random((n, m)) < 0.3] = np.inf
    slot_cost = []
    for _t in range(m):
        free = int(rng.integers(0, 4))
        base = int(rng.integers(0, 4))
        slot_cost.append(4.0 * (base + np.arange(free, dtype=float)))
    windows = []
    for _i in range(n):
        if rng.random() < 0.6:
            start = float(rng.integers(8, 16))
            windows.append((start, start + float(rng.integers(1, 4))))
        else:
            windows.append(None)
    priority = rng.integers(1, 5, n)
    max_pair = float(np.max(pair[np.isfinite(pair)], initial=0.0)) + max(
        (float(s[-1]) for s in slot_cost if len(s)), default=0.0
    )
    unit = max(max_pair, 1.0)
    base = 2 * n * unit + 1
    penalty = base * priority + unit * rng.random(n)
    return pair, slot_cost, penalty, windows


def overlaps(a, b):
    return a is not None and b is not None and a[0] < b[1] and b[0] < a[1]


def exhaustive_optimum(pair, slot_cost, penalty, windows) -> float:
    """The best total over every way to give each order to a technician or to nobody (m = nobody)."""
    n, m = pair.shape
    # Every vector of choices, as the digits of 0 .. (m+1)^n - 1 in base m+1.
    codes = np.arange((m + 1) ** n)
    choices = np.empty((codes.size, n), dtype=np.int16)
    for i in range(n):
        choices[:, i] = codes % (m + 1)
        codes //= m + 1
    extended = np.hstack([pair, np.asarray(penalty)[:, None]])
    totals = extended[np.arange(n)[None, :], choices].sum(axis=1)
    for t in range(m):
        count = (choices == t).sum(axis=1)
        cumulative = np.concatenate([[0.0], np.cumsum(np.sort(slot_cost[t]))])
        over = count > len(slot_cost[t])
        totals = totals + cumulative[np.minimum(count, len(slot_cost[t]))]
        totals[over] = np.inf
    for i, j in itertools.combinations(range(n), 2):
        if overlaps(windows[i], windows[j]):
            clash = (choices[:, i] == choices[:, j]) & (choices[:, i] < m)
            totals[clash] = np.inf
    return float(totals.min())


def assert_no_rule_broken(solution, pair, slot_cost, windows):
    per_tech = {}
    for i, (t, _k) in solution.assignment.items():
        assert np.isfinite(pair[i, t]), f"order {i} given to technician {t}, a forbidden pair"
        per_tech.setdefault(t, []).append(i)
    for t, orders in per_tech.items():
        assert len(orders) <= len(slot_cost[t]), f"technician {t} over capacity"
        for i, j in itertools.combinations(orders, 2):
            assert not overlaps(windows[i], windows[j]), f"orders {i} and {j} overlap on technician {t}"


@pytest.mark.parametrize("seed", SEEDS)
def test_solver_matches_exhaustive_search_and_breaks_no_rule(seed):
    pair, slot_cost, penalty, windows = random_instance(seed)
    solution = solve(pair_cost=pair, slot_cost=slot_cost, penalty=penalty, windows=windows)
    assert_no_rule_broken(solution, pair, slot_cost, windows)
    assert solution.optimal
    assert solution.total_cost == pytest.approx(exhaustive_optimum(pair, slot_cost, penalty, windows), abs=1e-6)
    assert solution.total_cost == pytest.approx(total_cost(solution.assignment, pair, slot_cost, penalty))


def test_the_random_instances_exercise_every_rule():
    """Guard against a generator that never makes the hard cases: forbidden pairs, full capacity, clashes."""
    forbidden = full = clashing = 0
    for seed in SEEDS:
        pair, slot_cost, penalty, windows = random_instance(seed)
        forbidden += bool(np.isinf(pair).any())
        full += sum(len(s) for s in slot_cost) < pair.shape[0]
        clashing += any(overlaps(a, b) for a, b in itertools.combinations(windows, 2))
    assert forbidden > 50 and full > 20 and clashing > 50


def test_not_greedy_the_cheapest_pair_is_given_up_for_a_better_whole():
    # Order 0 is closest to technician 0, but order 1 can only go to technician 0.
    # A greedy pass would give technician 0 to order 0 and leave order 1 out.
    pair = np.array([[1.0, 2.0], [3.0, np.inf]])
    solution = solve(pair_cost=pair, slot_cost=[np.zeros(1), np.zeros(1)], penalty=[1000.0, 1000.0])
    assert solution.assignment == {0: (1, 0), 1: (0, 0)}
    assert solution.total_cost == 5.0


def test_when_capacity_is_short_the_most_urgent_order_is_served_even_if_farther():
    # One technician, one free slot: a normal order next door, an urgent one far away.
    pair = np.array([[2.0], [80.0]])
    priority = np.array([2, 4])
    base = 2 * 2 * 80.0 + 1
    solution = solve(pair_cost=pair, slot_cost=[np.zeros(1)], penalty=base * priority)
    assert solution.assignment == {1: (0, 0)}


def test_urgency_decides_which_orders_get_the_scarce_technicians_then_cost_decides_who():
    # Technician A may take any order, B only the low one; one slot each.
    inf = np.inf
    pair = np.array(
        [
            [50.0, inf],  # urgent
            [1.0, inf],  # high
            [5.0, 1.0],  # low
        ]
    )
    base = 2 * 3 * 50.0 + 1
    solution = solve(
        pair_cost=pair, slot_cost=[np.zeros(1), np.zeros(1)], penalty=base * np.array([4, 3, 1])
    )
    assert solution.assignment == {0: (0, 0), 2: (1, 0)}


def test_overlapping_windows_never_land_on_one_technician():
    # Both orders want the only technician (two free slots) at overlapping times.
    solution = solve(
        pair_cost=np.array([[1.0], [1.0]]),
        slot_cost=[np.zeros(2)],
        penalty=[100.0, 200.0],
        windows=[(10.0, 12.0), (11.0, 13.0)],
    )
    assert solution.assignment == {1: (0, 0)} or list(solution.assignment) == [1]
    # Back to back is fine.
    solution = solve(
        pair_cost=np.array([[1.0], [1.0]]),
        slot_cost=[np.zeros(2)],
        penalty=[100.0, 200.0],
        windows=[(10.0, 12.0), (12.0, 13.0)],
    )
    assert set(solution.assignment) == {0, 1}


def test_a_large_instance_is_cut_short_but_stays_feasible():
    rng = np.random.default_rng(7)
    n, m = 60, 6
    pair = rng.uniform(0, 10, (n, m))
    windows = [(float(s), float(s) + 2) for s in rng.integers(8, 12, n)]
    solution = solve(
        pair_cost=pair, slot_cost=[np.zeros(5)] * m, penalty=np.full(n, 1000.0), windows=windows, node_limit=3
    )
    assert not solution.optimal
    assert_no_rule_broken(solution, pair, [np.zeros(5)] * m, windows)
    assert len(solution.assignment) >= m  # at least one order per technician


def test_a_large_clashing_instance_is_repaired_close_to_the_bound():
    """Above the exact limit the solver repairs the relaxed answer; it stays feasible and near the bound."""
    rng = np.random.default_rng(11)
    n, m, cap = 300, 40, 4
    pair = rng.uniform(0, 60, (n, m))
    pair[rng.random((n, m)) < 0.3] = np.inf
    windows = [(float(s), float(s) + 2) if i % 2 else None for i, s in enumerate(rng.integers(8, 14, n))]
    slot_cost = [4.0 * np.arange(cap) for _ in range(m)]
    penalty = 2 * n * 80.0 + 1 + rng.random(n)
    relaxed = solve(pair_cost=pair, slot_cost=slot_cost, penalty=penalty)  # the same without windows: a bound
    solution = solve(pair_cost=pair, slot_cost=slot_cost, penalty=penalty, windows=windows, exact_limit=0)
    assert not solution.optimal
    assert_no_rule_broken(solution, pair, slot_cost, windows)
    assert len(solution.assignment) == len(relaxed.assignment) == m * cap  # every slot still used
    assert solution.total_cost <= relaxed.total_cost * 1.05


@pytest.mark.parametrize("seed", range(30))
def test_the_repair_keeps_the_heaviest_set_of_non_overlapping_windows(seed):
    from dispatch.solver import _keep_non_overlapping

    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    windows = [(float(s), float(s) + float(rng.integers(1, 4))) for s in rng.integers(0, 10, k)]
    weight = rng.uniform(1, 10, k)
    kept = _keep_non_overlapping(list(range(k)), windows, lambda i: weight[i])
    assert not any(overlaps(windows[a], windows[b]) for a, b in itertools.combinations(kept, 2))
    best = max(
        sum(weight[i] for i in subset)
        for r in range(k + 1)
        for subset in itertools.combinations(range(k), r)
        if not any(overlaps(windows[a], windows[b]) for a, b in itertools.combinations(subset, 2))
    )
    assert sum(weight[i] for i in kept) == pytest.approx(best)
