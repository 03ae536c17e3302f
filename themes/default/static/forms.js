// Progressive enhancement for the portal's forms. Every form works without
// this script: the server renders every part of it and reads what was
// chosen. With it:
//
// - A choice (radio buttons in a fieldset marked `data-disclosure`, each
//   naming the part of the form it needs with `aria-controls`) shows only
//   the chosen part: "Bjud in ny patient" shows the new patient's fields,
//   "Välj en av dina patienter" the list of patients, and so on.
//
// Loaded from /assets/ (the CSP allows no inline script or handler).
(function () {
  "use strict";

  function disclose(group) {
    var radios = group.querySelectorAll("input[type=radio][aria-controls]");
    var chosen = null;
    radios.forEach(function (r) {
      if (r.checked) {
        chosen = r;
      }
    });
    // Nothing chosen: leave every part showing.
    if (!chosen) {
      return;
    }
    radios.forEach(function (r) {
      var part = document.getElementById(r.getAttribute("aria-controls"));
      if (part) {
        part.hidden = r !== chosen;
      }
    });
  }

  document.querySelectorAll("[data-disclosure]").forEach(function (group) {
    group.addEventListener("change", function () {
      disclose(group);
    });
    disclose(group);
  });
})();
