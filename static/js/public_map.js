/* Public crime map: Leaflet choropleth of published (noisy) counts, trends, table. */
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
  var layer = null;
  var selectedArea = null;

  function params() {
    var p = new URLSearchParams(new FormData(form));
    return p;
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

  function renderLegend(b) {
    var legend = document.getElementById("legend");
    legend.textContent = "";
    COLOURS.forEach(function (c, i) {
      var item = el("span", { "class": "legend-item" });
      var sw = el("span", { "class": "swatch" });
      sw.style.background = c;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(i === 0 ? "lowest" : (i === COLOURS.length - 1 ? "highest" : "")));
      legend.appendChild(item);
    });
  }

  function renderTable(data) {
    var section = document.getElementById("area-table");
    if (!section) { return; }
    var body = section.querySelector("tbody");
    var places = {};
    body.querySelectorAll("tr").forEach(function (tr) { places[tr.getAttribute("data-area")] = tr.children[1].textContent; });
    body.textContent = "";
    var rows = data.features.slice().sort(function (a, b) { return b.properties.value - a.properties.value; });
    rows.forEach(function (f) {
      var tr = el("tr", { "data-area": f.id });
      tr.appendChild(el("td", {}, f.id));
      tr.appendChild(el("td", {}, places[f.id] || ""));
      tr.appendChild(el("td", {}, f.properties.shown));
      var td = el("td");
      var b = el("button", { type: "button", "class": "link trend-button", "data-area": f.id }, "Trend");
      td.appendChild(b);
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

  var mapRequest = 0;
  function load(push) {
    var p = params();
    var mine = ++mapRequest;  // only the newest answer is drawn
    mapEl.removeAttribute("data-loaded");
    fetch(config.mapUrl + "?" + p.toString(), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        if (mine !== mapRequest) { return; }
        if (layer) { map.removeLayer(layer); }
        var b = breaks(data.features.map(function (f) { return f.properties.value; }));
        layer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#445", weight: 0.6, fillOpacity: 0.75, fillColor: colour(f.properties.value, b) };
          },
          onEachFeature: function (f, lyr) {
            lyr.bindTooltip("Area " + f.id + ": " + f.properties.shown);
            lyr.on("click", function () { showTrend(f.id); });
          }
        }).addTo(map);
        if (data.features.length) { map.fitBounds(layer.getBounds()); } else if (!map._loaded) { map.setView([0, 0], 2); }
        renderLegend(b);
        renderSummary(data.summary);
        renderTable(data);
        ["download-csv", "download-geojson"].forEach(function (id) {
          var a = document.getElementById(id);
          a.href = a.href.split("?")[0] + "?" + p.toString();
        });
        if (push) { history.replaceState(null, "", "?" + p.toString()); }
        mapEl.setAttribute("data-category", data.category);
        mapEl.setAttribute("data-period", data.from + "/" + data.to);
        mapEl.setAttribute("data-loaded", String(data.features.length));
        showTrend(selectedArea && data.level === "cell" ? selectedArea : null);
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
    fetch(config.trendUrl + "?" + p.toString())
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        if (mine !== trendRequest) { return; }
        var name = area ? "area " + area : "whole area";
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
