"""The results of ``rotation bench``: medians of the runs, the goals, the table and the JSON.

:func:`summarize` turns the runs into the results (every figure a median of the
repetitions; the single runs are kept under ``runs``), :func:`format_table` prints
them, :func:`write_json` writes them with at least :data:`REQUIRED_KEYS` at the top
level, for tools that track them. The top-level figures are those of the headline
universe (the first ``--symbols``, 500 by default); ``by_symbols`` has every size.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks import keeping_up

REQUIRED_KEYS = (
    "raw_consume_msgs_per_s",
    "ticks_per_s",
    "latency_ms",
    "ready_s",
    "worker_rss_mb",
    "gateway_rss_mb",
    "pandas_recompute",
)
GOAL_P99_MS = 50.0
GOAL_RATE = 20_000.0
GOAL_READY_S = 5.0
GOAL_SOAK_S = 600.0
FLAT_MB_PER_MIN = 1.0
COLUMN = 24
HOPS = ("ticks_to_bars", "bars_to_metrics", "metrics_to_gateway", "gateway_to_client")


def median(values: Iterable[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _dig(run: dict[str, Any], path: str) -> Any:
    value: Any = run
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _med(runs: list[dict[str, Any]], path: str) -> float | None:
    return median(_dig(r, path) for r in runs)


def _stats(runs: list[dict[str, Any]], path: str, keys=("p50", "p99", "max")) -> dict:
    return {k: _med(runs, f"{path}.{k}") for k in keys}


def summarize(
    *,
    parameters: dict[str, Any],
    environment: dict[str, Any],
    raw: dict[str, Any] | None,
    ready_runs: list[dict[str, Any]],
    drain_runs: dict[int, list[dict[str, Any]]],
    latency_runs: dict[int, list[dict[str, Any]]],
    soak: dict[str, Any] | None = None,
    extra_runs: dict[float, list[dict[str, Any]]] | None = None,
    search_runs: list[dict[str, Any]] | None = None,
    tested: dict[float, bool] | None = None,
    feed_alone: dict[str, Any] | None = None,
) -> dict[str, Any]:
    sizes = list(parameters["symbols"])
    by_symbols: dict[str, dict[str, Any]] = {}
    for size in sizes:
        drains = drain_runs.get(size, [])
        paced = latency_runs.get(size, [])
        pandas = [r["pandas"] for r in paced if r.get("pandas")]
        worker_cpu = _med(paced, "resources.worker.cpu_cores")
        gateway_cpu = _med(paced, "resources.gateway.cpu_cores")
        streaming_cpu = median(
            (_dig(r, "resources.worker.cpu_cores") or 0.0)
            + (_dig(r, "resources.gateway.cpu_cores") or 0.0)
            for r in paced
        )
        judged = keeping_up.verdict(paced, parameters["rate"]) if paced else None
        by_symbols[str(size)] = {
            "ticks_per_s": _med(drains, "ticks_per_s"),
            "steady_ticks_per_s": _med(drains, "steady_ticks_per_s"),
            "drain_ticks": _med(drains, "ticks"),
            "consume_decode_ticks_per_s": _med(drains, "consume_decode_ticks_per_s"),
            "drain_worker_cpu_cores": _med(drains, "resources.worker.cpu_cores"),
            "drain_worker_rss_peak_mb": _med(drains, "resources.worker.rss_peak_mb"),
            "drain_gateway_rss_peak_mb": _med(drains, "resources.gateway.rss_peak_mb"),
            "paced_rate": parameters.get("rate"),
            "achieved_ticks_per_s": _med(paced, "achieved_ticks_per_s"),
            "latency_ms": _stats(paced, "latency_ms"),
            "latency_ms_including_warmup": _stats(paced, "latency_ms_including_warmup"),
            "signal_latency_ms": _stats(paced, "signal_latency_ms"),
            "hops_ms": {hop: _stats(paced, f"hops_ms.{hop}", ("p50", "p99")) for hop in HOPS},
            "intervals": _med(paced, "intervals"),
            "missing_intervals": sum(r.get("missing_intervals", 0) for r in paced),
            "caught_up": all(r.get("caught_up") for r in paced) if paced else None,
            "last_interval_lag_s": _med(paced, "last_interval_lag_s"),
            "keeps_up": judged["keeps_up"] if judged else None,
            "runs_kept_up": judged["runs_kept_up"] if judged else None,
            "paced_runs": len(paced),
            "falls_behind_reasons": judged["reasons"] if judged else [],
            "worker_rss_mb": _med(paced, "resources.worker.rss_peak_mb"),
            "worker_rss_end_mb": _med(paced, "resources.worker.rss_end_mb"),
            "gateway_rss_mb": _med(paced, "resources.gateway.rss_peak_mb"),
            "gateway_rss_end_mb": _med(paced, "resources.gateway.rss_end_mb"),
            "broker_rss_mb": _med(paced, "resources.broker.rss_peak_mb"),
            "worker_cpu_cores": worker_cpu,
            "gateway_cpu_cores": gateway_cpu,
            "broker_cpu_cores": _med(paced, "resources.broker.cpu_cores"),
            "bench_cpu_cores": _med(paced, "bench_cpu_cores"),
            "streaming_cpu_cores": streaming_cpu,
            "pandas_recompute": {
                "every_s": _med(pandas, "every_s"),
                "window_bars": _med(pandas, "window_bars"),
                "recompute_ms": _stats(pandas, "recompute_ms"),
                "latency_ms": _stats(pandas, "latency_ms"),
                "cpu_cores": _med(pandas, "cpu_cores"),
                "decode_cpu_cores": _med(pandas, "decode_cpu_cores"),
                "recompute_cpu_cores": _med(pandas, "recompute_cpu_cores"),
                "streaming_cpu_cores": streaming_cpu,
                "streaming_latency_ms": _stats(paced, "latency_ms"),
            },
        }
    head = str(sizes[0])
    headline = by_symbols[head]
    ready_s = _med(ready_runs, "ready_s")
    reported = {
        key: _med(ready_runs, f"reported_by_up.{key}")
        for key in ("broker_s", "gateway_s", "worker_s", "first_metrics_s")
    }
    raw_runs = (raw or {}).get("consume_msgs_per_s", [])
    extra = extra_runs or {}
    limit = None
    if tested:
        limit = {
            **keeping_up.sustained(tested),
            "symbols": int(head),
            "search_run_s": parameters.get("search_duration"),
            "search": [_brief(run) for run in search_runs or []],
        }
    results = {
        "raw_consume_msgs_per_s": median(raw_runs),
        "ticks_per_s": headline["ticks_per_s"],
        "latency_ms": headline["latency_ms"],
        "ready_s": ready_s,
        "worker_rss_mb": headline["worker_rss_mb"],
        "gateway_rss_mb": headline["gateway_rss_mb"],
        "pandas_recompute": headline["pandas_recompute"],
        "headline_symbols": int(head),
        "worker_cpu_cores": headline["worker_cpu_cores"],
        "gateway_cpu_cores": headline["gateway_cpu_cores"],
        "ready": {"ready_s": ready_s, "reported_by_up_s": reported},
        "consume_decode_ticks_per_s": headline["consume_decode_ticks_per_s"],
        "paced_by_rate": {
            f"{rate:.0f}": _paced_at(rate, runs, int(head)) for rate, runs in extra.items()
        },
        "paced_feed_alone": feed_alone,
        "max_sustained_ticks_per_s": limit["ticks_per_s"] if limit else None,
        "max_sustained": limit,
        "by_symbols": by_symbols,
        "soak": _soak_summary(soak),
        "parameters": parameters,
        "environment": environment,
        "runs": {
            "raw": raw,
            "ready": ready_runs,
            "drain": {str(s): drain_runs.get(s, []) for s in sizes},
            "paced": {str(s): latency_runs.get(s, []) for s in sizes},
            "paced_by_rate": {f"{rate:.0f}": runs for rate, runs in extra.items()},
            "search": search_runs or [],
            "soak": soak,
        },
    }
    results["goals"] = goals(results)
    return results


def _paced_at(rate: float, runs: list[dict[str, Any]], symbols: int) -> dict[str, Any]:
    """The medians of the paced runs at one extra rate (headline size only), and whether
    the worker kept up (:func:`benchmarks.keeping_up.verdict`)."""
    judged = keeping_up.verdict(runs, rate)
    return {
        "symbols": symbols,
        "rate": rate,
        "duration_s": _med(runs, "duration_s"),
        "achieved_ticks_per_s": _med(runs, "achieved_ticks_per_s"),
        "late_slots": _med(runs, "late_slots"),
        "latency_ms": _stats(runs, "latency_ms"),
        "early_latency_ms": _stats(runs, "early_latency_ms", ("p50", "p99")),
        "early_to_last_s": _med(runs, "early_to_last_s"),
        "hops_ms": {hop: _stats(runs, f"hops_ms.{hop}", ("p50", "p99")) for hop in HOPS},
        "intervals": _med(runs, "intervals"),
        "missing_intervals": sum(r.get("missing_intervals", 0) for r in runs),
        "caught_up": all(r.get("caught_up") for r in runs) if runs else None,
        "last_interval_lag_s": _med(runs, "last_interval_lag_s"),
        "worker_cpu_cores": _med(runs, "resources.worker.cpu_cores"),
        "worker_rss_mb": _med(runs, "resources.worker.rss_peak_mb"),
        "broker_cpu_cores": _med(runs, "resources.broker.cpu_cores"),
        "broker_rss_mb": _med(runs, "resources.broker.rss_peak_mb"),
        "bench_cpu_cores": _med(runs, "bench_cpu_cores"),
        "keeps_up": judged["keeps_up"],
        "runs_kept_up": judged["runs_kept_up"],
        "runs": judged["runs"],
        "falls_behind_reasons": judged["reasons"],
    }


def _brief(run: dict[str, Any]) -> dict[str, Any]:
    """One run of the search, in short."""
    rate = run["rate"]
    reasons = keeping_up.behind_reasons(run, rate)
    return {
        "rate": rate,
        "achieved_ticks_per_s": run.get("achieved_ticks_per_s"),
        "latency_ms": {k: run["latency_ms"].get(k) for k in ("p50", "p99", "max")},
        "last_interval_lag_s": run.get("last_interval_lag_s"),
        "keeps_up": not reasons,
        "falls_behind_reasons": reasons,
    }


def _soak_summary(soak: dict[str, Any] | None) -> dict[str, Any] | None:
    if not soak:
        return None
    return {
        "seconds": soak["seconds"],
        "rate": soak["rate"],
        "event_speed": soak.get("event_speed"),
        "symbols": soak["symbols"],
        "achieved_ticks_per_s": soak.get("achieved_ticks_per_s"),
        "latency_ms": {k: soak["latency_ms"].get(k) for k in ("p50", "p99", "max")},
        "memory": {
            name: {k: v for k, v in trend.items() if k != "samples"}
            for name, trend in soak["memory"].items()
        },
        "latency_p99_ms_by_minute": [m["p99"] for m in soak.get("latency_timeline_60s", [])],
        "cpu_cores_by_minute": soak.get("cpu_cores_timeline_60s"),
    }


def goals(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals, each with the measured value and whether it was met (None:
    not measured under the goal's conditions)."""
    params = results["parameters"]
    p99 = (results.get("latency_ms") or {}).get("p99")
    rate_ok = (params.get("rate") or 0) >= GOAL_RATE
    ready = results.get("ready_s")
    soak = results.get("soak")
    flat = None
    slopes = {}
    if soak:
        slopes = {
            name: soak["memory"][name]["slope_mb_per_min"]
            for name in ("worker", "gateway")
            if name in soak["memory"]
        }
        if soak["seconds"] >= GOAL_SOAK_S and all(v is not None for v in slopes.values()):
            flat = all(v <= FLAT_MB_PER_MIN for v in slopes.values())
    return {
        "p99_latency": {
            "goal": f"p99 tick-to-subscriber < {GOAL_P99_MS:.0f} ms at {GOAL_RATE:,.0f} ticks/s",
            "value_ms": p99,
            "rate": params.get("rate"),
            "met": (p99 < GOAL_P99_MS) if (p99 is not None and rate_ok) else None,
        },
        "ready": {
            "goal": f"first metrics < {GOAL_READY_S:.0f} s after `rotation up`",
            "value_s": ready,
            "met": (ready < GOAL_READY_S) if ready is not None else None,
        },
        "memory_flat": {
            "goal": f"worker and gateway RSS flat over {GOAL_SOAK_S / 60:.0f} minutes "
            f"(second-half slope <= {FLAT_MB_PER_MIN} MB/min)",
            "soak_s": soak["seconds"] if soak else None,
            "slope_mb_per_min": slopes or None,
            "met": flat,
        },
    }


def write_json(results: dict[str, Any], path: Path) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in results]
    if missing:
        raise KeyError(f"results lack {', '.join(missing)}")
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


# --- The table -----------------------------------------------------------------------


def _n(value: float | None, fmt: str = ",.0f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _triple(stats: dict[str, Any], fmt: str = ".0f") -> str:
    return " / ".join(_n(stats.get(k), fmt) for k in ("p50", "p99", "max"))


def format_table(results: dict[str, Any]) -> str:
    p = results["parameters"]
    env = results["environment"]
    sizes = [str(s) for s in p["symbols"]]
    by = results["by_symbols"]
    load = env.get("load_average_at_start") or [None]
    lines = [
        f"rotation bench: embedded Tansu on 127.0.0.1, {env.get('cpus')} CPUs, load average "
        f"{_n(load[0], '.1f')} at start; median of {p['repeat']}"
        + (" (--quick)" if p.get("quick") else ""),
        "",
        _row("raw aiokafka consume, single-tick msgs", _n(results["raw_consume_msgs_per_s"]))
        + "  msg/s (the ceiling)",
    ]
    reported = results["ready"]["reported_by_up_s"]
    lines.append(
        _row("`rotation up` -> first metrics at a client", _n(results["ready_s"], ".2f"))
        + "  s     (up reports: broker "
        + _n(reported.get("broker_s"), ".2f")
        + ", gateway "
        + _n(reported.get("gateway_s"), ".2f")
        + ", worker "
        + _n(reported.get("worker_s"), ".2f")
        + " s)"
    )
    lines += ["", _row("", "".join(f"{s + ' symbols':>{COLUMN}}" for s in sizes))]

    def row(label: str, fn) -> None:
        lines.append(_row(label, "".join(f"{fn(by[s]):>{COLUMN}}" for s in sizes)))

    lines.append("backlog drained through the whole path")
    row(
        "  bare consume + decode, ticks/s (the ceiling)",
        lambda b: _n(b.get("consume_decode_ticks_per_s")),
    )
    row("  ticks/s, worker ready -> last metrics", lambda b: _n(b["ticks_per_s"]))
    row("  ticks/s, first -> last metrics", lambda b: _n(b["steady_ticks_per_s"]))
    lines.append(
        f"paced {p['rate']:,.0f} ticks/s for {p['duration']:.0f} s (+{p['warmup']:.0f} s "
        f"warm-up), {p['bar_seconds']} s bars, event time x{p['event_speed']:g}"
    )
    row("  achieved ticks/s", lambda b: _n(b["achieved_ticks_per_s"]))
    row("  latency p50 / p99 / max, ms", lambda b: _triple(b["latency_ms"]))
    row(
        "  intervals measured / missing",
        lambda b: f"{_n(b['intervals'])} / {b['missing_intervals']}",
    )
    for hop, label in (
        ("ticks_to_bars", "ticks -> bars sent"),
        ("bars_to_metrics", "bars -> metrics sent"),
        ("metrics_to_gateway", "metrics -> gateway"),
        ("gateway_to_client", "gateway -> client"),
    ):
        row(f"    {label}, p50 / p99", lambda b, h=hop: _pair(b["hops_ms"][h]))
    row("  worker CPU cores / RSS peak MB", lambda b: _cpu_rss(b, "worker"))
    row("  gateway CPU cores / RSS peak MB", lambda b: _cpu_rss(b, "gateway"))
    row("  broker CPU cores / RSS peak MB", lambda b: _cpu_rss(b, "broker"))
    row(
        "  one worker",
        lambda b: (
            "n/a"
            if b["keeps_up"] is None
            else keeps_up_text(b["keeps_up"], b["runs_kept_up"], b["paced_runs"])
        ),
    )
    pandas = by[sizes[0]]["pandas_recompute"]
    lines.append(
        f"pandas job, recompute every {_n(pandas.get('every_s'), 'g')} s over "
        f"{_n(pandas.get('window_bars'))} bars, same frames"
    )
    row("  recompute p50 / p99 / max, ms", lambda b: _triple(b["pandas_recompute"]["recompute_ms"]))
    row("  latency p50 / p99 / max, ms", lambda b: _triple(b["pandas_recompute"]["latency_ms"]))
    row(
        "  CPU cores: pandas / worker + gateway",
        lambda b: (
            f"{_n(b['pandas_recompute']['cpu_cores'], '.2f')} / "
            f"{_n(b['streaming_cpu_cores'], '.2f')}"
        ),
    )
    lines += _limit_lines(results)
    soak = results.get("soak")
    if soak:
        lines += [
            "",
            f"soak: {soak['symbols']} symbols, {soak['rate']:,.0f} ticks/s for "
            f"{soak['seconds']:.0f} s, event time x{soak.get('event_speed') or 0:g}; "
            "latency p50 / p99 / max "
            f"{_triple(soak['latency_ms'])} ms",
        ]
        if soak.get("latency_p99_ms_by_minute"):
            lines.append(
                "  latency p99 by minute, ms: "
                + ", ".join(_n(v) for v in soak["latency_p99_ms_by_minute"])
            )
        for name, cores in (soak.get("cpu_cores_by_minute") or {}).items():
            lines.append(
                f"  {name:<8} CPU cores by minute: " + ", ".join(_n(v, ".2f") for v in cores)
            )
        for name, m in soak["memory"].items():
            lines.append(
                f"  {name:<8} RSS start / middle / end {_n(m.get('start_mb'))} / "
                f"{_n(m.get('middle_mb'))} / {_n(m.get('end_mb'))} MB, "
                f"slope {_n(m.get('slope_mb_per_min'), '+.2f')} MB/min"
            )
    lines += ["", "goals"]
    g = results["goals"]
    slopes = g["memory_flat"]["slope_mb_per_min"] or {}
    shown = {
        "p99_latency": f"p99 {_n(g['p99_latency']['value_ms'])} ms",
        "ready": f"{_n(g['ready']['value_s'], '.2f')} s",
        "memory_flat": ", ".join(f"{k} {_n(v, '+.2f')} MB/min" for k, v in slopes.items())
        or "run with --soak 600",
    }
    for name, goal in g.items():
        met = {True: "met", False: "NOT met", None: "not measured"}[goal["met"]]
        lines.append(f"  {goal['goal']}: {met} ({shown[name]})")
    return "\n".join(lines)


def keeps_up_text(keeps_up: bool, kept: int, runs: int) -> str:
    """``keeps up`` or ``FALLS BEHIND`` for the paced runs at one rate (with how many of
    the runs kept up when there were several)."""
    text = "keeps up" if keeps_up else "FALLS BEHIND"
    if runs > 1:
        text += f" ({kept} of {runs} runs kept up)"
    return text


def sustained_text(limit: dict[str, Any]) -> str:
    """The highest paced rate one worker kept up with, and the bracket around it."""
    best, behind = limit.get("ticks_per_s"), limit.get("falls_behind_at")
    if best is None:
        return f"none tested (falls behind at {_n(behind)} ticks/s)"
    if limit.get("at_least"):
        return f"at least {_n(best)} ticks/s (no rate tested fell behind)"
    return f"{_n(best)} ticks/s (falls behind at {_n(behind)})"


def _limit_lines(results: dict[str, Any]) -> list[str]:
    """The paced runs at the extra rates, the feed alone, and the search's result."""
    lines: list[str] = []
    p = results["parameters"]
    alone = results.get("paced_feed_alone")
    for rate, entry in (results.get("paced_by_rate") or {}).items():
        lines.append(
            f"paced {float(rate):,.0f} ticks/s for {_n(entry.get('duration_s'))} s "
            f"(+{p['warmup']:.0f} s warm-up), {entry['symbols']} symbols only"
        )
        lines.append(_row("  achieved ticks/s", f"{_n(entry['achieved_ticks_per_s']):>{COLUMN}}"))
        lines.append(
            _row("  latency p50 / p99 / max, ms", f"{_triple(entry['latency_ms']):>{COLUMN}}")
        )
        lag = entry.get("last_interval_lag_s")
        lines.append(
            _row(
                "  last interval: metrics after its ticks, s",
                f"{_n(lag, '.2f'):>{COLUMN}}",
            )
        )
        lines.append(
            _row(
                "    ticks -> bars sent, p50 / p99",
                f"{_pair(entry['hops_ms']['ticks_to_bars']):>{COLUMN}}",
            )
        )
        lines.append(
            _row("  worker CPU cores / RSS peak MB", f"{_cpu_rss(entry, 'worker'):>{COLUMN}}")
        )
        lines.append(
            _row("  broker CPU cores / RSS peak MB", f"{_cpu_rss(entry, 'broker'):>{COLUMN}}")
        )
        verdict = keeps_up_text(entry["keeps_up"], entry["runs_kept_up"], entry["runs"])
        lines.append(_row("  one worker", f"{verdict:>{COLUMN}}"))
        lines += [f"    {reason}" for reason in dict.fromkeys(entry["falls_behind_reasons"])]
    if alone:
        lines.append(
            f"paced feed alone (no reader) at {alone['rate']:,.0f} ticks/s for "
            f"{alone['seconds']:.0f} s: {_n(alone['achieved_ticks_per_s'])} ticks/s, "
            f"{alone['late_slots']} slots late, {_n(alone.get('bench_cpu_cores'), '.2f')} "
            "of a core"
        )
    limit = results.get("max_sustained")
    if limit and (limit.get("search") or results.get("paced_by_rate")):
        lines.append(
            f"highest paced rate one worker keeps up with ({limit['symbols']} symbols): "
            + sustained_text(limit)
        )
        if limit.get("search"):
            lines.append(
                f"  search, {_n(limit.get('search_run_s'))} s runs: "
                + ", ".join(
                    f"{_n(r['rate'])} {'ok' if r['keeps_up'] else 'behind'}"
                    for r in limit["search"]
                )
            )
    return lines


def _pair(stats: dict[str, Any]) -> str:
    return f"{_n(stats.get('p50'))} / {_n(stats.get('p99'))}"


def _cpu_rss(b: dict[str, Any], name: str) -> str:
    rss = b.get(f"{name}_rss_mb")
    return f"{_n(b.get(f'{name}_cpu_cores'), '.2f')} / {_n(rss)}"


def _row(label: str, figure: str) -> str:
    return f"{label:<44}{figure}"
