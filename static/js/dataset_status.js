// Polls an import's status while it runs (a bar for the share of the upload read, the rows
// read so far), then reloads the page to show the summary.
(function () {
  const box = document.getElementById("status");
  if (!box || !["pending", "running"].includes(box.dataset.status)) return;
  const bar = document.getElementById("import-progress");
  const progressText = document.getElementById("progress-text");
  const text = document.getElementById("status-text");
  function show(data) {
    if (data.percent != null && bar) bar.value = data.percent; // no value: indeterminate
    if (!progressText || data.rows_read == null) return;
    const rows = data.rows_read.toLocaleString();
    progressText.textContent = data.phase === "saving"
      ? `All ${rows} rows read; saving them in one transaction.`
      : data.percent != null
        ? `${rows} rows read so far (${data.percent} % of the upload).`
        : `${rows} rows read so far.`;
  }
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        show(data);
        if (text) text.textContent = data.status_display;
        if (!["pending", "running"].includes(data.status)) { window.location.reload(); return; }
      }
    } catch (e) { /* network hiccup: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
