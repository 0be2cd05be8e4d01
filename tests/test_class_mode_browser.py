"""Class mode in chromium: a chart readable from the back of a room that refreshes in place, and
presenter view on a 1920×1080 projector."""

import pytest

from support.app_server import save_screenshot, wait_for_app_idle, wait_for_the_watched_run, watch_for_a_run

# Every animation frame, what the Train page's chart shows: its box (height and top in the page) and
# whether a drawn chart is visible in it (a plotly chart with its axes drawn, not hidden). A chart
# being replaced is transparent until drawn, so the frame is blank only if no chart is drawn at all.
CHART_PROBE = """() => {
  window.chartSamples = [];
  window.chartMounts = new WeakMap();  // each chart, by the order in which it was mounted
  let mounts = 0;
  const remember = node => node.nodeType === 1 && [node, ...node.querySelectorAll('.stPlotlyChart')]
    .filter(chart => chart.matches('.st-key-train-chart .stPlotlyChart')).forEach(chart => window.chartMounts.set(chart, ++mounts));
  new MutationObserver(changes => changes.forEach(change => change.addedNodes.forEach(remember)))
    .observe(document.body, {childList: true, subtree: true});
  const scroller = document.querySelector('[data-testid="stMain"]') || document.scrollingElement;
  const sample = () => {
    const box = document.querySelector('.st-key-train-chart');
    let drawn = false;
    const charts = [];
    if (box) {
      for (const plot of box.querySelectorAll('.js-plotly-plot')) {
        const svg = plot.querySelector('svg.main-svg');
        charts.push(`${getComputedStyle(plot).visibility} svg:${svg ? Math.round(svg.getBoundingClientRect().width) : 'none'}`
                    + ` axes:${plot.querySelectorAll('.xaxislayer-above text').length}`);
        if (getComputedStyle(plot).visibility === 'visible' && svg && svg.getBoundingClientRect().width > 0
            && plot.querySelectorAll('.xaxislayer-above text').length > 0) { drawn = true; break; }
      }
    }
    const rect = box ? box.getBoundingClientRect() : null;
    window.chartSamples.push({charts: charts.join(' | '), wrappers: box ? box.querySelectorAll('.stPlotlyChart').length : 0,
                              height: rect ? Math.round(rect.height) : -1, top: rect ? Math.round(rect.top + scroller.scrollTop) : -1,
                              drawn, status: (document.querySelector('.st-key-train-status') || {}).innerText || ''});
    if (!window.stopChartProbe) requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""

# Which of the chart's slots is on top at its centre, and which was mounted last (with the figure last sent).
ON_TOP = """() => { const charts = [...document.querySelectorAll('.st-key-train-chart .stPlotlyChart')];
  charts[0].scrollIntoView({block: 'center'});
  const box = charts[0].getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2)?.closest('.stPlotlyChart');
  const order = charts.map(chart => window.chartMounts.get(chart) ?? 0);
  return {top: charts.indexOf(top), newest: order.indexOf(Math.max(...order)), order}; }"""

AFTER_TEN_FRAMES = """() => new Promise(done => { let left = 10;
  const next = () => (--left ? requestAnimationFrame(next) : done()); requestAnimationFrame(next); })"""

TICK_TEXT = """() => [...document.querySelectorAll(
    '.st-key-train-chart .xaxislayer-above text, .st-key-train-chart .yaxislayer-above text, .st-key-train-chart .legendtext')]
  .map(text => ({text: text.textContent, size: parseFloat(getComputedStyle(text).fontSize), fill: getComputedStyle(text).fill}))"""


def open_train_page(page, url):
    page.goto(url, timeout=120_000)
    page.locator(".st-key-train-chart .js-plotly-plot").first.wait_for(timeout=300_000)
    wait_for_app_idle(page)


@pytest.mark.browser
def test_chart_text_is_at_least_16_px_and_dark_in_the_browser(app_url, page):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_train_page(page, f"{app_url}/Train")
    ticks = page.evaluate(TICK_TEXT)
    assert len(ticks) > 10
    assert min(tick["size"] for tick in ticks) >= 16, ticks
    assert {tick["fill"] for tick in ticks} == {"rgb(17, 24, 39)"}  # #111827: 17.7:1 on white
    loss_labels = page.wait_for_function(  # plotly draws each of the chart's slots in its own time
        "() => { const labels = [...[...document.querySelectorAll('.st-key-train-chart .js-plotly-plot')].at(-1)"
        ".querySelectorAll('.yaxislayer-above')[0]?.querySelectorAll('text') ?? []].map(text => text.textContent);"
        " return labels.length ? labels : null; }",
        timeout=30_000,
    ).json_value()
    # Decades only, whatever run the chart shows (no "2, 5" minor-tick labels without their decade).
    assert loss_labels and set(loss_labels) <= {"0.001", "0.01", "0.1", "1", "10", "100"}, loss_labels


def fill_short_run(page):
    """1 epoch of 1,000 images in batches of 16: a run of a few seconds with many refreshes."""
    page.get_by_label("Epochs").fill("1")
    size = page.locator("[data-testid='stSlider']").filter(has_text="Training images").get_by_role("slider")
    size.focus()
    page.keyboard.press("Home")
    batch = page.locator("[data-testid='stSlider']").filter(has_text="Batch size").get_by_role("slider")
    batch.focus()
    page.keyboard.press("Home")


@pytest.mark.browser
def test_live_chart_refreshes_in_place_and_presenter_view_fits_a_projector(app_url, browser, mnist_npz_path):
    teacher_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    presenter_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = teacher_context.new_page()
        open_train_page(page, f"{app_url}/Train")
        fill_short_run(page)
        wait_for_app_idle(page)
        page.evaluate(CHART_PROBE)
        page.get_by_role("button", name="Start training").click()
        page.wait_for_function(
            "() => (document.querySelector('.st-key-train-status')?.innerText ?? '').includes('Training epoch')", timeout=300_000
        )

        presenter = presenter_context.new_page()
        presenter.goto(f"{app_url}/Train?present=1", timeout=300_000)
        presenter.locator(".st-key-presenter .js-plotly-plot").first.wait_for(timeout=300_000)
        fits = presenter.evaluate("() => [document.documentElement.scrollHeight, innerHeight, "
                                  "document.querySelector('[data-testid=\"stMain\"]').scrollHeight]")
        assert fits[0] <= fits[1] and fits[2] <= fits[1], fits
        assert presenter.locator(".prediction-wall .wall-cell").count() == 24
        save_screenshot(presenter, "presenter-live")

        page.wait_for_function(
            "() => /Finished|Stopped/.test((document.querySelector('.st-key-train-status')?.innerText ?? ''))", timeout=300_000
        )
        wait_for_app_idle(page)
        watch_for_a_run(page)
        wait_for_the_watched_run(page, timeout=30_000)  # an idle refresh after the run (every 3 s), sampled too,
        page.evaluate(AFTER_TEN_FRAMES)  # and the frames in which the browser draws what it brought
        samples = page.evaluate("() => { window.stopChartProbe = true; return window.chartSamples; }")
        training = [sample for sample in samples if "Training epoch" in sample["status"]]
        blank = [index for index, sample in enumerate(samples) if not sample["drawn"]]
        heights = {sample["height"] for sample in samples}
        tops = {sample["top"] for sample in samples}
        print(f"chart probe: {len(samples)} frames ({len(training)} while training), {len(blank)} blank, heights {heights}, tops {tops}")
        assert len(training) > 30, "the run was too short to watch"
        assert not blank, f"blank chart in frames {blank[:20]} of {len(samples)}: {[samples[i] for i in blank[:5]]}"
        moves = [(index, sample["top"], sample["status"][:60]) for index, sample in enumerate(samples)
                 if index and sample["top"] != samples[index - 1]["top"]]
        assert len(heights) == 1 and len(tops) == 1, (heights, tops, samples[0]["top"], samples[0]["status"][:60], moves[:6])
        on_top = page.evaluate(ON_TOP)
        assert on_top["top"] == on_top["newest"] >= 0, f"an older chart covers the newest: {on_top}"

        wall = page.locator(".prediction-wall .wall-cell")
        assert wall.count() == 24 and page.locator(".wall-right, .wall-wrong").count() == 24
        assert "%" in page.locator(".class-accuracy").inner_text()
        presenter.wait_for_function("() => /Finished|Stopped/.test((document.querySelector('.st-key-presenter')?.innerText ?? ''))",
                                    timeout=300_000)
        wait_for_app_idle(presenter)
        fits = presenter.evaluate("() => [document.documentElement.scrollHeight, innerHeight, "
                                  "document.querySelector('[data-testid=\"stMain\"]').scrollHeight]")
        assert fits[0] <= fits[1] and fits[2] <= fits[1], fits
        save_screenshot(presenter, "presenter-finished")
    finally:
        teacher_context.close()
        presenter_context.close()
