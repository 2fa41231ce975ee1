"""Cross-origin isolation on a host that sends no headers (GitHub Pages):
the site's service worker isolates the page after one reload."""

from __future__ import annotations

from .driver import LitePage, errors_of, text_of


def open_counting_navigations(page, open_app) -> list[str]:
    navigations: list[str] = []
    page.page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.page.main_frame else None,
    )
    open_app()
    # the one reload happens once the service worker controls the page
    page.page.wait_for_timeout(1000)
    page.wait_kernel_idle()
    return navigations


def test_service_worker_isolates_a_page_served_without_headers(fresh_lite):
    page = fresh_lite("service-worker")
    navigations = open_counting_navigations(page, page.open_repl)
    assert page.isolated
    assert len(navigations) == 2  # the first load and one reload, never a loop

    page.execute("kept = 'yes'")
    run = page.start("while True:\n    pass")
    page.page.wait_for_timeout(800)
    page.interrupt()
    assert errors_of(run.wait(10_000)) == ["KeyboardInterrupt"]
    assert text_of(page.execute("print(kept)")) == "yes\n"

    assert text_of(page.execute("print(input('name: '))", stdin="Ada")) == "Ada\n"

    page.execute("open('made-by-python.txt', 'w').write('hi')")
    page.page.goto(f"{page.base}lab/index.html")
    page.page.locator(".jp-DirListing-item", has_text="made-by-python.txt").wait_for(
        timeout=60_000
    )
    assert page.isolated

    # a later visit is isolated from the first paint: no reload
    again = page.context.new_page()
    again.goto(f"{page.base}repl/index.html?kernel=python")
    assert again.evaluate("crossOriginIsolated") is True


def test_no_reload_when_the_host_sends_the_headers(fresh_lite):
    page = fresh_lite("isolated")
    navigations = open_counting_navigations(page, page.open_repl)
    assert page.isolated
    assert len(navigations) == 1


def test_switched_off_the_site_still_works_without_isolation(fresh_lite):
    page = fresh_lite("plain")
    navigations = open_counting_navigations(page, page.open_repl)
    assert not page.isolated
    assert len(navigations) == 1
    assert text_of(page.execute("print(6 * 7)")) == "42\n"
    assert any("cross-origin isolation: disabled" in line for line in page.console)


def test_browsers_without_service_workers_keep_working(browser, servers):
    context = browser.new_context(service_workers="block")
    try:
        page = LitePage(context, servers["service-worker"].base)
        navigations = open_counting_navigations(page, page.open_repl)
        assert not page.isolated
        assert len(navigations) == 1
        assert text_of(page.execute("print('still works')")) == "still works\n"
        assert page.blocked == []
    finally:
        context.close()
