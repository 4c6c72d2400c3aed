"""Open a page in Debian's Chromium and report, as JSON on stdout, what it shows.

    python3 page.py [--click LABEL]... [--gone TEXT]... [--screenshot NAME] [--timeout SECONDS]
                    [--record NAME] -- URL TEXT...

Clicks each --click LABEL in turn, as a person would: the button of that name that shows last
(a dialog's, over the page). Then waits until every TEXT is visible and no --gone TEXT (say
"Loading...") is in the page's text, or the timeout passes; then prints {"url", "timed_out",
"text", "visible", "screenshot"}: the page's document.body.innerText and, for each TEXT,
whether it is visible. A full-page screenshot goes to /out/NAME, for people.

A TEXT is visible when a person can read it without expanding or scrolling anything: it is
in the text of one element (one text node, or several side by side, as React writes
"4 / 4 Passed"), the rectangle of a DOM Range around it is non-empty and inside the viewport,
no ancestor whose overflow is not `visible` clips it (the rectangle lies inside the
ancestor's), and CSS does not hide it (visibility, opacity).

With --record, the GraphQL requests the page made until then (operation name, query,
variables) go to /out/NAME as JSON: the queries the UI sends, for a benchmark to replay.
"""

import argparse
import json
import re
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright never downloads a browser here
# Without the background-networking flags Chromium keeps calling home, and on a closed
# network that is a flood of refused connections.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VISIBLE = """text => {
  const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1
                          && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  const clipped = (rect, element) => {
    for (let el = element; el; el = el.parentElement) {
      const style = getComputedStyle(el);
      if ((style.overflowX !== "visible" || style.overflowY !== "visible")
          && !inside(rect, el.getBoundingClientRect())) return true;
    }
    return false;
  };
  // All text nodes end to end, to find a text that React split over several of them.
  const nodes = [], starts = [];
  let all = "";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    nodes.push(node); starts.push(all.length); all += node.data;
  }
  const nodeAt = i => { let k = starts.length - 1; while (starts[k] > i) k--; return k; };
  const viewport = {left: 0, top: 0, right: innerWidth, bottom: innerHeight};
  for (let at = all.indexOf(text); at >= 0; at = all.indexOf(text, at + 1)) {
    const first = nodeAt(at), last = nodeAt(at + text.length - 1);
    const element = nodes[first].parentElement;
    if (nodes.slice(first, last + 1).some(node => node.parentElement !== element)) continue;
    const range = document.createRange();
    range.setStart(nodes[first], at - starts[first]);
    range.setEnd(nodes[last], at + text.length - starts[last]);
    const rect = range.getBoundingClientRect();
    if (rect.width > 0 && rect.height > 0 && inside(rect, viewport) && !clipped(rect, element)
        && element.checkVisibility({visibilityProperty: true, opacityProperty: true})) return true;
  }
  return false;
}"""

READY = f"""([texts, gone]) => {{
  const visible = {VISIBLE};
  const text = document.body.innerText;
  return texts.every(visible) && !gone.some(t => text.includes(t));
}}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="to wait for and report on")
    parser.add_argument(
        "--gone",
        action="append",
        default=[],
        metavar="TEXT",
        help="to wait until it is no longer in the page's text",
    )
    parser.add_argument(
        "--click", action="append", default=[], metavar="LABEL", help="a button to click first"
    )
    parser.add_argument("--screenshot", default="page.png", help="file name in /out")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait")
    parser.add_argument("--size", default="1800x1400", help="viewport, WIDTHxHEIGHT")
    parser.add_argument("--record", help="file name in /out for the page's GraphQL requests")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        requests: list[dict] = []
        page.on(
            "request",
            lambda r: (
                requests.append(r.post_data_json)
                if r.method == "POST" and urlsplit(r.url).path.endswith("/graphql")
                else None
            ),
        )
        page.goto(args.url)
        for label in args.click:
            exactly = re.compile(rf"^\s*{re.escape(label)}\s*$")
            button = page.get_by_role("button").filter(has_text=exactly).last
            button.click(timeout=args.timeout * 1000)
        try:
            page.wait_for_function(
                READY, arg=[args.texts, args.gone], polling=250, timeout=args.timeout * 1000
            )
            timed_out = False
        except PlaywrightTimeout:
            timed_out = True
        report = {
            "url": args.url,
            "timed_out": timed_out,
            "text": page.evaluate("document.body.innerText"),
            "visible": {text: page.evaluate(VISIBLE, text) for text in args.texts},
            "screenshot": args.screenshot,
        }
        page.screenshot(path=f"/out/{args.screenshot}", full_page=True)
        if args.record:
            with open(f"/out/{args.record}", "w", encoding="utf-8") as out:
                json.dump(requests, out)
        browser.close()
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
