// pitstop dashboard: live sections, charts, the try-it panel, copy and confirm buttons.
// No build step, no dependency but the vendored uPlot. Polling stops while the tab is hidden.
(() => {
  "use strict";

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]);

  // -- times in the reader's zone --------------------------------------------------------
  function localTimes(root) {
    for (const el of $$("time[datetime]", root)) {
      const when = new Date(el.dateTime);
      if (Number.isNaN(when.getTime())) continue;
      el.title = el.dateTime;
      el.textContent = when.toLocaleString(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      });
    }
  }

  // -- the scheduler: runs tasks while the tab is visible ---------------------------------
  const tasks = [];
  let timer = null;
  const stateEl = $("[data-live-state]");

  function every(ms, run) {
    const task = { every: ms, last: 0, run, done: false, busy: false };
    tasks.push(task);
    return task;
  }

  async function tick(force) {
    if (document.hidden) return;
    const now = Date.now();
    for (const task of tasks) {
      if (task.done || task.busy || (!force && now - task.last < task.every)) continue;
      task.busy = true;
      task.last = now;
      task.run(task).catch(() => {}).finally(() => { task.busy = false; });
    }
  }

  function start() {
    if (timer === null) timer = setInterval(tick, 250);
    tick(true);
    if (stateEl) { stateEl.textContent = "live"; stateEl.classList.remove("paused"); }
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (stateEl) { stateEl.textContent = "paused (tab hidden)"; stateEl.classList.add("paused"); }
  }

  document.addEventListener("visibilitychange", () => (document.hidden ? stop() : start()));

  async function fetchOk(url, accept) {
    const response = await fetch(url, {
      headers: { Accept: accept }, credentials: "same-origin", cache: "no-store",
    });
    if (response.status === 401 || (response.redirected && response.url.includes("/login"))) {
      window.location.reload();
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response;
  }
  const getJSON = async (url) => (await fetchOk(url, "application/json")).json();

  // -- live sections: swap in the server-rendered fragment --------------------------------
  for (const el of $$("[data-live]")) {
    every(Number(el.dataset.interval) || 2000, async (task) => {
      if (el.contains(document.activeElement) && document.activeElement !== document.body) return;
      const html = await (await fetchOk(el.dataset.live, "text/html")).text();
      if (html !== el.dataset.lastHtml) {
        el.dataset.lastHtml = html;
        const open = $$("details[open]", el).map((d, i) => i);
        el.innerHTML = html;
        $$("details", el).forEach((d, i) => { if (open.includes(i)) d.open = true; });
        localTimes(el);
      }
      if ($("[data-final]", el)) task.done = true;
    });
  }

  // -- a job's logs and stream chunks, appended as they come ------------------------------
  const jobDone = () => Boolean($("[data-job][data-done]") || $("[data-job] .status-head[data-final]"));

  function appender(el, interval, read) {
    let quietAfterDone = 0;
    every(interval, async (task) => {
      const added = await read();
      if (jobDone()) {
        quietAfterDone = added ? 0 : quietAfterDone + 1;
        if (quietAfterDone >= 2) task.done = true;
      }
    });
  }

  const logs = $("[data-logs-url]");
  if (logs) {
    appender(logs, 1500, async () => {
      const data = await getJSON(`${logs.dataset.logsUrl}?after=${logs.dataset.after}`);
      const nearBottom = logs.scrollHeight - logs.scrollTop - logs.clientHeight < 40;
      for (const line of data.lines) {
        const span = document.createElement("span");
        span.className = `log-${line.stream}`;
        span.textContent = line.text.endsWith("\n") ? line.text : `${line.text}\n`;
        logs.append(span);
        logs.dataset.after = line.seq;
      }
      if (data.lines.length) {
        const empty = $("[data-logs-empty]");
        if (empty) empty.hidden = true;
        logs.hidden = false;
        if (nearBottom) logs.scrollTop = logs.scrollHeight;
      }
      return data.lines.length;
    });
  }

  const chunkList = $("[data-chunks-url]");
  if (chunkList) {
    appender(chunkList, 1000, async () => {
      const data = await getJSON(`${chunkList.dataset.chunksUrl}?from=${chunkList.dataset.next}`);
      for (const chunk of data.chunks) chunkList.append(chunkItem(chunk));
      chunkList.dataset.next = data.next;
      const count = $("[data-chunk-count]");
      if (count) count.textContent = data.next;
      if (data.chunks.length) chunkList.closest("section").hidden = false;
      return data.chunks.length;
    });
  }

  function chunkItem(chunk) {
    const li = document.createElement("li");
    li.value = chunk.seq;
    const code = document.createElement("code");
    code.textContent = JSON.stringify(chunk.output);
    li.append(code);
    return li;
  }

  // -- charts -------------------------------------------------------------------------------
  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const msText = (v) => (v == null ? "—" : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`);

  function chartSpec(kind, data) {
    const line = (label, color, dash) => ({ label, stroke: cssVar(color), width: 1.5, dash, points: { show: false } });
    if (kind === "throughput") {
      return {
        series: [{}, line("completed", "--c1"), line("failed", "--c2"), line("cancelled", "--c3"), line("timed out", "--c4")],
        values: [data.t, data.completed, data.failed, data.cancelled, data.timedOut],
        format: (v) => (v == null ? "—" : String(v)),
      };
    }
    return {
      series: [{}, line("delay p50", "--c5"), line("delay p95", "--c5", [4, 3]),
        line("exec p50", "--c6"), line("exec p95", "--c6", [4, 3])],
      values: [data.t, data.delayP50, data.delayP95, data.executionP50, data.executionP95],
      format: msText,
    };
  }

  function drawChart(el, data) {
    const spec = chartSpec(el.dataset.chart, data);
    const height = el.classList.contains("tall") ? 200 : 140;
    if (el.plot && el.plot.series.length === spec.series.length && el.plot.data[0].length === data.t.length) {
      el.plot.setData(spec.values);
      return;
    }
    if (el.plot) el.plot.destroy();
    const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--line"), width: 1 }, ticks: { stroke: cssVar("--line") } };
    spec.series.slice(1).forEach((s) => { s.value = (u, v) => spec.format(v); });
    el.plot = new window.uPlot({
      width: Math.max(200, el.clientWidth), height,
      series: spec.series, scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 64, values: (u, ticks) => ticks.map(spec.format) }],
      legend: { live: false },
    }, spec.values, el);
  }

  const charts = $$("[data-chart]");
  if (charts.length && window.uPlot) {
    for (const el of charts) {
      every(10000, async () => drawChart(el, await getJSON(el.dataset.src)));
    }
    window.addEventListener("resize", () => {
      for (const el of charts) if (el.plot) el.plot.setSize({ width: Math.max(200, el.clientWidth), height: el.plot.height });
    });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      for (const el of charts) { if (el.plot) el.plot.destroy(); el.plot = null; }
      tick(true);
    });
    for (const button of $$("[data-charts] [data-window]")) {
      button.addEventListener("click", () => {
        for (const other of $$("[data-charts] [data-window]")) other.setAttribute("aria-pressed", String(other === button));
        for (const el of charts) {
          el.dataset.src = el.dataset.src.replace(/window=\w+/, `window=${button.dataset.window}`);
          drawChart(el, { t: [] });
        }
        for (const task of tasks) task.last = 0;
        tick(true);
      });
    }
  }

  // -- the try-it panel ---------------------------------------------------------------------
  const tryForm = $("#try");
  if (tryForm) {
    const show = (id) => $(`#${id}`);
    const buttons = $$("button", tryForm);
    const setStatus = (text) => { show("try-status").textContent = text; };
    const showOutput = (body) => {
      const out = body.error !== undefined && body.error !== null ? body.error : body.output;
      show("try-output").textContent = out === undefined ? "" : typeof out === "string" ? out : JSON.stringify(out, null, 2);
    };
    const addChunks = (chunks) => {
      if (!chunks.length) return;
      show("try-chunks-box").hidden = false;
      for (const chunk of chunks) show("try-chunks").append(chunkItem(chunk));
    };

    async function follow(id) {
      let next = 0;
      for (;;) {
        while (document.hidden) await new Promise((done) => document.addEventListener("visibilitychange", done, { once: true }));
        const job = await getJSON(`/pitstop/v1/jobs/${encodeURIComponent(id)}`);
        const stream = await getJSON(`/pitstop/v1/jobs/${encodeURIComponent(id)}/chunks?from=${next}`);
        addChunks(stream.chunks);
        next = stream.next;
        setStatus(job.status + (job.status === "IN_PROGRESS" && job.has_progress ? ` · ${JSON.stringify(job.progress)}` : ""));
        if (TERMINAL.has(job.status)) { showOutput(job); return; }
        await sleep(300);
      }
    }

    tryForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const submitter = event.submitter || buttons[0];
      const sync = submitter.value === "runsync";
      let input;
      try {
        input = JSON.parse(show("try-input").value || "null");
      } catch (error) {
        show("try-result").hidden = false;
        setStatus(`Input is not valid JSON: ${error.message}`);
        return;
      }
      show("try-result").hidden = false;
      show("try-chunks").textContent = "";
      show("try-chunks-box").hidden = true;
      show("try-output").textContent = "";
      show("try-link").textContent = "";
      setStatus(sync ? "waiting for the result…" : "submitting…");
      buttons.forEach((b) => { b.disabled = true; });
      const started = Date.now();
      const clock = setInterval(() => { show("try-time").textContent = `${((Date.now() - started) / 1000).toFixed(1)} s`; }, 100);
      try {
        const target = submitter.hasAttribute("formaction") ? submitter.formAction : tryForm.action;
        const response = await fetch(target, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
          body: JSON.stringify({ input }),
        });
        const body = await response.json();
        if (!response.ok) { setStatus(`refused: ${(body.error && body.error.message) || response.status}`); return; }
        const link = show("try-link");
        link.href = `/dashboard/jobs/${encodeURIComponent(body.id)}`;
        link.textContent = body.id;
        setStatus(body.status);
        if (sync) {
          showOutput(body);
          addChunks((await getJSON(`/pitstop/v1/jobs/${encodeURIComponent(body.id)}/chunks?from=0`)).chunks);
        } else {
          await follow(body.id);
        }
      } catch (error) {
        setStatus(`failed: ${error.message}`);
      } finally {
        clearInterval(clock);
        show("try-time").textContent = `${((Date.now() - started) / 1000).toFixed(2)} s`;
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  // -- copy and confirm ---------------------------------------------------------------------
  for (const button of $$("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      const text = source ? source.textContent : "";
      try {
        await navigator.clipboard.writeText(text);
      } catch (error) {
        const details = source && source.closest("details");
        if (details) details.open = true;
        window.getSelection().selectAllChildren(source);
      }
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }

  for (const form of $$("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); return; }
      const flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirm";
      flag.value = "1";
      form.append(flag);
    });
  }

  localTimes(document);
  if (!document.hidden) start(); else stop();
})();
