/* The self-check's result, live as boxes are ticked. The page carries the result for every
   count (worked out by the server's rule), so this script holds no rule of its own and
   makes no requests. Without it, "See my result" shows the same result from the server. */
(function () {
  "use strict";
  var form = document.querySelector("[data-self-check]");
  if (!form) { return; }
  var box = form.querySelector(".self-check-result");
  var results = JSON.parse(box.getAttribute("data-results"));

  function update() {
    var count = form.querySelectorAll('input[name="dsm_criteria"]:checked').length;
    var result = results[count];
    ["count_text", "label", "care"].forEach(function (part) {
      box.querySelector('[data-part="' + part + '"]').textContent = result[part];
    });
    box.hidden = false;
  }

  form.addEventListener("change", update);
  update();
}());
