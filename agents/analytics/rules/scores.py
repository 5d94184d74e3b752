"""One score scale for every kind of signal: 0-100, 50 = the rule's threshold just met.

    score = min(100, 50 * strength / reference)

where ``strength`` is the rule's own measure and ``reference`` the strength at which
the rule's case is just made. 100 (twice the reference or more) is a very strong case.

| kind               | strength                                   | reference             |
|--------------------|--------------------------------------------|-----------------------|
| rs_crossover       | abs(R / SMA - 1) in %                      | 2 x hysteresis_pct    |
|                    |                                            | (clear of the band by |
|                    |                                            | as much again)        |
| rs_breakout        | abs(z) of the RS log return                | breakout_z            |
| rrg_quadrant       | distance of the RRG point from (100, 100)  | quadrant_distance     |
| breadth_thrust     | ZBT = EMA10(A / (A + D))                   | zweig_high (0.615)    |
| breadth_divergence | the A/D line's shortfall, share of its     | 0.5 (half its range)  |
|                    | lookback range                             |                       |
| rotation_regime    | criteria met of shock, regime, persistence,| 2 (regime and         |
|                    | breadth (0-4)                              | persistence: rotation)|
| group_crossovers   | share of the group that crossed            | breadth_crossover_    |
|                    |                                            | share                 |

So a ``rotation_regime`` of grade watch (a shock alone) scores 25, a rotation 50 or
75, a broad rotation 75 or 100. ``[signals] min_score`` (default 50) drops anything
below it before it is sent. The rule's own strength stays in ``evidence["strength"]``.
"""

from __future__ import annotations

SCALE_MAX = 100.0
THRESHOLD_SCORE = 50.0


def scaled(strength: float, reference: float) -> float:
    """50 * strength / reference, clipped to [0, 100]; 100 when ``reference`` <= 0."""
    if reference <= 0:
        return SCALE_MAX
    return max(0.0, min(SCALE_MAX, THRESHOLD_SCORE * strength / reference))
