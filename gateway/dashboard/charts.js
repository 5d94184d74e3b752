/* The RS lines (numerator / denominator) of the regime pairs and of one pair chosen in
 * #rs-pair, each with its moving average (rs_sma, dashed), drawn with the vendored
 * uPlot. The x axis is ordinal (one step per interval, as the terminal's sparkline):
 * nights and weekends take no room; its labels are the intervals' end times in New
 * York. Charts follow their container's size (ResizeObserver) and take new data only
 * when app.js redraws, a few times a second at most. */
"use strict";
(function (R) {
  const F = R.format;

  function cssVar(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  class RSChart {
    constructor(parent, pair) {
      this.pair = pair;
      this.root = document.createElement("div");
      this.root.className = "rs-chart";
      this.root.dataset.pair = pair;
      this.title = document.createElement("div");
      this.title.className = "rs-chart-title";
      this.name = document.createElement("span");
      this.name.className = "rs-chart-name";
      this.name.textContent = pair;
      this.figures = document.createElement("span");
      this.figures.className = "rs-chart-figures";
      this.title.append(this.name, this.figures);
      this.plotBox = document.createElement("div");
      this.plotBox.className = "rs-chart-plot";
      this.root.append(this.title, this.plotBox);
      parent.appendChild(this.root);
      this.ts = [];
      this.data = [[], [], []];
      this.drawnKey = "";
      this.plot = null;
      this.observer = new ResizeObserver(() => this.resize());
      this.observer.observe(this.plotBox);
    }

    size() {
      return { width: Math.max(60, Math.floor(this.plotBox.clientWidth)), height: Math.max(40, Math.floor(this.plotBox.clientHeight)) };
    }

    build() {
      if (typeof window.uPlot !== "function") return;
      const axis = cssVar("--muted", "#888");
      const grid = cssVar("--grid", "rgba(128,128,128,0.2)");
      const font = `11px ${cssVar("--font", "system-ui, sans-serif")}`;
      const ts = () => this.ts;
      const barSeconds = () => this.barSeconds || 900;
      const opts = {
        ...this.size(),
        legend: { show: false },
        cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 5 } },
        scales: { x: { time: false } },
        series: [
          {},
          { label: "RS", stroke: cssVar("--chart-rs", "#4aa3ff"), width: 1.5, points: { show: false } },
          { label: "SMA", stroke: cssVar("--chart-sma", "#d9a441"), width: 1, dash: [4, 3], points: { show: false } },
        ],
        axes: [
          {
            stroke: axis, font, size: 22, gap: 2,
            grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 3 },
            space: 90,
            incrs: [1, 2, 4, 8, 13, 26, 52, 78, 130, 260, 520, 1040],
            values: (u, splits) => splits.map((i) => {
              const t = ts()[Math.round(i)];
              return t === undefined ? "" : F.shortTime(t, barSeconds());
            }),
          },
          {
            stroke: axis, font, size: 54, gap: 3,
            grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 3 },
            values: (u, splits) => splits.map((v) => formatRs(v)),
          },
        ],
      };
      this.plot = new window.uPlot(opts, this.data, this.plotBox);
    }

    resize() {
      if (this.plot) this.plot.setSize(this.size());
      else if (this.plotBox.clientWidth > 0) this.build();
    }

    /** Take the pair's view ({latest, history}) if it changed since the last draw. */
    update(view) {
      if (!view) {
        this.figures.textContent = "waiting for data";
        return;
      }
      const h = view.history;
      const key = `${h.length}:${h.length ? h[h.length - 1].ts : 0}`;
      const p = view.latest.pair;
      const marker = p.above_sma === true ? "▲ above SMA" : p.above_sma === false ? "▼ below SMA" : "";
      this.figures.textContent = `RS ${formatRs(p.rs)} · SMA ${formatRs(p.rs_sma)} · ${F.signed(p.rs_vs_sma_pct, 2, "%")} ${marker}`;
      this.figures.dataset.trend = p.above_sma === true ? "up" : p.above_sma === false ? "down" : "none";
      if (key === this.drawnKey && this.plot) return;
      this.drawnKey = key;
      this.barSeconds = view.latest.bar_seconds;
      this.ts = h.map((pt) => pt.ts);
      this.data = [h.map((_, i) => i), h.map((pt) => pt.rs), h.map((pt) => pt.sma)];
      if (!this.plot) this.build();
      else this.plot.setData(this.data);
    }

    /** Rebuild with the current scheme's colours. */
    restyle() {
      if (!this.plot) return;
      this.plot.destroy();
      this.plot = null;
      this.build();
    }

    destroy() {
      this.observer.disconnect();
      if (this.plot) this.plot.destroy();
      this.root.remove();
    }
  }

  function formatRs(v) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : a >= 1 ? v.toFixed(3) : v.toFixed(4);
  }

  /** The charts in #rs-charts: one per regime pair with data, and the selected pair. */
  class Charts {
    constructor(container, select) {
      this.container = container;
      this.select = select;
      this.charts = new Map();
      this.optionsKey = null;
    }

    wanted(state) {
      const names = [...state.regimePairs].filter((p) => state.pairs.has(p));
      const chosen = this.select.value;
      if (chosen && state.pairs.has(chosen) && !names.includes(chosen)) names.push(chosen);
      return names;
    }

    render(state) {
      this.fillSelect(state);
      const names = this.wanted(state);
      for (const [name, chart] of this.charts) {
        if (!names.includes(name)) { chart.destroy(); this.charts.delete(name); }
      }
      names.forEach((name, i) => {
        let chart = this.charts.get(name);
        if (!chart) { chart = new RSChart(this.container, name); this.charts.set(name, chart); }
        if (this.container.children[i] !== chart.root) this.container.insertBefore(chart.root, this.container.children[i] || null);
        chart.update(state.pairs.get(name));
      });
      this.container.dataset.count = String(names.length);
    }

    /** Every pair but the symbols against the benchmark, configured ones first. */
    fillSelect(state) {
      const names = state.sortedPairs().filter((v) => v.latest.pair.origin !== "symbol_vs_benchmark").map((v) => v.name);
      const key = names.join("|");
      if (key === this.optionsKey) return;
      this.optionsKey = key;
      const chosen = this.select.value;
      const options = [new Option("(regime pairs only)", "")];
      for (const name of names) options.push(new Option(name, name));
      this.select.replaceChildren(...options);
      this.select.value = names.includes(chosen) ? chosen : "";
    }

    restyle() {
      for (const chart of this.charts.values()) chart.restyle();
    }
  }

  R.charts = { Charts, RSChart };
})(window.Rotation = window.Rotation || {});
