/* Forms whose action cannot be taken back in one click ask first: a form with
   data-confirm="…" is sent only when the person says yes. */
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    const question = form && form.dataset ? form.dataset.confirm : null;
    if (question && !window.confirm(question)) ev.preventDefault();
  }, true);
})();
