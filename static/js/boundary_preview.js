// A boundary on a map: the agency page draws the saved one (#boundary-data); the new-agency
// page reads the chosen GeoJSON file in the browser, draws it before anything is saved, and
// keeps its text in the form's hidden field (so that a form sent back with an error keeps it).
(function () {
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  const map = L.map(el);
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
  }
  map.setView([20, 0], 1);
  const status = document.getElementById(el.dataset.status || "");
  const target = document.getElementById(el.dataset.target || "");
  const input = document.getElementById(el.dataset.input || "");
  let layer = null;

  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", Boolean(bad));
  }

  // the Polygon or MultiPolygon in a GeoJSON value (bare, Feature, one-feature collection)
  function geometry(value) {
    if (value && value.type === "FeatureCollection") {
      if (!Array.isArray(value.features) || value.features.length !== 1) return null;
      value = value.features[0];
    }
    if (value && value.type === "Feature") value = value.geometry;
    if (value && (value.type === "Polygon" || value.type === "MultiPolygon") && Array.isArray(value.coordinates)) {
      return value;
    }
    return null;
  }

  function draw(value) {
    const shape = geometry(value);
    if (layer) { map.removeLayer(layer); layer = null; }
    if (!shape) return false;
    layer = L.geoJSON(shape, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.15 } }).addTo(map);
    const bounds = layer.getBounds();
    if (!bounds.isValid()) return false;
    map.fitBounds(bounds, { padding: [12, 12] });
    el.dataset.drawn = shape.type;
    return true;
  }

  const saved = document.getElementById("boundary-data");
  if (saved) {
    let value = JSON.parse(saved.textContent);
    if (typeof value === "string") value = JSON.parse(value);
    draw(value);
  }
  if (target && target.value) {
    try { draw(JSON.parse(target.value)); } catch (e) { /* the server said why */ }
  }
  if (!input) return;
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    delete el.dataset.drawn;
    if (!file) { if (target) target.value = ""; draw(null); say("No boundary chosen."); return; }
    file.text().then((text) => {
      let value;
      try { value = JSON.parse(text.replace(/^\uFEFF/, "")); } catch (e) {
        if (target) target.value = "";
        draw(null);
        say(file.name + " is not valid GeoJSON (" + e.message + ").", true);
        return;
      }
      if (!draw(value)) {
        if (target) target.value = "";
        say(file.name + " holds no Polygon or MultiPolygon (or a Feature holding one).", true);
        return;
      }
      if (target) target.value = text;
      say("Shown below: " + file.name + " (" + geometry(value).type + "). Check it, then create the agency.");
    });
  });
})();
