/* A zoomable scan on pages other than the entry screen (the QA finding page). */
(function () {
  "use strict";
  const host = document.getElementById("viewer");
  if (!host) return;
  if (!window.OpenSeadragon) {
    host.textContent = "The scan viewer (OpenSeadragon) did not load: run bash webentry/assets/build.sh and reload.";
    host.className = "viewer-missing";
    return;
  }
  const viewer = window.OpenSeadragon({
    element: host, prefixUrl: host.dataset.images, tileSources: {type: "image", url: host.dataset.image},
    showNavigator: true, drawer: "canvas", gestureSettingsMouse: {clickToZoom: false},
  });
  // OpenSeadragon's buttons, reachable with Tab and named (as on the entry screen)
  (viewer.buttonGroup ? viewer.buttonGroup.buttons : []).forEach(function (b) {
    b.element.tabIndex = 0;
    b.element.setAttribute("role", "button");
    b.element.setAttribute("aria-label", b.tooltip);
  });
})();
