import json
from .a11y_support import a11y_database, browser, contexts, site, run_axe  # noqa

def test_dump(contexts):
    page = contexts.page("coordinator", "api-docs")
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/apidocs.png", full_page=False)
    v = run_axe(page)
    out = []
    for x in v:
        for n in x["nodes"]:
            out.append((x["id"], x["impact"], n["target"], n["html"][:150], (n.get("any") or [{}])[0].get("message", "")[:200]))
    json.dump(out, open("/tmp/apidocs_axe.json", "w"), indent=1, ensure_ascii=False)
