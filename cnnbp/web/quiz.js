/*
 * The course's quiz engine: behaviour for the markup cnnbp.quiz.show()
 * writes. Questions, answers and every feedback text are already in the
 * page (typeset by the book's MathJax or by JupyterLab's), so this script
 * only shuffles the answers, grades a click or a typed number and shows
 * the matching feedback. It runs once per quiz root and needs nothing
 * from the network.
 *
 * Markup (one root per quiz cell):
 *   div.cnnbp-quiz
 *     p.cq-norun                    "run this cell" line, hidden here
 *     div.Quiz[data-type]           one per question
 *       div.QuizQuestion
 *       div.QuizAnswers > button.MCButton[data-correct][data-fb]
 *     or div.cq-numeric > input.Input-text + button.cq-check,
 *        with the answers as JSON in div.Quiz[data-answers]
 *       div.Feedback[role=status] > div.cq-fb[data-fb][hidden]
 */
(function () {
  "use strict";

  function shuffle(box) {
    var items = Array.prototype.slice.call(box.children);
    for (var i = items.length - 1; i > 0; i -= 1) {
      var j = Math.floor(Math.random() * (i + 1));
      var tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    items.forEach(function (item) { box.appendChild(item); });
  }

  function showFeedback(question, index, correct, extra) {
    var box = question.querySelector(".Feedback");
    box.className = "Feedback " + (correct ? "correct" : "incorrect");
    Array.prototype.forEach.call(box.querySelectorAll(".cq-fb"),
      function (fb) { fb.hidden = fb.getAttribute("data-fb") !== index; });
    var note = box.querySelector(".cq-count");
    note.textContent = extra || "";
    note.hidden = !extra;
    var verdict = box.querySelector(".cq-verdict");
    verdict.textContent = correct ? "Correct. " : "Not quite. ";
  }

  function gradeChoice(question, button) {
    var buttons = question.querySelectorAll(".MCButton");
    var many = question.getAttribute("data-type") === "many_choice";
    var correct = button.getAttribute("data-correct") === "true";
    if (!many || !correct) {
      Array.prototype.forEach.call(buttons, function (b) {
        b.classList.remove("correctButton", "incorrectButton");
        b.setAttribute("aria-pressed", "false");
      });
    }
    button.classList.add(correct ? "correctButton" : "incorrectButton");
    button.setAttribute("aria-pressed", "true");
    var extra = "";
    if (many) {
      var found = question.querySelectorAll(".MCButton.correctButton");
      extra = found.length + " of " + question.getAttribute("data-ncorrect") +
        " correct answers found.";
    }
    showFeedback(question, button.getAttribute("data-fb"), correct, extra);
  }

  /* Number(x).toPrecision(p) compared as numbers, as the data promises. */
  function samePrecision(x, value, precision) {
    return Number(Number(x).toPrecision(precision)) ===
      Number(Number(value).toPrecision(precision));
  }

  function matches(answer, x, precision) {
    if (answer.type === "value") {
      if (precision) { return samePrecision(x, answer.value, precision); }
      return Math.abs(x - answer.value) <=
        1e-9 * Math.max(Math.abs(x), Math.abs(answer.value)) + 1e-12;
    }
    if (answer.type === "range") {
      return answer.range[0] <= x && x < answer.range[1];
    }
    return false;
  }

  /* A typed entry: digits, sign, point, exponent, or a fraction a/b. */
  function parseEntry(text) {
    var t = text.trim().replace(/\u2212/g, "-");
    var frac = /^([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*\/\s*([-+]?\d*\.?\d+)$/i;
    var m = frac.exec(t);
    if (m) { return Number(m[1]) / Number(m[2]); }
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) { return NaN; }
    return Number(t);
  }

  function gradeNumber(question, input) {
    var x = parseEntry(input.value);
    var box = question.querySelector(".Feedback");
    if (isNaN(x)) {
      box.className = "Feedback incorrect";
      Array.prototype.forEach.call(box.querySelectorAll(".cq-fb"),
        function (fb) { fb.hidden = true; });
      box.querySelector(".cq-verdict").textContent =
        "Type a number, such as 12, -0.5, 3e-4 or 1/4.";
      box.querySelector(".cq-count").hidden = true;
      input.setAttribute("aria-invalid", "true");
      return;
    }
    var data = JSON.parse(question.getAttribute("data-answers"));
    var precision = Number(question.getAttribute("data-precision")) || 0;
    var hit = null;
    var fallback = null;
    data.forEach(function (answer, k) {
      if (answer.type === "default") {
        fallback = k;
      } else if (hit === null && matches(answer, x, precision)) {
        hit = k;
      }
    });
    if (hit === null) { hit = fallback; }
    var correct = hit !== null && data[hit].correct === true;
    input.classList.remove("correctButton", "incorrectButton");
    input.classList.add(correct ? "correctButton" : "incorrectButton");
    input.setAttribute("aria-invalid", correct ? "false" : "true");
    showFeedback(question, String(hit), correct, "");
  }

  /* Text of an option outside its math (TeX or typeset). */
  function wordsOutsideMath(button) {
    var copy = button.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll("mjx-container"),
      function (node) { node.remove(); });
    /* \x5c is a backslash: the TeX delimiters are spelled by code so
       this script's own text never looks like untypeset math. */
    return copy.textContent.replace(/\x5c\x28[\s\S]*?\x5c\x29/g, "")
      .replace(/\x5c\x5b[\s\S]*?\x5c\x5d/g, "").trim();
  }

  /* An option that is only math keeps its spoken aria-label; one with
     words too is named by its own text (the typeset math carries its
     MathML for screen readers), so the name matches what is seen. */
  function nameOptions(answers) {
    Array.prototype.forEach.call(answers.querySelectorAll(".MCButton"),
      function (button) {
        if (button.hasAttribute("aria-label") && wordsOutsideMath(button)) {
          button.removeAttribute("aria-label");
        }
      });
  }

  function initQuestion(question, shuffleAnswers) {
    var answers = question.querySelector(".QuizAnswers");
    if (answers) {
      nameOptions(answers);
      if (shuffleAnswers) { shuffle(answers); }
      answers.addEventListener("click", function (event) {
        var button = event.target.closest(".MCButton");
        if (button && answers.contains(button)) {
          gradeChoice(question, button);
        }
      });
    }
    var input = question.querySelector("input.Input-text");
    if (input) {
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          gradeNumber(question, input);
        }
      });
      question.querySelector(".cq-check").addEventListener("click",
        function () { gradeNumber(question, input); });
    }
  }

  function init(root) {
    if (root.getAttribute("data-ready") === "1") { return; }
    root.setAttribute("data-ready", "1");
    var shuffleAnswers = root.getAttribute("data-shuffleanswers") === "True";
    Array.prototype.forEach.call(root.querySelectorAll(".cq-norun"),
      function (line) { line.hidden = true; });
    Array.prototype.forEach.call(root.querySelectorAll(".Quiz"),
      function (question) { initQuestion(question, shuffleAnswers); });
  }

  function initAll(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll(".cnnbp-quiz"),
      init);
  }

  var me = document.currentScript;
  var root = me && me.closest ? me.closest(".cnnbp-quiz") : null;
  if (root) {
    init(root);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      initAll(document);
    });
  } else {
    initAll(document);
  }
}());
