// Progressive enhancement for the portal's forms. Every form works without
// this script: the server renders every part of it and reads what was
// chosen. With it:
//
// - A choice (radio buttons in a fieldset marked `data-disclosure`, each
//   naming the part of the form it needs with `aria-controls`) shows only
//   the chosen part: "Bjud in ny patient" shows the new patient's fields,
//   "Välj en av dina patienter" the list of patients, and so on.
// - A page of sections (`data-sections`, with a menu of links to them,
//   `data-section`) shows one section at a time: the one the address names
//   (`#pictures`), else the one the server says a form was sent from
//   (`data-current`), else the first.
// - A file field with `data-max-bytes` says at once that a file is too
//   large, instead of sending it only to be refused.
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

  var holder = document.querySelector("[data-sections]");
  if (holder) {
    var sections = Array.prototype.slice.call(holder.children).filter(function (el) {
      return el.tagName === "SECTION" && el.id;
    });
    var links = document.querySelectorAll("a[data-section]");
    var byId = function (id) {
      return sections.filter(function (s) {
        return s.id === id;
      })[0];
    };
    var show = function (section, focus) {
      sections.forEach(function (s) {
        s.hidden = s !== section;
      });
      links.forEach(function (a) {
        if (a.getAttribute("data-section") === section.id) {
          a.setAttribute("aria-current", "true");
        } else {
          a.removeAttribute("aria-current");
        }
      });
      if (focus) {
        section.focus();
      }
    };
    var fromHash = function () {
      return byId(decodeURIComponent(window.location.hash.slice(1)));
    };
    var first =
      fromHash() || byId(holder.getAttribute("data-current")) || sections[0];
    if (first) {
      show(first, false);
    }
    window.addEventListener("hashchange", function () {
      var s = fromHash();
      if (s) {
        show(s, true);
      }
    });
    // A link to the section already shown changes no hash: focus it anyway.
    links.forEach(function (a) {
      a.addEventListener("click", function () {
        var s = byId(a.getAttribute("data-section"));
        if (s && !s.hidden) {
          s.focus();
        }
      });
    });
  }

  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    var max = Number(input.getAttribute("data-max-bytes"));
    var error = document.getElementById(input.id + "-error");
    var form = input.form;
    if (!max || !error || !form) {
      return;
    }
    var hint = input.getAttribute("aria-describedby") || "";
    var check = function () {
      var file = input.files && input.files[0];
      var tooLarge = Boolean(file && file.size > max);
      if (tooLarge) {
        error.textContent = input.getAttribute("data-too-large");
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        if (hint.indexOf(error.id) < 0) {
          input.setAttribute("aria-describedby", (error.id + " " + hint).trim());
        }
      } else if (input.getAttribute("aria-invalid") === "true" && file) {
        // A new, acceptable file: the old message no longer applies.
        error.hidden = true;
        error.textContent = "";
        input.removeAttribute("aria-invalid");
      }
      return !tooLarge;
    };
    input.addEventListener("change", check);
    form.addEventListener("submit", function (e) {
      if (!check()) {
        e.preventDefault();
        input.focus();
      }
    });
  });
})();
