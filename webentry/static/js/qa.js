/* The reviewer's keys on the QA queue and a finding's page, and the row mark on a plain
   scan image. Keys act only when the person is not typing in a field. */
(function () {
  "use strict";

  // the row on a plain image (no zoomable viewer): positions from data, never inline styles
  document.querySelectorAll(".row-mark[data-pct]").forEach(function (m) {
    const p = m.dataset.pct.split(",");
    if (p.length !== 4) return;
    m.style.left = p[0] + "%"; m.style.top = p[1] + "%"; m.style.width = p[2] + "%"; m.style.height = p[3] + "%";
  });

  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName));
  }

  function go(id) {
    const a = document.getElementById(id);
    if (a) { window.location.href = a.href; return true; }
    return false;
  }

  const openLinks = Array.prototype.slice.call(document.querySelectorAll("a.open-finding"));
  let at = -1;
  function move(step) {
    if (!openLinks.length) return;
    const here = openLinks.indexOf(document.activeElement);
    at = here >= 0 ? here : at;
    at = Math.max(0, Math.min(openLinks.length - 1, at + step));
    openLinks.forEach(function (a) { a.closest("tbody").classList.remove("current"); });
    openLinks[at].closest("tbody").classList.add("current");
    openLinks[at].focus();
  }

  document.addEventListener("keydown", function (ev) {
    // Esc leaves a field, so that the keys work again
    if (ev.key === "Escape" && typing(ev.target)) { ev.target.blur(); return; }
    if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) return;
    const k = ev.key.toLowerCase();
    let done = false;
    if (openLinks.length && (k === "j" || k === "k")) { move(k === "j" ? 1 : -1); done = true; }
    else if (k === "n") done = go("next-finding");
    else if (k === "q") done = go("back-to-queue");
    else if (k === "e") done = go("open-entry");
    else if (k === "c" || k === "b") {
      const target = document.getElementById(k === "c" ? "new_value" : "book-right-note");
      if (target) { target.focus(); target.select(); done = true; }
    }
    if (done) ev.preventDefault();
  });
})();
