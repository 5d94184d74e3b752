/* The panels drawn from the model: the regime headline, the breadth table, the signal
 * log and its filters, the status bar and notice, and the details panel shown on hover,
 * tap or keyboard focus. DOM is built with createElement/textContent only (subjects
 * and summaries come from the wire) and updated in place, keyed by subject or id, so
 * that hover and focus survive redraws. */
"use strict";
(function (R) {
  const F = R.format;
  const M = R.model;
  const KIND_LABEL = {
    rs_crossover: "RS cross",
    rs_breakout: "RS break",
    rrg_quadrant: "quadrant",
    breadth_thrust: "thrust",
    breadth_divergence: "divergence",
    rotation_regime: "ROTATION",
    group_crossovers: "crossovers",
  };
  const LEVEL_CHOICES = {
    "headline+supporting": ["headline", "supporting"],
    all: ["headline", "supporting", "detail"],
    headline: ["headline"],
    supporting: ["supporting"],
    detail: ["detail"],
  };

  const words = (s) => String(s || "").replace(/_/g, " ");
  const kindLabel = (k) => KIND_LABEL[k] || words(k);
  const plainSubject = (s) => String(s).replace(/^(pair|group):/, "");

  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function marker(up) {
    return up ? "▲" : "▼";
  }

  // The regime headline --------------------------------------------------------------

  class Headline {
    constructor(container) {
      this.container = container;
      this.entries = new Map();
    }

    render(state) {
      const views = state.regimeHeadline();
      views.forEach((view, i) => {
        let entry = this.entries.get(view.pair);
        if (!entry) {
          entry = h("div", "regime");
          entry.dataset.pair = view.pair;
          entry.tabIndex = 0;
          this.entries.set(view.pair, entry);
        }
        if (this.container.children[i] !== entry) this.container.insertBefore(entry, this.container.children[i] || null);
        this.fill(entry, view);
      });
    }

    fill(entry, view) {
      const parts = [h("span", "regime-pair", view.pair)];
      if (!view.held) {
        entry.dataset.side = "none";
        if (!view.hasData) {
          parts.push(h("span", "regime-none", "waiting for data"));
        } else {
          parts.push(h("span", "regime-none", "no regime"));
          const call = view.lastCall;
          if (call) {
            const up = M.UPWARD_SIDES.has(call.direction);
            const last = h("span", "regime-last");
            last.append("last call ", h("span", `mark ${up ? "up" : "down"}`, marker(up)), ` ${words(call.evidence.grade || call.direction)} ${F.eventTime(call.window_end, view.barSeconds)}`);
            parts.push(last);
          }
        }
      } else {
        entry.dataset.side = view.upward ? "up" : "down";
        const side = h("span", "regime-side");
        side.append(h("span", "mark", marker(view.upward)), ` ${words(view.side)}`);
        parts.push(side);
        if (view.grade) {
          const grade = h("span", "regime-grade", words(view.grade));
          grade.dataset.grade = view.grade;
          parts.push(grade);
        }
        if (view.since !== null) parts.push(h("span", "regime-since", `since ${F.eventTime(view.since, view.barSeconds)} ET`));
        if (view.rsChangePct !== null) {
          const change = h("span", "regime-change");
          change.append("RS ", h("span", `num ${view.rsChangePct >= 0 ? "up" : "down"}`, F.signed(view.rsChangePct, 1, "%")));
          parts.push(change);
        }
      }
      const key = parts.map((p) => p.textContent).join("|");
      if (entry.dataset.key !== key) {
        entry.dataset.key = key;
        entry.replaceChildren(...parts);
      }
    }
  }

  // Breadth --------------------------------------------------------------------------

  class Breadth {
    constructor(table) {
      this.body = table.tBodies[0];
      this.rows = new Map();
    }

    render(state) {
      state.sortedGroups().forEach((view, i) => {
        let row = this.rows.get(view.name);
        if (!row) {
          row = this.makeRow(view.name);
          this.rows.set(view.name, row);
        }
        if (this.body.children[i] !== row.tr) this.body.insertBefore(row.tr, this.body.children[i] || null);
        this.fill(row, view);
      });
    }

    makeRow(name) {
      const tr = h("tr");
      tr.dataset.group = name;
      tr.tabIndex = 0;
      const label = h("th", "name", words(name));
      label.scope = "row";
      const adCell = h("td", "ad");
      const bar = h("div", "adbar");
      const adv = h("div", "adv");
      const unch = h("div", "unch");
      const dec = h("div", "dec");
      bar.append(adv, unch, dec);
      const adText = h("span", "ad-text num");
      adCell.append(bar, adText);
      const pct = h("td", "num");
      const nhnl = h("td", "num");
      const mcc = h("td", "num");
      const thrust = h("td", "thrust");
      const zweig = h("td", "num wide");
      const trin = h("td", "num wide");
      const upVol = h("td", "num wide");
      const summation = h("td", "num wide");
      tr.append(label, adCell, pct, nhnl, mcc, thrust, zweig, trin, upVol, summation);
      return { tr, adv, unch, dec, adText, pct, nhnl, mcc, thrust, zweig, trin, upVol, summation };
    }

    fill(row, view) {
      const g = view.latest.group;
      const total = g.advancers + g.decliners + g.unchanged;
      const share = (n) => (total > 0 ? `${((100 * n) / total).toFixed(1)}%` : "0%");
      row.adv.style.width = share(g.advancers);
      row.unch.style.width = share(g.unchanged);
      row.dec.style.width = share(g.decliners);
      row.adText.textContent = `${g.advancers}/${g.decliners}`;
      row.adText.title = `${g.advancers} advancers, ${g.decliners} decliners, ${g.unchanged} unchanged`;
      setSigned(row.pct, g.pct_above_sma, (v) => `${v > 50 ? "▲" : v < 50 ? "▼" : "="} ${v.toFixed(1)}`, (v) => v - 50);
      setSigned(row.nhnl, g.nh_nl, (v) => F.signed(v, 0), (v) => v);
      setSigned(row.mcc, g.mcclellan_oscillator, (v) => F.signed(v, 1), (v) => v);
      row.zweig.textContent = F.num(g.zweig_ema, 3);
      row.trin.textContent = F.num(g.trin, 2);
      row.upVol.textContent = typeof g.up_volume_pct === "number" ? `${(100 * g.up_volume_pct).toFixed(1)}%` : "–";
      setSigned(row.summation, g.summation_index, (v) => F.signed(v, 0), (v) => v);
      if (view.thrustBars === null) {
        row.thrust.textContent = "–";
        row.thrust.dataset.dir = "none";
      } else {
        const ago = view.latest.bars - view.thrustBars;
        row.thrust.textContent = ago === 0 ? "▲ THRUST" : `${ago} bar${ago === 1 ? "" : "s"} ago`;
        row.thrust.dataset.dir = ago === 0 ? "up" : "none";
      }
    }
  }

  function setSigned(cell, value, text, sign) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      cell.textContent = "–";
      cell.dataset.dir = "none";
      return;
    }
    cell.textContent = text(value);
    const s = sign(value);
    cell.dataset.dir = s > 0 ? "up" : s < 0 ? "down" : "none";
  }

  // The signal log -------------------------------------------------------------------

  class SignalLog {
    constructor(table, controls, onChange) {
      this.body = table.tBodies[0];
      this.controls = controls; // {text, kind, level, count}
      this.rows = new Map(); // id -> tr
      this.kinds = "";
      this.key = "";
      for (const c of [controls.text, controls.kind, controls.level]) {
        c.addEventListener("input", onChange);
        c.addEventListener("change", onChange);
      }
    }

    filter() {
      return {
        text: this.controls.text.value,
        kind: this.controls.kind.value,
        levels: new Set(LEVEL_CHOICES[this.controls.level.value] || LEVEL_CHOICES["headline+supporting"]),
      };
    }

    render(state) {
      this.fillKinds(state);
      const f = this.filter();
      const key = `${state.signalVersion}|${f.text}|${f.kind}|${[...f.levels].join(",")}`;
      if (key === this.key) return;
      this.key = key;
      const shown = state.newestSignals(f, 200);
      const wanted = shown.map((s) => this.row(s));
      wanted.forEach((tr, i) => {
        if (this.body.children[i] !== tr) this.body.insertBefore(tr, this.body.children[i] || null);
      });
      while (this.body.children.length > wanted.length) this.body.lastElementChild.remove();
      for (const id of this.rows.keys()) if (!state.signals.has(id)) this.rows.delete(id);
      const levelsText = this.controls.level.selectedOptions[0] ? this.controls.level.selectedOptions[0].textContent : "";
      this.controls.count.textContent = `${shown.length}${shown.length === 200 ? "+" : ""} shown · ${levelsText} · ${state.signals.size} held`;
    }

    fillKinds(state) {
      const kinds = [...state.kinds].sort();
      const key = kinds.join("|");
      if (key === this.kinds) return;
      this.kinds = key;
      const select = this.controls.kind;
      const chosen = select.value;
      const options = [new Option("all kinds", "")];
      for (const k of kinds) options.push(new Option(kindLabel(k), k));
      select.replaceChildren(...options);
      select.value = chosen && kinds.includes(chosen) ? chosen : "";
    }

    row(s) {
      let tr = this.rows.get(s.id);
      if (tr) return tr;
      tr = h("tr", "signal");
      tr.dataset.id = s.id;
      tr.dataset.level = s.level;
      tr.dataset.kind = s.kind;
      tr.tabIndex = 0;
      const up = M.UPWARD.has(s.direction);
      tr.dataset.dir = up ? "up" : "down";
      const time = h("td", "time num", F.shortTime(s.ts, 0));
      time.title = `${F.eventTime(s.ts, 0)} ET`;
      const kind = h("td", "kind", (s.level === "headline" ? "★ " : "") + kindLabel(s.kind));
      kind.title = `${s.kind} (${s.level})`;
      const subject = h("td", "subject");
      subject.append(h("span", "mark", marker(up)), ` ${plainSubject(s.subject)}`);
      subject.title = `${s.subject}: ${words(s.direction)}`;
      const score = h("td", "num score", s.score.toFixed(1));
      // The summary repeats the subject first ("pair:XLK/SPY: ..."): shown once.
      const prefix = `${s.subject}: `;
      const summary = h("td", "summary", s.summary.startsWith(prefix) ? s.summary.slice(prefix.length) : s.summary);
      summary.title = s.summary;
      tr.append(time, kind, subject, score, summary);
      this.rows.set(s.id, tr);
      return tr;
    }
  }

  // Status bar and notice ------------------------------------------------------------

  class Status {
    constructor(root, notice) {
      this.root = root;
      this.dot = root.querySelector(".status-dot");
      this.text = root.querySelector(".status-text");
      this.newest = root.querySelector("#status-newest");
      this.lag = root.querySelector("#status-lag");
      this.ticks = root.querySelector("#status-ticks");
      this.signals = root.querySelector("#status-signals");
      this.noticeEl = notice;
    }

    connection(state, text) {
      this.root.dataset.state = state;
      this.dot.textContent = state === "live" ? "●" : "○";
      const label = { live: "live", connecting: "connecting", reconnecting: "reconnecting", auth: "token needed", refused: "refused" }[state] || state;
      this.text.textContent = text && text !== label ? `${label} · ${text}` : label;
      this.root.title = text || label;
    }

    notice(kind, text) {
      this.noticeEl.hidden = false;
      this.noticeEl.dataset.kind = kind;
      this.noticeEl.textContent = `${F.clock(Date.now())} ${text}`;
      this.noticeEl.title = text;
    }

    figures(state, now) {
      this.newest.textContent = state.latestTs === null ? "no data yet" : `${F.eventTime(state.latestTs, state.barSeconds || 0)} ET`;
      const lag = state.lag(now);
      this.lag.textContent = lag === null ? "lag –" : `lag ${F.duration(lag)}`;
      this.ticks.textContent = `${F.int(state.ticksPerSecond(now))} ticks/s`;
      this.signals.textContent = `${state.signalsPerSecond(now).toFixed(2)} signals/s`;
    }
  }

  // Details on hover, tap or focus ------------------------------------------------

  const TARGETS = ".rrg-point, .regime[data-pair], #breadth tr[data-group], tr.signal[data-id]";

  class Details {
    constructor(panel, state) {
      this.panel = panel;
      this.state = state;
      this.target = null;
      this.pinned = false;
      document.addEventListener("pointerover", (e) => {
        const t = e.target.closest && e.target.closest(TARGETS);
        if (t) this.show(t, false);
      });
      document.addEventListener("pointerout", (e) => {
        const t = e.target.closest && e.target.closest(TARGETS);
        const to = e.relatedTarget;
        if (!t || this.pinned || (to && (t.contains(to) || panel.contains(to)))) return;
        if (t === this.target) this.hide();
      });
      document.addEventListener("click", (e) => {
        const t = e.target.closest && e.target.closest(TARGETS);
        if (t) { this.show(t, true); return; }
        if (e.target.closest && e.target.closest(".details-close")) { this.hide(); return; }
        if (!panel.contains(e.target)) this.hide();
      });
      document.addEventListener("focusin", (e) => {
        const t = e.target.closest && e.target.closest(TARGETS);
        if (t) this.show(t, this.pinned);
      });
      document.addEventListener("focusout", (e) => {
        const t = e.target.closest && e.target.closest(TARGETS);
        if (t && t === this.target && !this.pinned && !(e.relatedTarget && panel.contains(e.relatedTarget))) this.hide();
      });
      document.addEventListener("keydown", (e) => {
        if (e.key === "Escape") { this.hide(); return; }
        if (e.key === "Enter") {
          const t = e.target.closest && e.target.closest(TARGETS);
          if (t) { e.preventDefault(); this.show(t, true); }
        }
      });
    }

    show(target, pin) {
      if (this.target && this.target !== target) this.target.classList.remove("selected");
      this.target = target;
      this.pinned = pin;
      target.classList.add("selected");
      this.refresh();
    }

    hide() {
      if (this.target) this.target.classList.remove("selected");
      this.target = null;
      this.pinned = false;
      this.panel.hidden = true;
    }

    /** Redraw the figures of what is shown (they change as data arrives). */
    refresh() {
      const t = this.target;
      if (!t) return;
      if (!t.isConnected) { this.hide(); return; }
      let content = null;
      if (t.matches(".rrg-point")) content = this.pair(plainSubject(t.getAttribute("data-subject")));
      else if (t.matches(".regime")) content = this.pair(t.dataset.pair, true);
      else if (t.matches("tr[data-group]")) content = this.group(t.dataset.group);
      else if (t.matches("tr.signal")) content = this.signal(t.dataset.id);
      if (!content) { this.hide(); return; }
      const [title, subtitle, rows] = content;
      const close = h("button", "details-close", "×");
      close.type = "button";
      close.setAttribute("aria-label", "Close details");
      const head = h("div", "details-head");
      head.append(h("div", "details-title", title), close);
      const table = h("table", "details-table");
      const body = h("tbody");
      for (const [k, v, cls] of rows) {
        const tr = h("tr", cls || "");
        const th = h("th", "", k);
        th.scope = "row";
        tr.append(th, h("td", "num", v));
        body.append(tr);
      }
      table.append(body);
      this.panel.replaceChildren(head, h("div", "details-sub", subtitle), table);
      this.panel.hidden = false;
    }

    pair(name, withRegime = false) {
      const view = this.state.pairs.get(name);
      if (!view) return withRegime ? [name, "no metrics yet", []] : null;
      const d = view.latest;
      const p = d.pair;
      const rows = [];
      if (p.rrg) {
        rows.push(["RS-Ratio", F.num(p.rrg.rs_ratio, 3)]);
        rows.push(["RS-Momentum", F.num(p.rrg.rs_momentum, 3)]);
        rows.push(["quadrant", `${p.rrg.quadrant}${p.rrg.provisional ? " (provisional)" : ""}`]);
        rows.push(["tail points", String((p.rrg.tail || []).length)]);
      }
      for (const [k, v] of Object.entries(p)) {
        if (k === "rrg" || k === "numerator" || k === "denominator" || k === "origin") continue;
        rows.push([k, k === "regime_since" && typeof v === "number" ? `${F.eventTime(v, d.bar_seconds)} ET` : F.figure(v)]);
      }
      rows.push(["bars", String(d.bars)]);
      rows.push(["bar length", F.duration(d.bar_seconds)]);
      if (Array.isArray(d.provisional) && d.provisional.length) rows.push(["provisional", d.provisional.join(", ")]);
      if (withRegime) {
        const call = this.state.regimeCalls.get(name);
        if (call) rows.push(["last call", `${marker(M.UPWARD_SIDES.has(call.direction))} ${words(call.evidence.grade || call.direction)} ${F.eventTime(call.window_end, d.bar_seconds)}`]);
      }
      return [name, `${words(p.origin)} · ${p.numerator} / ${p.denominator} · ${F.eventTime(d.ts, d.bar_seconds)} ET`, rows];
    }

    group(name) {
      const view = this.state.groups.get(name);
      if (!view) return null;
      const d = view.latest;
      const rows = Object.entries(d.group).map(([k, v]) => [k, F.figure(v)]);
      rows.push(["last thrust", view.thrustTs === null ? "–" : `${F.eventTime(view.thrustTs, d.bar_seconds)} ET`]);
      rows.push(["bars", String(d.bars)]);
      if (Array.isArray(d.provisional) && d.provisional.length) rows.push(["provisional", d.provisional.join(", ")]);
      return [words(name), `group breadth · ${F.eventTime(d.ts, d.bar_seconds)} ET`, rows];
    }

    signal(id) {
      const s = this.state.signals.get(id);
      if (!s) return null;
      const up = M.UPWARD.has(s.direction);
      const rows = [
        ["score", s.score.toFixed(1)],
        ["level", s.level + (s.level === "headline" ? " ★" : "")],
        ["direction", `${marker(up)} ${words(s.direction)}`],
        ["window", `${F.eventTime(s.window_start, 0)} – ${F.eventTime(s.window_end, 0)} ET`],
        ["event time", `${F.eventTime(s.ts, 0)} ET`],
      ];
      for (const [k, v] of Object.entries(s.evidence)) rows.push([k, F.figure(v), "evidence"]);
      return [`${s.level === "headline" ? "★ " : ""}${kindLabel(s.kind)} · ${plainSubject(s.subject)}`, s.summary, rows];
    }
  }

  R.panels = { Headline, Breadth, SignalLog, Status, Details, KIND_LABEL, LEVEL_CHOICES };
})(window.Rotation = window.Rotation || {});
