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
  window.OpenSeadragon({
    element: host, prefixUrl: host.dataset.images, tileSources: {type: "image", url: host.dataset.image},
    showNavigator: true, drawer: "canvas", gestureSettingsMouse: {clickToZoom: false},
  });
})();
