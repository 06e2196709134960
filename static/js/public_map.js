/* Public crime map: Leaflet choropleth of published (noisy) counts by cell or by named area,
   the named areas' outlines, a place search, trends and tables. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("public-config").textContent);
  var form = document.getElementById("public-controls");
  var mapEl = document.getElementById("map");
  var COLOURS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"];
  var tiles = config.tiles || {};
  var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: Boolean(tiles.url) });
  if (tiles.url) {  // a base map only where the operator configured one (LEAFLET_CONFIG)
    L.tileLayer(tiles.url, { maxZoom: 19, attribution: tiles.attribution || "" }).addTo(map);
  }
  var outlinePane = map.createPane("outlines");  // the named areas' borders, above any fill
  outlinePane.style.zIndex = 450;
  outlinePane.style.pointerEvents = "none";
  var layer = null;
  var outlines = null;
  var selectedArea = null;
  var names = {};  // area id -> what to call it ("Downtown", "cell c12")

  function params() {
    var p = new URLSearchParams(new FormData(form));
    p.delete("by");  // how the map is drawn, not what is selected
    return p;
  }
  function by() {
    var checked = form.querySelector("input[name=by]:checked");
    return checked ? checked.value : "cell";
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function label(select) { return select.options[select.selectedIndex].text.replace(/ \(city total only\)$/, ""); }

  function breaks(values) {
    var v = values.filter(function (x) { return x > 0; }).sort(function (a, b) { return a - b; });
    if (!v.length) { return [1, 2, 3, 4]; }
    return [0.2, 0.4, 0.6, 0.8].map(function (q) { return v[Math.min(v.length - 1, Math.floor(q * v.length))]; });
  }
  function colour(value, b) {
    var i = 0;
    while (i < b.length && value > b[i]) { i++; }
    return value <= 0 ? COLOURS[0] : COLOURS[i];
  }

  // The legend names each colour's values: colour 0 up to b[0], colour i from b[i-1]+1 to
  // b[i], the last one over b[3] (classes left empty by equal breaks are not listed).
  function renderLegend(b, unit) {
    var legend = document.getElementById("legend");
    legend.textContent = "";
    legend.appendChild(el("span", { "class": "legend-title" }, "Published value per " + unit + ", selected months:"));
    COLOURS.forEach(function (c, i) {
      var text;
      if (i === 0) { text = "up to " + b[0]; }
      else if (i === COLOURS.length - 1) { text = "over " + b[b.length - 1]; }
      else if (b[i] > b[i - 1]) { text = (b[i - 1] + 1 === b[i]) ? String(b[i]) : (b[i - 1] + 1) + "–" + b[i]; }
      else { return; }
      var item = el("span", { "class": "legend-item" });
      var sw = el("span", { "class": "swatch" });
      sw.style.background = c;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(text));
      legend.appendChild(item);
    });
    legend.setAttribute("data-breaks", b.join(","));
  }

  function trendButton(id, name) {
    var b = el("button", { type: "button", "class": "link trend-button", "data-area": id }, "Trend");
    b.appendChild(el("span", { "class": "sr-only" }, " of " + name));
    return b;
  }

  function renderCellTable(data) {
    var section = document.getElementById("area-table");
    if (!section) { return; }
    var body = section.querySelector("tbody");
    body.textContent = "";
    var rows = data.features.slice().sort(function (a, b) { return b.properties.value - a.properties.value; });
    rows.forEach(function (f) {
      var p = f.properties;
      var tr = el("tr", { "data-area": f.id });
      tr.appendChild(el("td", {}, f.id));
      tr.appendChild(el("td", {}, p.place || "–"));
      tr.appendChild(el("td", {}, p.lat + ", " + p.lon));
      tr.appendChild(el("td", {}, p.shown));
      var td = el("td");
      td.appendChild(trendButton(f.id, "cell " + f.id));
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  function renderPlaceTable(data) {
    var section = document.getElementById("place-table");
    if (!section) { return; }
    var body = section.querySelector("tbody");
    body.textContent = "";
    var rows = data.features.slice().sort(function (a, b) {
      return ((b.properties.value === null ? -Infinity : b.properties.value) -
              (a.properties.value === null ? -Infinity : a.properties.value)) ||
        a.properties.name.localeCompare(b.properties.name);
    });
    rows.forEach(function (f) {
      var p = f.properties;
      var tr = el("tr", { "data-area": f.id });
      tr.appendChild(el("td", {}, p.name));
      tr.appendChild(el("td", {}, p.shown));
      tr.appendChild(el("td", {}, p.margin_90 === null ? "–" : String(p.margin_90)));
      tr.appendChild(el("td", {}, String(p.cells)));
      var td = el("td");
      if (p.cells) { td.appendChild(trendButton(f.id, p.name)); }
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  function renderSummary(s) {
    var cat = label(form.category);
    var text = cat + ", " + s.from + " to " + s.to;
    document.getElementById("map-title").textContent = text;
    var p = document.getElementById("city-total");
    p.textContent = text + ": ";
    p.appendChild(el("strong", {}, s.city_total_shown));
    p.appendChild(document.createTextNode(" (same months a year before: "));
    p.appendChild(el("strong", {}, s.last_year_shown === null ? "not published" : s.last_year_shown));
    p.appendChild(document.createTextNode(")."));
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  var mapRequest = 0;
  var fitted = false;
  function load(push) {
    var p = params();
    var mine = ++mapRequest;  // only the newest answer is drawn
    var byArea = by() === "area" && config.placesUrl;
    mapEl.removeAttribute("data-loaded");
    var asks = [getJson(config.mapUrl + "?" + p.toString())];
    if (config.placesUrl) { asks.push(getJson(config.placesUrl + "?" + p.toString())); }
    Promise.all(asks)
      .then(function (answers) {
        if (mine !== mapRequest) { return; }
        var cells = answers[0], places = answers[1];
        var shownData = byArea ? places : cells;
        if (layer) { map.removeLayer(layer); }
        if (outlines) { map.removeLayer(outlines); outlines = null; }
        names = {};
        cells.features.forEach(function (f) { names[f.id] = "cell " + f.id + (f.properties.place ? " (" + f.properties.place + ")" : ""); });
        if (places) { places.features.forEach(function (f) { names[f.id] = f.properties.name; }); }
        var b = breaks(shownData.features.map(function (f) { return f.properties.value || 0; }));
        layer = L.geoJSON(shownData, {
          style: function (f) {
            return { color: "#445", weight: byArea ? 0.8 : 0.4, fillOpacity: 0.7,
                     fillColor: f.properties.value === null ? "#ddd" : colour(f.properties.value, b) };
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            var text = byArea ? p.name + ": " + p.shown + (p.margin_90 !== null ? " (±" + p.margin_90 + ")" : "")
              : "Cell " + f.id + (p.place ? ", " + p.place : "") + ": " + p.shown;
            lyr.bindTooltip(text);
            lyr.on("click", function () { showTrend(f.id); });
          }
        }).addTo(map);
        if (places && !byArea && places.features.length) {  // the named areas drawn over the cells
          outlines = L.geoJSON(places, { pane: "outlines", interactive: false,
            style: { color: "#1d3f5e", weight: 1.2, fill: false } }).addTo(map);
        }
        if (!fitted && shownData.features.length) { map.fitBounds(layer.getBounds()); fitted = true; }
        else if (!map._loaded) { map.setView([0, 0], 2); }
        renderLegend(b, byArea ? "named area" : "cell");
        renderSummary(cells.summary);
        renderCellTable(cells);
        if (places) { renderPlaceTable(places); }
        ["download-csv", "download-geojson"].forEach(function (id) {
          var a = document.getElementById(id);
          a.href = a.href.split("?")[0] + "?" + p.toString();
        });
        if (push) { history.replaceState(null, "", "?" + p.toString()); }
        mapEl.setAttribute("data-category", cells.category);
        mapEl.setAttribute("data-period", cells.from + "/" + cells.to);
        mapEl.setAttribute("data-by", byArea ? "area" : "cell");
        mapEl.setAttribute("data-places", places ? String(places.features.length) : "0");
        mapEl.setAttribute("data-loaded", String(shownData.features.length));
        showTrend(selectedArea && cells.level === "cell" && names[selectedArea] ? selectedArea : null);
      })
      .catch(function () { mapEl.setAttribute("data-error", "1"); });
  }

  function drawChart(points) {
    var svg = document.getElementById("trend-chart");
    var W = 640, H = 180, P = 52;
    var vals = points.map(function (p) { return p.value; });
    var all = vals.concat(points.filter(function (p) { return p.last_year !== null; }).map(function (p) { return p.last_year; }));
    var top = Math.max(1, Math.max.apply(null, all)), low = Math.min(0, Math.min.apply(null, all));
    var n = Math.max(points.length - 1, 1);
    function xy(i, v) {
      return (P + i * (W - 2 * P) / n).toFixed(1) + "," + (H - P - (v - low) * (H - 2 * P) / ((top - low) || 1)).toFixed(1);
    }
    svg.querySelector("polyline.now").setAttribute("points", points.map(function (p, i) { return xy(i, p.value); }).join(" "));
    svg.querySelector("polyline.before").setAttribute("points", points.map(function (p, i) {
      return p.last_year === null ? null : xy(i, p.last_year);
    }).filter(Boolean).join(" "));
    document.getElementById("chart-top").textContent = String(top);
    document.getElementById("chart-low").textContent = String(low);
    var labels = document.getElementById("chart-months");
    labels.textContent = "";
    var ticks = points.length ? [0, Math.floor(points.length / 2), points.length - 1] : [];
    ticks = ticks.filter(function (t, k) { return ticks.indexOf(t) === k; });
    ticks.forEach(function (t) {
      var text = document.createElementNS("http://www.w3.org/2000/svg", "text");
      var anchor = ticks.length < 2 ? "middle" : t === 0 ? "start" : t === points.length - 1 ? "end" : "middle";
      text.setAttribute("x", xy(t, low).split(",")[0]);
      text.setAttribute("y", String(H - P + 22));
      text.setAttribute("text-anchor", anchor);
      text.textContent = points[t].month;
      labels.appendChild(text);
    });
  }

  var trendRequest = 0;
  function showTrend(area) {
    selectedArea = area;
    var mine = ++trendRequest;  // a slower, older answer must not overwrite a newer one
    var p = new URLSearchParams({ category: form.category.value });
    if (form.elements.from && form.elements.to) {  // the trend follows the selected months
      p.set("from", form.elements.from.value);
      p.set("to", form.elements.to.value);
    }
    if (area) { p.set("area", area); }
    getJson(config.trendUrl + "?" + p.toString())
      .then(function (data) {
        if (mine !== trendRequest) { return; }
        var name = data.name || (area ? "area " + area : "whole area");
        document.getElementById("trend-title").textContent = "Trend: " + name;
        document.getElementById("trend-area").textContent = name;
        drawChart(data.points);
        var body = document.querySelector("#trend-table tbody");
        body.textContent = "";
        data.points.forEach(function (pt) {
          var tr = el("tr");
          tr.appendChild(el("td", {}, pt.month));
          tr.appendChild(el("td", {}, pt.shown));
          tr.appendChild(el("td", {}, pt.last_year === null ? "–" : String(pt.last_year)));
          body.appendChild(tr);
        });
        document.getElementById("trend-chart").setAttribute("data-area", data.area);
        if (layer) {
          layer.eachLayer(function (l) { l.setStyle({ weight: l.feature.id === area ? 3 : 0.6, color: l.feature.id === area ? "#f0a500" : "#445" }); });
        }
      });
  }

  // --- find a place: the areas' names (this portal), addresses (an outside geocoder, if set)
  var search = document.getElementById("place-search");
  if (search) {
    var input = document.getElementById("place-q");
    var results = document.getElementById("search-results");
    var searchRequest = 0;
    var pending = null;
    var found = function (item) {
      var li = el("li");
      var b = el("button", { type: "button", "class": "link" }, item.name);
      if (item.source) { b.appendChild(el("span", { "class": "hint" }, " (" + item.source + ")")); }
      b.addEventListener("click", function () {
        if (item.bounds) { map.fitBounds(item.bounds, { maxZoom: 14 }); } else { map.setView([item.lat, item.lon], 16); }
        if (item.id && item.kind === "area") {
          if (by() !== "area" && form.querySelector("input[name=by][value=area]")) {
            form.querySelector("input[name=by][value=area]").checked = true;
            selectedArea = item.id;
            load(true);
          } else {
            showTrend(item.id);
          }
        }
        mapEl.setAttribute("data-found", item.id || item.name);
      });
      li.appendChild(b);
      return li;
    };
    var run = function () {
      var q = input.value.trim();
      var mine = ++searchRequest;
      if (!q) { results.textContent = ""; return; }
      var asks = [];
      if (config.searchUrl) {
        asks.push(getJson(config.searchUrl + "?" + new URLSearchParams({ q: q }).toString())
          .then(function (d) { return d.results; }).catch(function () { return []; }));
      }
      if (config.geocoder) {
        var source = new URL(config.geocoder.replace("{q}", "")).host;
        asks.push(fetch(config.geocoder.replace("{q}", encodeURIComponent(q)), { credentials: "omit", referrerPolicy: "no-referrer" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            return (rows || []).slice(0, 5).map(function (r) {
              var bb = r.boundingbox ? [[+r.boundingbox[0], +r.boundingbox[2]], [+r.boundingbox[1], +r.boundingbox[3]]] : null;
              return { name: r.display_name, lat: +r.lat, lon: +r.lon, bounds: bb, source: source };
            });
          }).catch(function () { return []; }));
      }
      Promise.all(asks).then(function (lists) {
        if (mine !== searchRequest) { return; }
        var all = [].concat.apply([], lists);
        results.textContent = "";
        if (!all.length) { results.appendChild(el("li", {}, "No place of that name on this map.")); }
        all.forEach(function (item) { results.appendChild(found(item)); });
        results.setAttribute("data-count", String(all.length));
      });
    };
    input.addEventListener("input", function () { clearTimeout(pending); pending = setTimeout(run, 200); });
    search.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(pending); run(); });
  }

  function cityOnly() { return form.category.options[form.category.selectedIndex].text.indexOf("city total only") >= 0; }
  var wasCityOnly = cityOnly();
  form.addEventListener("change", function () {
    if (cityOnly() || wasCityOnly) { form.submit(); return; }  // the page is laid out differently
    load(true);
  });
  form.addEventListener("submit", function (e) {
    if (!cityOnly() && !wasCityOnly) { e.preventDefault(); load(true); }
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest(".trend-button");
    if (b) { showTrend(b.getAttribute("data-area")); document.getElementById("trend-title").scrollIntoView({ block: "nearest" }); }
  });
  load(false);
}());
