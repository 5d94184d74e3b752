/* Wiring: the model, the gateway connection and the panels; redraws batched with
 * requestAnimationFrame and spaced at least MIN_FRAME_MS apart (during a catch-up
 * hundreds of metrics messages arrive per second: each changes the model only);
 * the theme toggle; the auth form. Exposes window.Rotation.state and .position(). */
"use strict";
(function (R) {
  const MIN_FRAME_MS = 250;
  const THEME_KEY = "rotation.theme";
  const $ = (id) => document.getElementById(id);

  function start() {
    const state = new R.model.State();
    R.state = state;

    const status = new R.panels.Status($("status"), $("notice"));
    const headline = new R.panels.Headline($("headline"));
    const breadth = new R.panels.Breadth($("breadth"));
    const details = new R.panels.Details($("details"), state);
    const charts = new R.charts.Charts($("rs-charts"), $("rs-pair"));
    const rrgPairs = new R.rrg.RRG($("rrg-pairs"));
    const rrgSectors = new R.rrg.RRG($("rrg-sectors"));
    const log = new R.panels.SignalLog($("signal-log"), {
      text: $("filter-text"), kind: $("filter-kind"), level: $("filter-level"), count: $("signal-count"),
    }, () => {
      // A filter the user changed applies at once, not with the next batched redraw.
      try { log.render(state); } catch (e) { console.warn("rotation: the signal log could not be drawn", e); }
    });
    $("rs-pair").addEventListener("change", () => {
      try { charts.render(state); } catch (e) { console.warn("rotation: the charts could not be drawn", e); }
    });

    // Redraws ----------------------------------------------------------------------
    let drawnVersion = -1;
    let frame = null;
    let timer = null;
    let lastDraw = 0;

    function render() {
      frame = null;
      lastDraw = performance.now();
      const panels = [
        () => headline.render(state),
        () => breadth.render(state),
        () => log.render(state),
        () => {
          const items = R.rrg.graphItems(state);
          rrgPairs.draw(items.pairs);
          rrgSectors.draw(items.sectors);
        },
        () => charts.render(state),
        () => details.refresh(),
        () => status.figures(state, Date.now() / 1000),
      ];
      for (const draw of panels) {
        try { draw(); } catch (e) { console.warn("rotation: a panel could not be drawn", e); }
      }
      drawnVersion = state.version;
    }

    function invalidate() {
      if (frame !== null || timer !== null) return;
      const wait = MIN_FRAME_MS - (performance.now() - lastDraw);
      if (wait > 0) {
        timer = setTimeout(() => { timer = null; frame = requestAnimationFrame(render); }, wait);
      } else {
        frame = requestAnimationFrame(render);
      }
    }

    /** Draw now what has arrived, then resolve after the browser painted it. */
    R.settled = () => {
      if (frame !== null) cancelAnimationFrame(frame);
      if (timer !== null) clearTimeout(timer);
      frame = timer = null;
      render();
      return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))));
    };

    // The gateway ------------------------------------------------------------------
    const form = $("auth-form");
    const tokenInput = $("auth-token");
    const gateway = new R.protocol.Gateway({
      status(s, text) {
        status.connection(s, text);
        form.hidden = s !== "auth";
        if (s === "auth") { tokenInput.value = ""; tokenInput.focus(); }
      },
      notice(kind, text) { status.notice(kind, text); },
      data(message, catchUp) {
        if (state.apply(message, catchUp, Date.now() / 1000)) invalidate();
      },
      heartbeat() {},
    });
    R.gateway = gateway;
    R.position = (channel) => ({ ...gateway.position(channel) });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const token = tokenInput.value.trim();
      if (!token) return;
      form.hidden = true;
      gateway.submitToken(token);
    });

    // Theme ------------------------------------------------------------------------
    const root = document.documentElement;
    let stored = null;
    try { stored = localStorage.getItem(THEME_KEY); } catch (e) { /* no storage */ }
    const prefersDark = window.matchMedia("(prefers-color-scheme: dark)");
    const applyTheme = (theme) => {
      root.dataset.theme = theme;
      $("theme-toggle").textContent = theme === "dark" ? "◑ light" : "◐ dark";
      $("theme-toggle").setAttribute("aria-label", `Switch to the ${theme === "dark" ? "light" : "dark"} scheme`);
    };
    applyTheme(stored === "dark" || stored === "light" ? stored : prefersDark.matches ? "dark" : "light");
    prefersDark.addEventListener("change", (e) => {
      let chosen = null;
      try { chosen = localStorage.getItem(THEME_KEY); } catch (err) { /* no storage */ }
      if (!chosen) { applyTheme(e.matches ? "dark" : "light"); charts.restyle(); }
    });
    $("theme-toggle").addEventListener("click", () => {
      const next = root.dataset.theme === "dark" ? "light" : "dark";
      try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* no storage */ }
      applyTheme(next);
      charts.restyle();
    });

    // The status bar's figures follow the wall clock even when no data comes.
    setInterval(() => {
      try { status.figures(state, Date.now() / 1000); } catch (e) { console.warn("rotation: status", e); }
    }, 1000);

    render();
    gateway.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.Rotation = window.Rotation || {});
