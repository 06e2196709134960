// The forecast map: cells shaded by risk, flagged cells outlined, the agency boundary,
// a popup per cell (fetched on click, and recorded like every forecast read).
(function () {
  const el = document.getElementById("map");
  if (!el) return;
  const map = L.map(el, { preferCanvas: true });
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
  }
  const boundary = JSON.parse(document.getElementById("boundary-data").textContent);
  let bounds = null;
  if (boundary) {
    const layer = L.geoJSON(boundary, { style: { color: "#333", weight: 2, fill: false } }).addTo(map);
    bounds = layer.getBounds();
  }
  const shades = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  function shade(rank, n) {
    const q = rank / n;
    return q <= 0.01 ? shades[4] : q <= 0.05 ? shades[3] : q <= 0.15 ? shades[2] : q <= 0.4 ? shades[1] : shades[0];
  }
  fetch(el.dataset.cellsUrl, { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error("cells " + r.status); return r.json(); })
    .then((data) => {
      const n = data.features.length;
      const flagged = (f) => f.properties.rank <= data.flagged;
      const layer = L.geoJSON(data, {
        style: (f) => ({
          color: flagged(f) ? "#111" : "#999",
          weight: flagged(f) ? 2 : 0.2,
          fillColor: shade(f.properties.rank, n), fillOpacity: 0.75,
        }),
        onEachFeature: (f, lyr) => lyr.on("click", () => openPopup(f, lyr)),
      }).addTo(map);
      map.fitBounds(bounds || layer.getBounds());
      el.dataset.loaded = n;
    })
    .catch((e) => { el.textContent = "The forecast layer could not be loaded (" + e.message + ")."; });

  function openPopup(feature, layer) {
    const url = el.dataset.cellUrl.replace(/0\/$/, feature.properties.rank + "/");
    fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((c) => {
      const recent = Object.entries(c.recent.by_category)
        .map(([k, v]) => `${k}: ${v}`).join(", ") || "none";
      layer.bindPopup(
        `<strong>Rank ${c.rank} of ${c.of_cells}</strong><br>` +
        `Score ${c.score.toFixed(4)}` + (c.expected_count != null ? `, about ${c.expected_count.toFixed(2)} incidents expected` : "") +
        `<br>Why: incidents in and around this cell in the last ${c.recent.days} days: ${recent}`
      ).openPopup();
    });
  }
})();
