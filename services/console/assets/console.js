// Progressive enhancement only: every page works without this script (forms post, links navigate).
"use strict";
document.addEventListener("change", (e) => {
  const t = e.target;
  if (t instanceof HTMLSelectElement && t.hasAttribute("data-autosubmit") && t.form) t.form.requestSubmit();
});
document.addEventListener("click", (e) => {
  const b = e.target instanceof Element ? e.target.closest("[data-confirm]") : null;
  if (b && !window.confirm(b.getAttribute("data-confirm") || "Are you sure?")) e.preventDefault();
});
document.addEventListener("submit", (e) => {
  // One submission per form: a second click while the first is under way does nothing.
  const f = e.target;
  if (!(f instanceof HTMLFormElement) || f.method.toLowerCase() !== "post") return;
  if (f.dataset.submitting === "1") e.preventDefault();
  else f.dataset.submitting = "1";
});
for (const el of document.querySelectorAll("[data-refresh]")) {
  const url = el.getAttribute("data-refresh");
  const every = Number(el.getAttribute("data-every")) || 5000;
  const tick = async () => {
    try {
      const res = await fetch(url, { headers: { accept: "text/html" }, credentials: "same-origin" });
      if (res.ok) el.innerHTML = await res.text();
      el.removeAttribute("aria-busy");
    } catch {
      el.setAttribute("aria-busy", "true");
    }
  };
  setInterval(tick, every);
}
