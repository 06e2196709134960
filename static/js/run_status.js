// Follows a training run's progress, then reloads to show its model card.
(function () {
  const bar = document.getElementById("bar");
  // the bar's width from its value (no inline style: the Content-Security-Policy forbids it)
  if (bar) bar.style.width = bar.parentElement.getAttribute("aria-valuenow") + "%";
  const box = document.getElementById("status");
  if (!box || !["pending", "running"].includes(box.dataset.status)) return;
  async function poll() {
    try {
      const data = await (await fetch(box.dataset.statusUrl, { credentials: "same-origin" })).json();
      if (bar) { bar.style.width = data.progress + "%"; bar.parentElement.setAttribute("aria-valuenow", data.progress); }
      document.getElementById("status-text").textContent = data.status_display;
      const stage = document.getElementById("stage");
      if (stage && data.stage) stage.textContent = data.stage;
      if (!["pending", "running"].includes(data.status)) { window.location.reload(); return; }
    } catch (e) { /* try again */ }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1000);
})();
