// Polls an import's status while it runs, then reloads the page to show the summary.
(function () {
  const box = document.getElementById("status");
  if (!box || !["pending", "running"].includes(box.dataset.status)) return;
  const rows = document.getElementById("rows-read");
  const text = document.getElementById("status-text");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        if (rows && data.rows_read != null) rows.textContent = data.rows_read.toLocaleString();
        if (text) text.textContent = data.status_display;
        if (!["pending", "running"].includes(data.status)) { window.location.reload(); return; }
      }
    } catch (e) { /* network hiccup: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
