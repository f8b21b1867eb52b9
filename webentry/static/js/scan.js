/* Zoomable scans on pages other than the entry screen (the QA finding page): every
   .viewer with a data-image; a data-band (x0,y0,x1,y1 in the image's pixels) marks the
   record's row and the view opens on it. */
(function () {
  "use strict";
  const hosts = Array.prototype.slice.call(document.querySelectorAll(".viewer[data-image]"));
  if (!hosts.length) return;
  if (!window.OpenSeadragon) {
    hosts.forEach(function (host) {
      host.textContent = host.dataset.missing || "";  // the page's own words, in its language
      host.className = "viewer-missing";
    });
    return;
  }
  hosts.forEach(function (host) {
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
    const band = (host.dataset.band || "").split(",").map(Number).filter(function (v) { return !isNaN(v); });
    if (band.length !== 4) return;
    viewer.addHandler("open", function () {
      const marker = document.createElement("div");
      marker.className = "ocr-box band row-band";
      const rect = viewer.viewport.imageToViewportRectangle(band[0], band[1], band[2] - band[0], band[3] - band[1]);
      viewer.addOverlay({element: marker, location: rect});
      // open on the row: the page's width, a few rows' height around it
      const around = new window.OpenSeadragon.Rect(0, Math.max(0, rect.y - rect.height * 2), 1, rect.height * 5);
      viewer.viewport.fitBounds(around, true);
      host.dataset.marked = "1";
    });
  });
})();
