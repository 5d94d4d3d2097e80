// Pitstop keyboard shortcuts. The pages work without this script; it only adds keys.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" && target.type !== "checkbox" && target.type !== "radio" ||
      tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function clickKey(form, key) {
    var button = form.querySelector('[data-key="' + key + '"]');
    if (button) { button.click(); return true; }
    return false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var mcq = document.querySelector('form[data-question="mcq"]');
    var card = document.querySelector('form[data-question="flashcard"]');
    var next = document.getElementById("next");
    var zone = document.getElementById("timezone");
    if (zone && zone.tagName === "SELECT" && !zone.dataset.touched) {
      try {
        var detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
        for (var i = 0; i < zone.options.length; i++) {
          if (zone.options[i].value === detected) { zone.value = detected; break; }
        }
      } catch (error) { /* keep the default */ }
    }
    var sent = false;
    [mcq, card].forEach(function (form) {
      if (form) {
        form.addEventListener("submit", function (event) {
          if (sent) { event.preventDefault(); }  // one answer per question, even on a double tap
          sent = true;
        });
      }
    });

    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
      var key = event.key;
      if (mcq) {
        var letter = { "1": "A", "2": "B", "3": "C", "4": "D" }[key] || key.toUpperCase();
        if (["A", "B", "C", "D"].indexOf(letter) >= 0 && clickKey(mcq, letter)) { event.preventDefault(); return; }
        if (letter === "U") {
          var unsure = document.getElementById("unsure");
          if (unsure) { unsure.checked = !unsure.checked; event.preventDefault(); }
        }
        return;
      }
      if (card) {
        var reveal = document.getElementById("reveal");
        if ((key === " " || key === "Enter") && reveal && !reveal.open) {
          event.preventDefault();
          reveal.open = true;
          var back = card.querySelector(".back");
          if (back) { back.setAttribute("tabindex", "-1"); back.focus(); }
          return;
        }
        if (reveal && reveal.open && ["1", "2", "3", "4"].indexOf(key) >= 0 && clickKey(card, key)) {
          event.preventDefault();
        }
        return;
      }
      if (next && (key === "Enter" || key === " " || key === "n" || key === "N")) {
        if (document.activeElement && document.activeElement !== document.body && document.activeElement !== next &&
            document.activeElement.tagName !== "MAIN") { return; }
        event.preventDefault();
        next.click();
      }
    });
  });
})();
