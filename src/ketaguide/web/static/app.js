/* KetaGuide web UI: the few things HTML cannot do alone. Served from this origin (the CSP allows no inline script).
   - "Copy as note": copies the answer's Markdown (also readable in the page without script).
   - "Print": opens the print dialog (the page prints cleanly without it, from the browser's menu).
   - The source view brings the highlighted quote into view and focus. */
(function () {
  "use strict";

  function copyText(text, status) {
    function done(message) { if (status) { status.textContent = message; } }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { done("Copied the note to the clipboard."); },
        function () { done("Could not copy: select the note below and copy it."); }
      );
      return;
    }
    done("Could not copy automatically: open the note below, select it and copy it.");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      if (!target) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        copyText(target.value || target.textContent, document.getElementById("copy-status"));
      });
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    var quote = document.getElementById("quote");
    if (quote) {
      quote.scrollIntoView({ block: "center" });
      quote.focus({ preventScroll: true });
    }
    // Printing shows everything folded away on screen (the care plan's references, certainty reasons).
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details").forEach(function (details) { details.open = true; });
    });
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
