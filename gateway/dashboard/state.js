/* The model: what the panels show, folded from the gateway's data messages one at a
 * time, as the terminal monitor does (monitor/state.py, monitor/headline.py; README
 * "What each panel shows"). No DOM here. Wall-clock times are passed in (`now`, seconds)
 * so that rates and lag follow the page's clock. */
"use strict";
(function (R) {
  const DEFAULT_REGIME_PAIRS = ["IWM/QQQ", "small_caps/mega_cap_tech"];
  const UPWARD = new Set(["up", "into_small_caps", "broadening"]);
  const UPWARD_SIDES = new Set(["into_small_caps", "broadening"]);
  const ORIGIN_ORDER = { configured: 0, group_vs_benchmark: 1, symbol_vs_benchmark: 2 };
  const LEVELS = ["headline", "supporting", "detail"];
  const HISTORY = 500; // RS points per pair
  const MAX_SIGNALS = 2000;
  const RATE_WINDOW = 10; // s of wall time that ticks/s and signals/s average over

  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const isNumOrNull = (v) => v === null || v === undefined || isNum(v);
  const isStr = (v) => typeof v === "string";

  /** Why a metrics record cannot be shown, or null when it can. */
  function metricsProblem(d) {
    if (!d || typeof d !== "object") return "no data";
    if (!isStr(d.subject) || !isNum(d.ts) || !isNum(d.bars)) return "no subject, ts or bars";
    if (d.kind === "pair") {
      const p = d.pair;
      if (!p || typeof p !== "object") return "a pair snapshot without pair figures";
      if (!isStr(p.numerator) || !isStr(p.denominator) || !isStr(p.origin)) return "pair without numerator, denominator or origin";
      if (!isNum(p.rs) || !isNumOrNull(p.rs_sma)) return "pair without a numeric rs";
      if (p.rrg !== null && p.rrg !== undefined) {
        const r = p.rrg;
        if (!isNum(r.rs_ratio) || !isNum(r.rs_momentum) || !isStr(r.quadrant)) return "rrg without ratio, momentum or quadrant";
        if (r.tail !== undefined && (!Array.isArray(r.tail) || r.tail.some((t) => !Array.isArray(t) || !isNum(t[0]) || !isNum(t[1])))) return "rrg tail not pairs of numbers";
      }
      return null;
    }
    if (d.kind === "group") {
      const g = d.group;
      if (!g || typeof g !== "object") return "a group snapshot without group figures";
      for (const k of ["advancers", "decliners", "unchanged", "nh_nl", "mcclellan_oscillator"]) {
        if (!isNum(g[k])) return `group without a numeric ${k}`;
      }
      if (!isNumOrNull(g.pct_above_sma)) return "group with a non-numeric pct_above_sma";
      return null;
    }
    return `unknown kind ${d.kind}`;
  }

  /** Why a signal cannot be shown, or null when it can. */
  function signalProblem(s) {
    if (!s || typeof s !== "object") return "no data";
    if (!isStr(s.id) || !isStr(s.kind) || !isStr(s.subject) || !isStr(s.direction)) return "no id, kind, subject or direction";
    if (!isNum(s.score) || !isNum(s.ts) || !isNum(s.window_end) || !isNum(s.window_start)) return "no numeric score, ts or window";
    if (!isStr(s.summary)) return "no summary";
    if (!s.evidence || typeof s.evidence !== "object" || Array.isArray(s.evidence)) return "evidence is not a dict";
    for (const [k, v] of Object.entries(s.evidence)) {
      if (!(v === null || isStr(v) || isNum(v))) return `evidence ${k} is neither a number, a string nor null`;
    }
    if (s.level !== undefined && !LEVELS.includes(s.level)) return `unknown level ${s.level}`;
    return null;
  }

  function splitRegime(label) {
    if (!label) return [null, null];
    const i = label.indexOf(":");
    const side = i < 0 ? label : label.slice(0, i);
    const grade = i < 0 ? "" : label.slice(i + 1);
    return [side || null, grade || null];
  }

  class State {
    constructor() {
      this.pairs = new Map(); // name -> {name, order, latest, history: [{ts, bars, rs, sma}]}
      this.groups = new Map(); // name -> {name, order, latest, thrustBars, thrustTs}
      this.signals = new Map(); // id -> signal
      this.signalTimes = []; // [ts, window_end, id], oldest first
      this.kinds = new Set();
      this.regimePairs = new Set(DEFAULT_REGIME_PAIRS);
      this.regimeCalls = new Map(); // pair -> newest rotation_regime signal
      this.latestTs = null;
      this.barSeconds = null;
      this.version = 0;
      this.signalVersion = 0;
      this.counted = []; // interval ts already counted toward ticks/s (at most 64)
      this.tickArrivals = []; // [now, ticks]
      this.signalArrivals = []; // now
      this.liveSince = null;
      this.skipped = 0;
    }

    /** Fold in one data message; false (and one warning) when it cannot be used. */
    apply(message, catchUp, now) {
      if (message.type === "metrics") {
        const problem = metricsProblem(message.data);
        if (problem) {
          this.skipped += 1;
          console.warn(`rotation: metrics message ${message.seq} skipped: ${problem}`);
          return false;
        }
        this.applyMetrics(message.data, !catchUp, now);
        return true;
      }
      if (message.type === "signal") {
        const problem = signalProblem(message.data);
        if (problem) {
          this.skipped += 1;
          console.warn(`rotation: signal message ${message.seq} skipped: ${problem}`);
          return false;
        }
        this.applySignal(message.data, !catchUp, now);
        return true;
      }
      return false;
    }

    applyMetrics(d, live, now) {
      if (this.latestTs === null || d.ts > this.latestTs) this.latestTs = d.ts;
      if (isNum(d.bar_seconds)) this.barSeconds = d.bar_seconds;
      if (!this.counted.includes(d.ts)) {
        this.counted.push(d.ts);
        if (this.counted.length > 64) this.counted.shift();
        if (live) {
          this.liveSince = this.liveSince ?? now;
          this.tickArrivals.push([now, isNum(d.interval_ticks) ? d.interval_ticks : 0]);
        }
      }
      if (d.kind === "pair") this.applyPair(d);
      else this.applyGroup(d);
    }

    applyPair(d) {
      const name = d.subject.replace(/^pair:/, "");
      let view = this.pairs.get(name);
      if (view === undefined) {
        view = { name, order: this.pairs.size, latest: d, history: [] };
        this.pairs.set(name, view);
      } else if (d.ts < view.latest.ts) {
        return; // an older copy (a snapshot after a resume): the newer one stands
      }
      if (d.pair.regime) this.regimePairs.add(name);
      const h = view.history;
      if (!h.length || d.ts > h[h.length - 1].ts) {
        h.push({ ts: d.ts, bars: d.bars, rs: d.pair.rs, sma: isNum(d.pair.rs_sma) ? d.pair.rs_sma : null });
        if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
      }
      view.latest = d;
      this.version += 1;
    }

    applyGroup(d) {
      const name = d.subject.replace(/^group:/, "");
      let view = this.groups.get(name);
      if (view === undefined) {
        view = { name, order: this.groups.size, latest: d, thrustBars: null, thrustTs: null };
        this.groups.set(name, view);
      } else if (d.ts <= view.latest.ts) {
        return;
      }
      view.latest = d;
      if (d.group.zweig_thrust === true) {
        view.thrustBars = d.bars;
        view.thrustTs = d.ts;
      }
      this.version += 1;
    }

    applySignal(s, live, now) {
      if (this.signals.has(s.id)) return;
      const signal = { ...s, level: s.level || "supporting" };
      this.signals.set(s.id, signal);
      this.kinds.add(s.kind);
      // Insert by (ts, window_end, id): newest last, like bisect.insort.
      const key = [s.ts, s.window_end, s.id];
      const times = this.signalTimes;
      let lo = 0;
      let hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareKey(times[mid], key) <= 0) lo = mid + 1;
        else hi = mid;
      }
      times.splice(lo, 0, key);
      while (times.length > MAX_SIGNALS) this.signals.delete(times.shift()[2]);
      if (this.latestTs === null || s.ts > this.latestTs) this.latestTs = s.ts;
      if (s.kind === "rotation_regime") {
        const pair = s.subject.replace(/^pair:/, "");
        this.regimePairs.add(pair);
        const known = this.regimeCalls.get(pair);
        if (known === undefined || s.ts >= known.ts) this.regimeCalls.set(pair, signal);
      }
      if (live) {
        this.liveSince = this.liveSince ?? now;
        this.signalArrivals.push(now);
      }
      this.version += 1;
      this.signalVersion += 1;
    }

    // Views -----------------------------------------------------------------------

    /** Configured pairs, then groups against the benchmark, then symbols. */
    sortedPairs() {
      return [...this.pairs.values()].sort(
        (a, b) => (ORIGIN_ORDER[a.latest.pair.origin] ?? 9) - (ORIGIN_ORDER[b.latest.pair.origin] ?? 9) || a.order - b.order,
      );
    }

    sortedGroups() {
      return [...this.groups.values()].sort((a, b) => a.order - b.order);
    }

    /** The benchmark: the denominator of the group-vs-benchmark pairs (SPY if none yet). */
    benchmark() {
      for (const v of this.pairs.values()) {
        if (v.latest.pair.origin === "group_vs_benchmark") return v.latest.pair.denominator;
      }
      return "SPY";
    }

    /** One headline entry per regime pair, in order (monitor/headline.py). */
    regimeHeadline() {
      return [...this.regimePairs].map((pair) => {
        const view = this.pairs.get(pair);
        const lastCall = this.regimeCalls.get(pair) || null;
        if (view === undefined) return { pair, held: false, hasData: false, lastCall };
        const p = view.latest.pair;
        const [side, grade] = splitRegime(p.regime);
        return {
          pair, side, grade, held: side !== null, hasData: true, lastCall,
          upward: UPWARD_SIDES.has(side),
          since: isNum(p.regime_since) ? p.regime_since : null,
          rsChangePct: isNum(p.regime_rs_change_pct) ? p.regime_rs_change_pct : null,
          barSeconds: view.latest.bar_seconds,
          rs: p.rs,
        };
      });
    }

    /** Signals newest first that pass `filter` ({text, kind, levels: Set}), at most `limit`. */
    newestSignals(filter, limit = 200) {
      const out = [];
      const text = (filter.text || "").trim().toLowerCase();
      for (let i = this.signalTimes.length - 1; i >= 0 && out.length < limit; i--) {
        const s = this.signals.get(this.signalTimes[i][2]);
        if (!filter.levels.has(s.level)) continue;
        if (filter.kind && s.kind !== filter.kind) continue;
        if (text && !`${s.subject} ${s.kind} ${s.summary}`.toLowerCase().includes(text)) continue;
        out.push(s);
      }
      return out;
    }

    // Rates and lag ---------------------------------------------------------------

    ticksPerSecond(now) {
      forget(this.tickArrivals, now, (e) => e[0]);
      let sum = 0;
      for (const [, ticks] of this.tickArrivals) sum += ticks;
      return sum / this.elapsed(now);
    }

    signalsPerSecond(now) {
      forget(this.signalArrivals, now, (e) => e);
      return this.signalArrivals.length / this.elapsed(now);
    }

    elapsed(now) {
      const since = this.liveSince ?? now;
      return Math.max(1, Math.min(RATE_WINDOW, now - since));
    }

    /** Seconds from the newest event time to the wall clock. */
    lag(now) {
      return this.latestTs === null ? null : now - this.latestTs / 1e6;
    }
  }

  function compareKey(a, b) {
    return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
  }

  function forget(arrivals, now, key) {
    let n = 0;
    while (n < arrivals.length && key(arrivals[n]) < now - RATE_WINDOW) n++;
    if (n) arrivals.splice(0, n);
  }

  R.model = { State, LEVELS, UPWARD, UPWARD_SIDES, DEFAULT_REGIME_PAIRS, splitRegime, metricsProblem, signalProblem };
})(window.Rotation = window.Rotation || {});
