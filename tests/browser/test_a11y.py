"""axe-core finds no serious or critical WCAG 2.1 AA problem on any page.

Every page of ``_toc.yml`` (the ``chapter`` parameter, so new chapters are
audited as soon as they are in the table of contents) is loaded in
headless Chromium, in the theme's light and dark modes, and audited by
axe-core (npm, ``node_modules/axe-core``; ``npm ci`` installs it) with
the WCAG 2.0/2.1 A and AA rules. A missing axe-core fails the test with
the install command, it never skips.

The page is audited once its views have drawn their first step and each
quiz question has been answered (a wrong choice, then a right one, and a
wrong number), so the unanswered, right and wrong states' contrast and
the feedback markup are all audited.
"""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
MODES = ["light", "dark"]

# The theme reads the reader's choice from localStorage before painting.
SET_MODE = """(mode) => {
    localStorage.setItem("mode", mode);
    localStorage.setItem("theme", mode);
}"""

RUN_AXE = """(tags) => axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
}).then((result) => result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
        target: n.target.join(" "),
        summary: n.failureSummary,
        html: n.html.slice(0, 160),
    })),
})))"""

# Answer every quiz question once: a wrong choice then the first choice,
# and a wrong number in every numeric box.
ANSWER_QUIZZES = """() => {
    document.querySelectorAll(".cnnbp-quiz .Quiz").forEach((q) => {
        const wrong = q.querySelector(".MCButton[data-correct='false']");
        if (wrong) { wrong.click(); }
        const right = q.querySelector(".MCButton[data-correct='true']");
        if (right) { right.click(); }
        const input = q.querySelector("input.Input-text");
        if (input) {
            input.value = "123456789";
            q.querySelector(".cq-check").click();
        }
    });
}"""


def axe_violations(page):
    """Serious and critical WCAG 2.1 AA violations on ``page``.

    Returns
    -------
    list of dict
        ``{"id", "impact", "help", "nodes": [{"target", "summary",
        "html"}]}`` per failing rule.
    """
    if not AXE.exists():
        pytest.fail("axe-core is missing: install Node.js, then run "
                    "`npm ci` in the repository root")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, WCAG_AA)
    return [v for v in found if v["impact"] in BLOCKING]


def describe(violations, limit=6):
    """Readable lines for a failure message."""
    lines = []
    for v in violations:
        lines.append(f"{v['impact']} {v['id']}: {v['help']} "
                     f"({len(v['nodes'])} elements)")
        for node in v["nodes"][:limit]:
            lines.append(f"    {node['target']}\n      {node['html']}\n"
                         f"      {node['summary']}".replace("\n  ", "\n  "))
    return "\n".join(lines)


def open_in_mode(page, book_url, chapter, mode):
    """Load ``chapter`` with the theme in ``mode``; returns the page."""
    page.goto(f"{book_url}book/{chapter}.html", wait_until="load")
    page.evaluate(SET_MODE, mode)
    page.reload(wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => (window.MathJax && MathJax.startup
        && MathJax.startup.promise)
        ? MathJax.startup.promise.then(() => true) : true""")
    theme = page.evaluate("document.documentElement.dataset.theme")
    assert theme == mode, f"the theme did not switch to {mode}: {theme}"
    return page


@pytest.mark.parametrize("mode", MODES)
def test_no_serious_axe_violation(page, book_url, chapter, mode):
    open_in_mode(page, book_url, chapter, mode)
    page.evaluate(ANSWER_QUIZZES)
    found = axe_violations(page)
    assert not found, f"{chapter} ({mode}):\n" + describe(found)
