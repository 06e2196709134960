// The forecast map: cells shaded by risk, flagged cells outlined, the agency boundary,
// a popup per cell (fetched on click, and recorded like every forecast read) saying why the
// cell is high, and an optional layer of recent incidents (also a recorded read).
(function () {
  const el = document.getElementById("map");
  if (!el) return;
  performance.mark("forecast:script-start");
  const map = L.map(el, { preferCanvas: true });
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
  }
  const opacity = document.getElementById("cell-opacity");
  let cellLayer = null;
  const fillOpacity = () => (opacity ? Number(opacity.value) / 100 : 0.75);
  const boundary = JSON.parse(document.getElementById("boundary-data").textContent);
  let bounds = null;
  if (boundary) {
    const layer = L.geoJSON(boundary, { style: { color: "#333", weight: 2, fill: false } }).addTo(map);
    bounds = layer.getBounds();
  }
  if (el.dataset.referenceUrl) {
    // the reference areas (neighbourhoods, districts): outlines over the cells' fill, letting
    // every click through to the cells beneath
    const pane = map.createPane("reference");
    pane.style.zIndex = 450;  // above the cells (overlay pane, 400)
    pane.style.pointerEvents = "none";
    fetch(el.dataset.referenceUrl, { credentials: "same-origin" })
      .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then((data) => {
        L.geoJSON(data, {
          pane: "reference", interactive: false,
          style: { color: "#2b5d8a", weight: 1.2, fill: false },
        }).addTo(map);
        el.dataset.reference = data.features.length;
      })
      .catch(() => { el.dataset.reference = "error"; });
  }
  const shades = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  function shade(rank, n) {
    const q = rank / n;
    return q <= 0.01 ? shades[4] : q <= 0.05 ? shades[3] : q <= 0.15 ? shades[2] : q <= 0.4 ? shades[1] : shades[0];
  }
  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  const byRank = new Map();
  fetch(el.dataset.cellsUrl, { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error("cells " + r.status); return r.json(); })
    .then((data) => {
      performance.mark("forecast:cells-parsed");
      const n = data.features.length;
      // the flagged cells: the plain top ranks, or the fairness-aware selection's ranks
      const chosen = new Set(data.flagged_ranks || []);
      const flagged = (f) => (data.flagged_ranks ? chosen.has(f.properties.rank) : f.properties.rank <= data.flagged);
      const outline = "#111";  // flagged, whichever the selection (the page says which)
      el.dataset.selection = data.selection || "plain";
      el.dataset.flaggedRanks = (data.flagged_ranks || []).join(",");
      const layer = L.geoJSON(data, {
        style: (f) => ({
          color: flagged(f) ? outline : "#999",
          weight: flagged(f) ? 2 : 0.2,
          fillColor: shade(f.properties.rank, n), fillOpacity: fillOpacity(),
        }),
        onEachFeature: (f, lyr) => { byRank.set(f.properties.rank, [f, lyr]); },
      }).addTo(map);
      // one listener for every cell (thousands of cells: no handler per cell)
      layer.on("click", (e) => openPopup(e.layer.feature, e.layer));
      cellLayer = layer;
      legend(data.features, n);
      map.fitBounds(bounds || layer.getBounds());
      performance.mark("forecast:cells-on-map");
      el.dataset.loaded = n;
      // Leaflet paints its canvas in the next animation frame; the frame after that one
      // starts once the cells are on screen (the page's "usable" mark, see bench/).
      requestAnimationFrame(() => requestAnimationFrame(() => {
        el.dataset.drawnMs = Math.round(performance.now());
        el.dataset.drawn = n;
      }));
    })
    .catch((e) => { el.textContent = "The forecast layer could not be loaded (" + e.message + ")."; });

  // The legend: each shade's share of the cells and the scores it spans.
  function legend(features, n) {
    const box = document.getElementById("forecast-legend");
    if (!box || !n) return;
    const scores = new Map(features.map((f) => [f.properties.rank, f.properties.score]));
    const classes = [[0, 0.01, "top 1 %"], [0.01, 0.05, "1–5 %"], [0.05, 0.15, "5–15 %"],
      [0.15, 0.4, "15–40 %"], [0.4, 1, "the rest"]];
    box.textContent = "";
    const title = document.createElement("span");
    title.className = "legend-title";
    title.textContent = "Cells by forecast rank (score):";
    box.appendChild(title);
    classes.forEach(([lo, hi, text], k) => {
      const first = Math.floor(lo * n) + 1, last = Math.max(first, Math.floor(hi * n));
      if (first > n) return;
      const high = scores.get(first), low = scores.get(Math.min(last, n));
      const item = document.createElement("span");
      item.className = "legend-item";
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = shades[4 - k];
      item.appendChild(sw);
      const fmt = (v) => (v == null ? "?" : v.toPrecision(2));
      item.appendChild(document.createTextNode(`${text} (${fmt(low)}–${fmt(high)})`));
      box.appendChild(item);
    });
  }

  // Find a place: reference areas and recorded addresses (a recorded read, like a popup).
  const search = document.getElementById("place-search");
  if (search) {
    const input = document.getElementById("place-q");
    const results = document.getElementById("search-results");
    let marker = null;
    search.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = input.value.trim();
      if (!q) { results.textContent = ""; return; }
      fetch(search.dataset.url + "?" + new URLSearchParams({ q }), { credentials: "same-origin" })
        .then((r) => r.json().then((d) => [r.ok, d]))
        .then(([ok, d]) => {
          results.textContent = "";
          if (!ok) { results.textContent = d.detail || "The search failed."; return; }
          if (!d.results.length) { results.textContent = "Nothing of that name."; }
          d.results.forEach((item) => {
            const li = document.createElement("li");
            const b = document.createElement("button");
            b.type = "button";
            b.className = "link";
            b.textContent = item.name + (item.kind === "address" ? " (recorded address)" : "");
            b.addEventListener("click", () => {
              if (item.bounds) map.fitBounds(item.bounds, { maxZoom: 15 }); else map.setView([item.lat, item.lon], 17);
              if (marker) map.removeLayer(marker);
              marker = L.circleMarker([item.lat, item.lon], { radius: 7, color: "#c00", weight: 2, fill: false }).addTo(map);
              el.dataset.found = item.name;
            });
            li.appendChild(b);
            results.appendChild(li);
          });
          results.dataset.count = d.results.length;
        });
    });
  }

  function whyHtml(c) {
    const recent = Object.entries(c.recent.by_category)
      .map(([k, v]) => `${esc((c.recent.labels || {})[k] || k)}: ${esc(v)}`).join(", ") || "none";
    let html = `<br>Why: incidents in and around this cell in the last ${esc(c.recent.days)} days: ${recent}`;
    const ex = c.explanation;
    if (ex) {
      if (ex.features.length) {
        html += "<br><strong>The model's strongest features here</strong><ul class=\"why\">" +
          ex.features.map((f) => `<li>${esc(f.text)}</li>`).join("") + "</ul>";
      } else if (ex.lines.length) {
        html += "<ul class=\"why\">" + ex.lines.map((t) => `<li>${esc(t)}</li>`).join("") + "</ul>";
      }
      html += `<div class="how">${esc(ex.how_short)}</div>`;
    }
    return html;
  }

  function openPopup(feature, layer) {
    const url = el.dataset.cellUrl.replace(/0\/$/, feature.properties.rank + "/");
    fetch(url, { credentials: "same-origin" }).then((r) => r.json().then((c) => [r.ok, c])).then(([ok, c]) => {
      if (!ok) { layer.bindPopup(esc(c.detail || "This cell could not be read.")).openPopup(); return; }
      layer.bindPopup(
        `<strong>Rank ${esc(c.rank)} of ${esc(c.of_cells)}</strong>` +
        (c.place ? ` · ${esc(c.place)}` : "") + `<br>` +
        `<span class="hint">Centre ${esc(c.lat)}, ${esc(c.lon)}` +
        (c.address ? ` · nearest recorded address: ${esc(c.address)}` : "") + `</span><br>` +
        `Score ${c.score.toFixed(4)}` + (c.expected_count != null ? `, about ${c.expected_count.toFixed(2)} incidents expected` : "") +
        whyHtml(c), { maxWidth: 380 }
      ).openPopup();
    });
  }

  if (opacity) {
    opacity.addEventListener("input", () => {
      if (cellLayer) cellLayer.setStyle({ fillOpacity: fillOpacity() });
    });
  }

  // The ranked table's ranks open the same popup on the map.
  document.querySelectorAll("#top-cells button[data-rank]").forEach((button) => {
    button.addEventListener("click", () => {
      const found = byRank.get(Number(button.dataset.rank));
      if (!found) return;
      el.scrollIntoView({ block: "nearest" });
      openPopup(found[0], found[1]);
    });
  });

  // The optional layer of recent incidents: fetched on first use, then shown or hidden.
  const toggle = document.getElementById("show-incidents");
  const status = document.getElementById("incidents-status");
  let incidents = null;
  if (toggle) {
    toggle.checked = false;
    toggle.addEventListener("change", () => {
      if (!toggle.checked) {
        if (incidents) map.removeLayer(incidents);
        el.dataset.incidents = "hidden";
        return;
      }
      if (incidents) {
        incidents.addTo(map);
        el.dataset.incidents = "shown";
        return;
      }
      status.textContent = "Loading…";
      fetch(toggle.dataset.url, { credentials: "same-origin" })
        .then((r) => { if (!r.ok) throw new Error("incidents " + r.status); return r.json(); })
        .then((data) => {
          incidents = L.geoJSON(data, {
            pointToLayer: (f, latlng) => L.circleMarker(latlng, {
              radius: 3.5, color: "#08306b", weight: 1, fillColor: "#4292c6", fillOpacity: 0.9,
            }),
            onEachFeature: (f, lyr) => lyr.bindPopup(`${esc(f.properties.category)}, ${esc(f.properties.date)}`),
          });
          if (toggle.checked) incidents.addTo(map);
          status.textContent = `${data.features.length} incidents from ${data.from} until the window starts (${data.to})` +
            (data.truncated ? ", the newest only" : "") + ".";
          el.dataset.incidents = toggle.checked ? "shown" : "hidden";
          el.dataset.incidentCount = data.features.length;
        })
        .catch((e) => { status.textContent = "The incidents could not be loaded (" + e.message + ")."; toggle.checked = false; });
    });
  }
})();
