/*
 * The course's page script (served from html_static_path).
 *
 * A formula wider than the column scrolls sideways (course.css); a
 * scrolling box must be reachable by keyboard (WCAG 2.1.1), so each such
 * formula becomes a tab stop while, and only while, it overflows. Other
 * formulas are not tab stops.
 */
(function () {
  "use strict";

  function mark() {
    var boxes = document.querySelectorAll(
      "div.math mjx-container, span.math");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  function start() {
    var mj = window.MathJax;
    var typeset = mj && mj.startup && mj.startup.promise;
    (typeset || Promise.resolve()).then(mark);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(mark, 200);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
