/// The page at `/`: search as you type and a projections dashboard, in one HTML file and one
/// script served by the binary itself (no build step, no external assets).
///
/// Safety: every value from the index is set with `textContent`; only the engine's highlights
/// are parsed as HTML, and those are HTML-escaped text with `<mark>` added. The page is served
/// with a Content-Security-Policy that forbids inline script, so even a bug there could not run
/// injected code.
enum WebPage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Projector</title>
        <link rel="icon" href="data:,">
        <style>
          :root { --ink: #1d2330; --muted: #5d6577; --line: #dfe3ea; --accent: #2f5bd3; --bad: #b42318; --ok: #18794e; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
          header { display: flex; gap: 1rem; align-items: center; padding: .8rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
          header h1 { font-size: 1.1rem; margin: 0; }
          nav button { border: 0; background: none; padding: .4rem .7rem; border-radius: 6px; cursor: pointer; color: var(--muted); font: inherit; }
          nav button[aria-selected="true"] { background: #e8eefc; color: var(--accent); }
          main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.2rem; }
          .bar { display: flex; gap: .5rem; }
          #q { flex: 1; font: inherit; font-size: 1.05rem; padding: .6rem .8rem; border: 1px solid var(--line); border-radius: 8px; }
          #tenant, #token { width: 9rem; font: inherit; padding: .6rem; border: 1px solid var(--line); border-radius: 8px; }
          select { font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
          #summary { color: var(--muted); margin: .7rem 0; min-height: 1.4em; }
          .layout { display: grid; grid-template-columns: 220px 1fr; gap: 1.2rem; }
          .facets h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: .8rem 0 .3rem; }
          .facets label { display: flex; justify-content: space-between; gap: .4rem; font-size: .9rem; cursor: pointer; padding: .1rem 0; }
          .facets label span:first-child { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
          .hit { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: .7rem .9rem; margin-bottom: .6rem; }
          .hit .title { font-weight: 600; font-size: 1.02rem; }
          .hit .id { color: var(--muted); font-size: .8rem; margin-left: .5rem; }
          .hit .filters { color: var(--muted); font-size: .8rem; margin-top: .3rem; }
          .hit .score { color: var(--muted); font-size: .8rem; margin-left: .5rem; }
          .hit .field { margin-top: .25rem; font-size: .92rem; }
          .hit .field b { color: var(--muted); font-weight: 500; margin-right: .35rem; }
          mark { background: #ffe58a; padding: 0 .1em; border-radius: 2px; }
          .pager { display: flex; gap: .5rem; align-items: center; margin: .8rem 0; }
          .pager button { font: inherit; padding: .35rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
          .pager button:disabled { opacity: .4; cursor: default; }
          table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
          th, td { text-align: left; padding: .5rem .7rem; border-bottom: 1px solid var(--line); font-size: .9rem; }
          th { color: var(--muted); font-weight: 500; background: #fafbfc; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; }
          .state { padding: .1rem .5rem; border-radius: 99px; font-size: .8rem; background: #eef0f4; }
          .state.live { background: #dff5e8; color: var(--ok); }
          .state.failed { background: #fde7e5; color: var(--bad); }
          .state.rebuilding, .state.catching-up { background: #fff4d6; color: #8a5a00; }
          .error { color: var(--bad); }
          progress { width: 120px; }
          [hidden] { display: none !important; }
        </style>
        </head>
        <body>
        <header>
          <h1>Projector</h1>
          <nav>
            <button id="tab-search" aria-selected="true">Search</button>
            <button id="tab-projections" aria-selected="false">Projections</button>
          </nav>
        </header>
        <main>
          <section id="search">
            <div class="bar">
              <input id="q" type="search" placeholder="Search…" autocomplete="off" autofocus aria-label="Search">
              <select id="index" aria-label="Index"></select>
              <input id="tenant" placeholder="Tenant" aria-label="Tenant" hidden>
              <input id="token" type="password" placeholder="Key or token" autocomplete="off" aria-label="Key or token">
            </div>
            <div id="summary" role="status"></div>
            <div class="layout">
              <aside class="facets" id="facets"></aside>
              <div>
                <div id="hits"></div>
                <div class="pager"><button id="prev">Previous</button><span id="page"></span><button id="next">Next</button></div>
              </div>
            </div>
          </section>
          <section id="projections" hidden>
            <table>
              <thead><tr><th>Name</th><th>Kind</th><th>State</th><th>Position</th><th>Lag</th><th>Events/s</th><th>Rebuild</th><th>Dead letters</th><th>Last error</th></tr></thead>
              <tbody id="rows"></tbody>
            </table>
          </section>
        </main>
        <script src="/app.js"></script>
        </body>
        </html>
        """

    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const state = { indexes: [], index: null, query: "", offset: 0, limit: 10, filters: {}, timer: null, seq: 0 };

        // A key or tenant token: from the address's #token= (never sent to the server in the
        // URL), or typed; kept for this tab only and sent as a bearer credential.
        const fragment = new URLSearchParams(location.hash.slice(1));
        if (fragment.get("token")) {
          sessionStorage.setItem("projector.token", fragment.get("token"));
          history.replaceState(null, "", location.pathname + location.search);
        }
        function credentials() {
          const token = sessionStorage.getItem("projector.token");
          return token ? { headers: { Authorization: "Bearer " + token } } : {};
        }
        // A token's tenant is the answer's; the tenant box is for a key on a partitioned index.
        function tokenTenant() {
          const token = sessionStorage.getItem("projector.token") || "";
          try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).tenant || null; } catch { return null; }
        }

        function el(tag, text, className) {
          const node = document.createElement(tag);
          if (text !== undefined && text !== null) node.textContent = String(text);
          if (className) node.className = className;
          return node;
        }

        // A hit is titled by its heaviest text field that it has (a page title, a package name).
        function titleField(hit) {
          let best = null;
          for (const field of state.index.fields) {
            if (!hit.fields[field] && !hit.highlights[field]) continue;
            if (best === null || state.index.weights[field] > state.index.weights[best]) best = field;
          }
          return best;
        }

        // The engine escapes the text and adds only <mark>; anything else is shown as text.
        function showMarked(node, highlight, text) {
          if (highlight) node.innerHTML = highlight; else node.textContent = text === undefined || text === null ? "" : String(text);
        }

        async function loadIndexes() {
          const response = await fetch("/v1/indexes", credentials());
          if (!response.ok) {
            state.indexes = [];
            $("summary").textContent = (await response.json()).error + " (paste a key or token above)";
            $("index").replaceChildren();
            return;
          }
          state.indexes = await response.json();
          const select = $("index");
          select.replaceChildren(...state.indexes.map((index) => { const o = el("option", index.name); o.value = index.name; return o; }));
          const wanted = new URLSearchParams(location.search).get("index");
          state.index = state.indexes.find((i) => i.name === wanted) || state.indexes[0] || null;
          if (state.index) select.value = state.index.name;
          showTenant();
          const q = new URLSearchParams(location.search).get("q");
          if (q) { $("q").value = q; state.query = q; search(); }
        }

        function schedule() {
          clearTimeout(state.timer);
          state.timer = setTimeout(() => { state.offset = 0; search(); }, 120);
        }

        async function search() {
          if (!state.index) { $("summary").textContent = "No search index yet: add a kind: search spec."; return; }
          const seq = ++state.seq;
          // The fields the page shows, long ones cut short: a page of hits stays a few KB.
          const shown = state.index.fields.concat(state.index.filters).join(",");
          const params = new URLSearchParams({ q: state.query, limit: state.limit, offset: state.offset, fields: shown, crop: 240 });
          for (const facet of state.index.filters) params.append("facet", facet);
          for (const [field, value] of Object.entries(state.filters)) params.append("filter", field + ":" + value);
          if (state.index.tenant && !tokenTenant()) params.set("tenant", $("tenant").value);
          const response = await fetch("/v1/search/" + encodeURIComponent(state.index.name) + "?" + params, credentials());
          const body = await response.json();
          if (seq !== state.seq) return;   // a newer keystroke won
          if (!response.ok) { $("summary").textContent = body.error || response.statusText; return; }
          render(body);
        }

        function render(result) {
          let summary = result.total + (result.total === 1 ? " result" : " results") + " in " + result.tookMs + " ms";
          if (result.suggestion) summary += " · showing results for “" + result.suggestion + "”";
          $("summary").textContent = summary;
          const hits = result.hits.map((hit) => {
            const card = el("article", null, "hit");
            const title = titleField(hit);
            const head = el("div", null, "head");
            const name = el("span", null, "title");
            showMarked(name, hit.highlights[title], title ? hit.fields[title] : hit.id);
            head.append(name, el("span", hit.id, "id"), el("span", hit.score.toFixed(2), "score"));
            card.append(head);
            for (const field of state.index.fields) {
              const value = hit.fields[field];
              if (field === title || ((value === undefined || value === null || value === "") && !hit.highlights[field])) continue;
              const line = el("div", null, "field");
              line.append(el("b", field));
              const span = el("span");
              showMarked(span, hit.highlights[field], value);
              line.append(span);
              card.append(line);
            }
            const filters = state.index.filters.filter((f) => hit.fields[f]).map((f) => f + ": " + hit.fields[f]);
            if (filters.length) card.append(el("div", filters.join(" · "), "filters"));
            return card;
          });
          $("hits").replaceChildren(...hits);
          const facets = [];
          for (const [field, counts] of Object.entries(result.facets || {})) {
            facets.push(el("h3", field));
            for (const [value, count] of Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 12)) {
              const label = el("label");
              const box = document.createElement("input");
              box.type = "checkbox";
              box.checked = state.filters[field] === value;
              box.addEventListener("change", () => {
                if (box.checked) state.filters[field] = value; else delete state.filters[field];
                state.offset = 0; search();
              });
              const name = el("span", value === "" ? "(none)" : value);
              name.prepend(box);
              label.append(name, el("span", count));
              facets.push(label);
            }
          }
          $("facets").replaceChildren(...facets);
          const page = Math.floor(state.offset / state.limit) + 1;
          const pages = Math.max(1, Math.ceil(result.total / state.limit));
          $("page").textContent = "Page " + page + " of " + pages;
          $("prev").disabled = state.offset === 0;
          $("next").disabled = state.offset + state.limit >= result.total;
        }

        async function loadProjections() {
          const response = await fetch("/v1/projections", credentials());
          if (!response.ok) { $("rows").replaceChildren(); return; }
          const rows = (await response.json()).map((p) => {
            const row = document.createElement("tr");
            const stateCell = el("td");
            stateCell.append(el("span", p.state, "state " + p.state));
            const rebuild = el("td");
            if (p.rebuild) {
              const bar = document.createElement("progress");
              bar.max = 100; bar.value = p.rebuild.percent;
              rebuild.append(bar, el("span", " " + p.rebuild.percent + "%" + (p.rebuild.etaSeconds != null ? ", ETA " + p.rebuild.etaSeconds + " s" : "")));
            }
            row.append(el("td", p.name), el("td", p.kind), stateCell, el("td", p.position, "num"), el("td", p.lag, "num"),
              el("td", Math.round(p.eventsPerSecond), "num"), rebuild, el("td", p.deadLetters, "num"), el("td", p.lastError || "", "error"));
            return row;
          });
          $("rows").replaceChildren(...rows);
        }

        function show(tab) {
          for (const name of ["search", "projections"]) {
            $(name).hidden = name !== tab;
            $("tab-" + name).setAttribute("aria-selected", String(name === tab));
          }
          if (tab === "projections") loadProjections();
        }

        function showTenant() {
          $("tenant").hidden = !(state.index && state.index.tenant && !tokenTenant());
        }

        $("q").addEventListener("input", (event) => { state.query = event.target.value; schedule(); });
        $("tenant").addEventListener("input", schedule);
        $("token").addEventListener("change", (event) => {
          sessionStorage.setItem("projector.token", event.target.value.trim()); event.target.value = ""; loadIndexes();
        });
        $("index").addEventListener("change", (event) => {
          state.index = state.indexes.find((i) => i.name === event.target.value); state.filters = {}; state.offset = 0;
          showTenant(); search();
        });
        $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); search(); });
        $("next").addEventListener("click", () => { state.offset += state.limit; search(); });
        $("tab-search").addEventListener("click", () => show("search"));
        $("tab-projections").addEventListener("click", () => show("projections"));
        setInterval(() => { if (!$("projections").hidden) loadProjections(); }, 2000);
        loadIndexes();
        """#
}
